"""Reading a user's table file (a daily VIX CSV, an open-interest Parquet file) with one
clear error for a missing file, an unreadable one or a missing column."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from zerodte.errors import DataError


def read_table(
    path: Path,
    reader: Callable[[Path], pd.DataFrame],
    kind: str,
    fmt: str,
    columns: Sequence[str],
    *,
    lower_columns: bool = False,
) -> pd.DataFrame:
    """``reader(path)`` with ``columns`` required; ``kind`` and ``fmt`` name the file in
    errors ("a daily VIX file", "CSV"); ``lower_columns`` folds header case first.

    Raises
    ------
    DataError
        The file is missing or a directory, the reader fails, or a column is missing; each
        message names the file and what it should hold.
    """
    need = f"{kind} is a {fmt} file with columns {list(columns)}"
    if not path.is_file():
        raise DataError(f"{path}: {'is a directory' if path.is_dir() else 'no such file'}; {need}")
    try:
        frame = reader(path)
    except (OSError, ValueError) as exc:  # pandas' parser errors and pyarrow's are ValueErrors
        raise DataError(f"{path}: not a readable {fmt} file ({exc}); {need}") from exc
    if lower_columns:
        frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {missing} (it has {list(frame.columns)}); {need}"
        )
    return frame
