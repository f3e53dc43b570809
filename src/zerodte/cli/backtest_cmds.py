"""CLI commands (module: backtest_cmds)."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)


def register(root: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
