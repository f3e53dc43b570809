"""The command table of ``cli/commands.py`` agrees with what the modules register."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.main import get_command, get_group

from zerodte.cli.commands import COMMANDS, registered
from zerodte.cli.main import app


def test_each_module_registers_exactly_its_rows() -> None:
    for module in sorted(set(COMMANDS.values())):
        attached = set(get_group(registered(module)).commands)
        listed = {name for name, owner in COMMANDS.items() if owner == module}
        assert attached == listed, (
            f"{module}.register attaches {sorted(attached)} but COMMANDS lists {sorted(listed)} "
            "for it: a command missing from COMMANDS is never shown; add its row"
        )


def test_root_lists_the_table_in_order() -> None:
    root = get_command(app)
    assert list(root.commands) == list(COMMANDS)  # type: ignore[attr-defined]
    for name in COMMANDS:
        assert root.commands[name].name == name  # type: ignore[attr-defined]


def test_a_command_imports_only_its_own_module() -> None:
    code = (
        "import sys\n"
        "from typer.main import get_command\n"
        "from zerodte.cli.main import app\n"
        "before = {m for m in sys.modules if m.endswith('_cmds')}\n"
        "get_command(app).commands['backtest']\n"
        "after = {m for m in sys.modules if m.endswith('_cmds')}\n"
        "print(sorted(before), sorted(after))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["[]", "['zerodte.cli.backtest_cmds']"], out


@pytest.mark.parametrize(
    "args", [["--help"], ["backtest", "--help"], ["q", "pipeline", "--help"], ["trade", "--help"]]
)
def test_help_imports_no_numerical_stack(args: list[str]) -> None:
    # `zerodte --help` imports every command module for its one-line help; those modules
    # import numpy, pandas and scipy inside the commands that use them. A command's help
    # runs the root callback too (it registers q_scorer): that must not import them either.
    code = (
        "import sys\n"
        "from zerodte.cli.main import app\n"
        "try:\n"
        f"    app({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted({'numpy', 'pandas', 'scipy'} & set(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr.strip() == "[]", (args, done.stderr)
