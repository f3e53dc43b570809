"""Settings for CLI commands: loaded once per process from the root ``--config``."""

from __future__ import annotations

import typer

from zerodte.cli.state import STATE
from zerodte.config import Settings, load_settings
from zerodte.errors import ConfigError


def current_settings() -> Settings:
    """Load the effective settings, or exit with the configuration error printed."""
    if STATE.settings is None:
        try:
            STATE.settings = load_settings(STATE.config_file)
        except ConfigError as exc:
            print(f"configuration error: {exc}")
            raise typer.Exit(2) from exc
    return STATE.settings
