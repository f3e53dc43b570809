"""Every command and sub-command answers ``--help``."""

from __future__ import annotations

import typer
from typer.main import get_command
from typer.testing import CliRunner

from zerodte.cli.main import app


def _paths(cmd: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    commands = getattr(cmd, "commands", None) or {}
    for name, sub in commands.items():
        out.extend(_paths(sub, (*prefix, name)))
    return out


def test_every_command_has_help() -> None:
    root = get_command(app)
    paths = _paths(root)
    assert len(paths) > 5, f"expected a command tree, saw {paths}"
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, f"zerodte {' '.join(path)} --help failed: {result.output}"
        assert "Usage" in result.output


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert "zerodte" in result.output
    assert isinstance(app, typer.Typer)
