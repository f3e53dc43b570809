"""Settings for CLI commands: loaded once per process from the root ``--config``/``--preset``."""

from __future__ import annotations

import sys

import typer

from zerodte.cli.state import STATE
from zerodte.config import Settings, load_settings, load_settings_with_sources
from zerodte.errors import ConfigError


def config_error_exit(exc: ConfigError) -> typer.Exit:
    """Print a configuration error to stderr and return the exit to raise (code 2)."""
    print(f"configuration error: {exc}", file=sys.stderr)
    return typer.Exit(2)


def current_settings() -> Settings:
    """Load the effective settings, or exit with the configuration error printed."""
    if STATE.settings is None:
        try:
            STATE.settings = load_settings(STATE.config_file, preset=STATE.preset)
        except ConfigError as exc:
            raise config_error_exit(exc) from exc
    return STATE.settings


def current_settings_with_sources(preset: str | None = None) -> tuple[Settings, dict[str, str]]:
    """Load the settings and the source of every key; ``preset`` overrides the root option."""
    try:
        return load_settings_with_sources(STATE.config_file, preset=preset or STATE.preset)
    except ConfigError as exc:
        raise config_error_exit(exc) from exc
