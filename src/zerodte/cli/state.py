"""The CLI state of one invocation, kept on the root typer context (``ctx.obj``).

The root callback (:func:`zerodte.cli.main.main`) puts a fresh :class:`CliState` on the
root context; options given after a command (``--config``, ``--preset``, ``--data-dir``,
...) change it through :func:`cli_state` in their callbacks. Commands read it through
:func:`zerodte.cli.context.current_settings`. Nothing outlives the invocation: another
``app()`` call in the same process (a test's ``CliRunner``) starts from a new state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

    from zerodte.config import Settings


@dataclass
class CliState:
    """Options given to the root command that sub-commands need."""

    config_file: Path | None = None
    preset: str | None = None
    settings: Settings | None = None
    debug: bool = False
    overrides: dict[str, object] = field(default_factory=dict)
    """Dotted settings keys set by command options (``--data-dir``, ``--vix-proxy``, ...)."""

    def changed(self) -> None:
        """An option changed what the settings are made of: load them again when asked."""
        self.settings = None


def cli_state(ctx: typer.Context) -> CliState:
    """The state of the invocation ``ctx`` belongs to (created on first use)."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj
