"""Output paths of the commands: a directory option never names a file, a file option never
names a directory.

Checked when the options are parsed, before any work, so a wrong kind of path is a flag
error (exit 2) that names the option, not a ``FileExistsError`` after the training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def output_dir(value: Path | None) -> Path | None:
    """``value`` unless it is an existing file (a directory is created when missing)."""
    if value is not None and value.exists() and not value.is_dir():
        raise typer.BadParameter(
            f"{value} is a file; give a directory (it is created when missing)"
        )
    return value


def output_file(value: Path | None) -> Path | None:
    """``value`` unless it is an existing directory (an existing file is replaced)."""
    if value is not None and value.is_dir():
        raise typer.BadParameter(f"{value} is a directory; give the path of a file")
    return value


OutDir = Annotated[
    Path | None, typer.Option("--out", callback=output_dir, help="Output directory.")
]
