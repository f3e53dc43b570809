"""The ``zerodte`` command line: the composition root and the only place that prints.

Errors are mapped to exit codes here, once, for every command (:class:`ZerodteGroup`):

* ``ConfigError``, ``DataError``, ``ModelError`` (the user's settings, file or model must
  be fixed): exit code 2;
* ``BrokerError``, ``TransientBrokerError``, ``OrderRejected`` (the broker refused, or its
  state is unknown): exit code 3.

The message goes to stderr, without a traceback: these errors come from the user's input
and say how to fix it. ``zerodte --debug ...`` prints the traceback as well. Any other
exception is a bug in zerodte and keeps its traceback.

The sub-commands are listed in :data:`zerodte.cli.commands.COMMANDS` and imported only when
one of them is looked up, so that a command starts without importing the others.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from zerodte import __version__
from zerodte.cli.commands import LazyCommands
from zerodte.cli.logs import LOG_LEVELS, configure_logging
from zerodte.cli.state import CliState
from zerodte.errors import (
    BrokerError,
    ConfigError,
    DataError,
    ModelError,
    OrderRejected,
    TransientBrokerError,
)

EXIT_CODES: tuple[tuple[type[Exception], int, str], ...] = (
    (ConfigError, 2, "configuration error"),
    (DataError, 2, "data error"),
    (ModelError, 2, "model error"),
    (BrokerError, 3, "broker error"),
    (TransientBrokerError, 3, "broker error (transient)"),
    (OrderRejected, 3, "order rejected"),
)
"""Exception kind -> exit code and the label printed before its message."""


def exit_code_of(exc: BaseException) -> tuple[int, str] | None:
    """Exit code and label of an error a user can act on, or None for a bug."""
    for kind, code, label in EXIT_CODES:
        if isinstance(exc, kind):
            return code, label
    return None


class ZerodteGroup(TyperGroup):
    """The root command group: loads each sub-command on first use (:mod:`zerodte.cli.commands`)
    and maps zerodte's errors to exit codes for every sub-command."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        eager = self.commands  # any command registered on `app` itself
        self.commands = LazyCommands(app)  # typer builds this group when `app` is called
        self.commands.update(eager)

    def list_commands(self, ctx: Any) -> list[str]:
        """The command names, in help order, without importing their modules."""
        return list(self.commands)

    def invoke(self, ctx: Any) -> Any:  # a click context (typer vendors its own click)
        """Run the command; print a user-facing error on stderr and exit with its code."""
        try:
            return super().invoke(ctx)
        except typer.Exit:
            raise
        except Exception as exc:
            mapped = exit_code_of(exc)
            if mapped is None:
                raise
            code, label = mapped
            if isinstance(ctx.obj, CliState) and ctx.obj.debug:
                traceback.print_exception(exc, file=sys.stderr)
            print(f"{label}: {exc}", file=sys.stderr)
            raise typer.Exit(code) from None


app = typer.Typer(
    name="zerodte",
    help="Research and trading for intraday SPY options (0DTE by default).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=ZerodteGroup,
)


def _version(value: bool) -> None:
    if value:
        print(f"zerodte {__version__}")
        raise typer.Exit()


def _log_level(value: str) -> str:
    if value.upper() not in LOG_LEVELS:
        raise typer.BadParameter(f"{value!r} is not a log level; use {', '.join(LOG_LEVELS)}")
    return value.upper()


@app.callback()
def main(  # noqa: PLR0917 (typer options)
    ctx: typer.Context,
    log_level: Annotated[
        str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.", callback=_log_level)
    ] = "WARNING",
    log_json: Annotated[bool, typer.Option(help="Write logs as JSON lines.")] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an error as well.")
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(help="TOML settings file (else ZERODTE_CONFIG).", envvar="ZERODTE_CONFIG"),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(help="Settings preset (see `zerodte presets list`).", envvar="ZERODTE_PRESET"),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Market data store (data.data_dir).")
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """zerodte: find out honestly whether an entry strategy makes money after friction."""
    # Every command's --controller may name q_scorer, registered here rather than by the
    # registry: the Q-scorer sits above policy.
    from zerodte.qscorer.registration import register as register_q_scorer

    register_q_scorer()
    configure_logging(log_level, json_logs=log_json)
    ctx.obj = CliState(
        config_file=config,
        preset=preset,
        debug=debug,
        overrides={} if data_dir is None else {"data.data_dir": str(data_dir)},
    )
