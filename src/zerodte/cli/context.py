"""Settings for CLI commands: loaded once per process from the root ``--config``/``--preset``.

A :class:`~zerodte.errors.ConfigError` raised here reaches the root group in
``cli/main.py``, which prints it on stderr and exits with code 2.
"""

from __future__ import annotations

from zerodte.cli.state import STATE
from zerodte.config import Settings, load_settings, load_settings_with_sources, with_overrides


def current_settings() -> Settings:
    """Load the effective settings once per invocation (``ConfigError`` when invalid)."""
    if STATE.settings is None:
        settings = load_settings(STATE.config_file, preset=STATE.preset)
        if STATE.overrides:
            settings = with_overrides(settings, STATE.overrides, "command line")
        STATE.settings = settings
    return STATE.settings


def current_settings_with_sources(preset: str | None = None) -> tuple[Settings, dict[str, str]]:
    """Load the settings and the source of every key; ``preset`` overrides the root option."""
    return load_settings_with_sources(STATE.config_file, preset=preset or STATE.preset)
