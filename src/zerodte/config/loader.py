"""Load settings: defaults < TOML file < environment (placeholder, replaced by the loader work)."""

from __future__ import annotations

from pathlib import Path

from zerodte.config.root import Settings


def load_settings(config_file: Path | None = None) -> Settings:
    """Return the effective settings (defaults only until the full loader lands)."""
    return Settings()
