"""The CLI's commands as ``(name, click command)`` pairs, for tests over every command."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer.main

from zerodte.cli.main import app


def cli_commands() -> Iterator[tuple[str, Any]]:
    """Every leaf command of ``zerodte``, named as typed (``"q train"``)."""

    def walk(cmd: Any, path: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                yield from walk(sub, (*path, name))
        else:
            yield " ".join(path), cmd

    yield from walk(typer.main.get_command(app), ())
