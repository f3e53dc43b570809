"""Settings for CLI commands: loaded once per invocation from ``--config``/``--preset``.

A :class:`~zerodte.errors.ConfigError` raised here reaches the root group in
``cli/main.py``, which prints it on stderr and exits with code 2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zerodte.cli.state import cli_state
from zerodte.config import Settings, load_settings, load_settings_with_sources, with_overrides

if TYPE_CHECKING:
    import typer


def current_settings(ctx: typer.Context) -> Settings:
    """The invocation's effective settings, loaded on first use (``ConfigError`` when invalid)."""
    state = cli_state(ctx)
    if state.settings is None:
        settings = load_settings(state.config_file, preset=state.preset)
        if state.overrides:
            settings = with_overrides(settings, state.overrides, "command line")
        state.settings = settings
    return state.settings


def current_settings_with_sources(
    ctx: typer.Context, preset: str | None = None
) -> tuple[Settings, dict[str, str]]:
    """The settings and the source of every key; ``preset`` overrides the root option."""
    state = cli_state(ctx)
    return load_settings_with_sources(state.config_file, preset=preset or state.preset)
