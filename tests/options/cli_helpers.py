"""Shared by the options CLI tests: a command refused with a clean one-line error."""

from __future__ import annotations

from typer.testing import CliRunner

from zerodte.cli.main import app


def refused(args: list[str], label: str, *needles: str) -> str:
    """Run ``args``: exit code 2, no traceback, ``label`` and every needle on stderr."""
    res = CliRunner().invoke(app, args)
    assert "Traceback" not in res.output, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith(f"{label}: "), res.stderr
    for needle in needles:
        assert needle in res.stderr, res.stderr
    return res.stderr
