"""The ``zerodte`` command line: the composition root and the only place that prints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zerodte import __version__
from zerodte.cli import (
    backtest_cmds,
    compare_cmds,
    config_cmds,
    data_cmds,
    demo_cmds,
    options_cmds,
    q_cmds,
    train_cmds,
)
from zerodte.cli.logs import configure_logging
from zerodte.cli.state import STATE

app = typer.Typer(
    name="zerodte",
    help="Research and trading for intraday SPY options (0DTE by default).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"zerodte {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "WARNING",
    log_json: Annotated[bool, typer.Option(help="Write logs as JSON lines.")] = False,
    config: Annotated[
        Path | None,
        typer.Option(help="TOML settings file (else ZERODTE_CONFIG).", envvar="ZERODTE_CONFIG"),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(help="Settings preset (see `zerodte presets list`).", envvar="ZERODTE_PRESET"),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """zerodte: find out honestly whether an entry strategy makes money after friction."""
    configure_logging(log_level, json_logs=log_json)
    STATE.config_file = config
    STATE.preset = preset
    STATE.settings = None  # a new invocation may name another config or preset


config_cmds.register(app)
data_cmds.register(app)
options_cmds.register(app)
backtest_cmds.register(app)
q_cmds.register(app)
train_cmds.register(app)
compare_cmds.register(app, train_cmds.app)
demo_cmds.register(app)
