"""The table of ``zerodte`` commands, each imported only when it is looked up.

Every command module (``cli/*_cmds.py``) has a ``register(root: typer.Typer)`` that attaches
its commands and groups with ``root.command(...)`` and ``root.add_typer(...)``, as usual. The
root app does not call them at import: :data:`COMMANDS` names the module behind each
top-level command, and the root group's command mapping (:class:`LazyCommands`) imports a
module, calls its ``register`` and builds its click commands the first time one of its
commands is looked up. So ``zerodte backtest ...`` imports the backtest and what it needs,
not the dashboard, the trainers or the Q-scorer's commands.

Help text and behaviour are the same as with eager registration: the commands are built by
typer from the same ``register`` calls, with the root app's settings
(:func:`typer.main.get_group` does the same for the root). ``zerodte --help`` lists every
command with its one-line help, so it imports every module; ``zerodte backtest --help``
imports only the backtest's.

To add a command: give its module ``register(root)`` and add a row to :data:`COMMANDS`, at
the place ``zerodte --help`` should list it.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterator, MutableMapping
from typing import Any

import typer
from typer.main import get_group_from_info
from typer.models import TyperInfo

COMMANDS: dict[str, str] = {
    "backtest": "zerodte.cli.backtest_cmds",
    "compare": "zerodte.cli.compare_cmds",
    "demo": "zerodte.cli.demo_cmds",
    "trade": "zerodte.cli.trade_cmds",
    "dashboard": "zerodte.cli.dashboard_cmds",
    "config": "zerodte.cli.config_cmds",
    "presets": "zerodte.cli.config_cmds",
    "data": "zerodte.cli.data_cmds",
    "options": "zerodte.cli.options_cmds",
    "runs": "zerodte.cli.backtest_cmds",
    "q": "zerodte.cli.q_cmds",
    "train": "zerodte.cli.train_cmds",
    "eval": "zerodte.cli.train_cmds",
    "fake-tradier": "zerodte.cli.trade_cmds",
    "experiments": "zerodte.cli.experiments_cmds",
    "learn": "zerodte.cli.learn_cmds",
}
"""Top-level command -> the module whose ``register(root)`` attaches it, in help order."""


@functools.cache
def registered(module_name: str) -> typer.Typer:
    """A Typer holding what ``module_name``'s ``register`` attaches (called once per process:
    a module's sub-apps are module globals, and ``register`` may attach to them)."""
    holder = typer.Typer()
    importlib.import_module(module_name).register(holder)
    return holder


class LazyCommands(MutableMapping[str, Any]):
    """The root group's commands (click commands; typer vendors its own click): the names
    of :data:`COMMANDS`, each module's commands built on first lookup.

    Iterating or ``len()`` gives the names without importing anything (typer's "Did you
    mean ...?" for a mistyped command needs only those); looking a name up builds the
    commands of its module, as the root's ``add_typer``/``command`` would have.
    """

    def __init__(self, root: typer.Typer, table: dict[str, str] = COMMANDS) -> None:
        self._root = root
        self._table = dict(table)
        self._built: dict[str, Any] = {}

    def _build(self, module_name: str) -> None:
        group = get_group_from_info(
            TyperInfo(registered(module_name)),
            pretty_exceptions_short=self._root.pretty_exceptions_short,
            rich_markup_mode=self._root.rich_markup_mode,
            suggest_commands=self._root.suggest_commands,
        )
        for name, command in group.commands.items():
            self._built.setdefault(name, command)

    def __getitem__(self, name: str) -> Any:
        if name not in self._built and name in self._table:
            self._build(self._table[name])
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        if self._table.pop(name, None) is None:
            del self._built[name]
        else:
            self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        yield from self._table
        yield from (name for name in self._built if name not in self._table)

    def __len__(self) -> int:
        return len(self._table) + sum(name not in self._table for name in self._built)
