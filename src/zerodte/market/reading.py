"""Reading a user's bar file (CSV or Parquet) as it is, refusing what cannot be read.

Every failure is a :class:`~zerodte.errors.DataError` that names the file and says how to
fix it: a missing file or a directory, an empty file, a binary or UTF-16 file, a row with
more fields than the header, a Parquet file that is not Parquet (garbage, truncated, empty).

CSV cells are read as text, so that numbers and timestamps are parsed by rules the caller
states (:mod:`zerodte.market.timestamps`) rather than by guesses. A CSV whose last line has
no line end is flagged: a file cut off inside its last row (``581633`` arriving as ``58``)
looks exactly like that, and no other check can tell a cut number from a small one.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pandas._libs.parsers import STR_NA_VALUES

from zerodte.errors import DataError

CSV_SUFFIXES = (".csv", ".txt", ".gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class RawTable:
    """A file's rows as read, before any interpretation.

    Attributes
    ----------
    frame
        One row per data row; CSV cells are text (``NaN`` for empty cells).
    unterminated
        True for a CSV whose last line lacks its line end (possibly cut inside that row).
    float32_columns
        Parquet columns stored as 32-bit floats.
    """

    frame: pd.DataFrame
    unterminated: bool = False
    float32_columns: tuple[str, ...] = ()


def _check_text(data: bytes, name: str) -> str:
    if data.startswith(_UTF16_BOMS):
        raise DataError(
            f"{name} is UTF-16 text; save it as UTF-8 (e.g. `iconv -f UTF-16 -t UTF-8 "
            f"{name} > {Path(name).stem}-utf8.csv`) and import that"
        )
    nul = data.find(b"\x00")
    if nul >= 0:
        raise DataError(
            f"{name} is not a text CSV (a NUL byte at offset {nul}); export the bars as CSV "
            "(UTF-8) or Parquet"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{name} is not UTF-8 text (byte {exc.start}: {data[exc.start : exc.start + 4]!r}); "
            "export the file as UTF-8 CSV or as Parquet"
        ) from None


def _read_csv(path: Path) -> RawTable:
    data = path.read_bytes()
    if path.suffix.lower() == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(
                f"{path.name} is not a complete gzip file ({exc}); download it again"
            ) from None
    text = _check_text(data, path.name)
    if not text.strip():
        raise DataError(f"{path.name} is empty; it needs a header row and one row per bar")
    frame = _arrow_csv(data)
    try:
        if frame is None:
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=True)
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path.name} has no header row; the first line must name the columns"
        ) from None
    except (pd.errors.ParserError, csv.Error) as exc:
        raise DataError(
            f"{path.name} cannot be read as CSV: {str(exc).strip()}. Every row must have as "
            "many comma-separated fields as the header; fix or remove that line"
        ) from None
    if frame.empty:
        raise DataError(
            f"{path.name} has a header but no data rows ({list(frame.columns)}); nothing to import"
        )
    unterminated = not text.endswith(("\n", "\r"))
    return RawTable(frame=frame, unterminated=unterminated)


NA_STRINGS = sorted(STR_NA_VALUES)
"""The cells pandas reads as missing (``keep_default_na``): the Arrow reader uses the same."""


def _arrow_csv(data: bytes) -> pd.DataFrame | None:
    """The CSV read by Arrow's parser (every cell text, pandas' missing-value strings), or
    ``None`` when the file is not plain enough for it, so that pandas' reader, with its
    messages, reads it instead.

    Arrow parses a year of minutes about seven times faster. A file it refuses (a ragged
    row, a quote across lines), or whose header pandas would rename (an empty or repeated
    column name), goes to pandas, so both readers give the same frame for every file.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    header = data.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", errors="replace")
    names = next(csv.reader([header]), [])
    if not names or len(set(names)) != len(names) or any(not n.strip() for n in names):
        return None
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(use_threads=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=True,
                null_values=NA_STRINGS,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowException, ValueError):
        return None
    if table.column_names != names:
        return None
    return table.to_pandas()


def _read_parquet(path: Path) -> RawTable:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(
            f"{path.name} is not a readable Parquet file ({type(exc).__name__}: "
            f"{str(exc).strip()[:200]}); it may be truncated or another format. Export it "
            "again, or give a CSV"
        ) from None
    if table.num_rows == 0:
        raise DataError(f"{path.name} holds no rows ({table.schema.names}); nothing to import")
    f32 = tuple(f.name for f in table.schema if pa.types.is_float32(f.type))
    try:
        frame = table.to_pandas()
    except (pa.ArrowException, ValueError) as exc:
        raise DataError(
            f"{path.name}: its columns cannot be converted ({exc}); export plain numeric "
            "OHLCV columns and a timestamp column"
        ) from None
    return RawTable(frame=frame, float32_columns=f32)


def read_table(path: Path | str) -> RawTable:
    """Read a CSV or Parquet bar file as it is (see the module docstring).

    Raises
    ------
    DataError
        The file is missing, a directory, of an unknown type or unreadable.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"file {path} does not exist")
    if path.is_dir():
        raise DataError(f"{path} is a directory, not a bar file; give the CSV or Parquet file")
    suffix = path.suffix.lower()
    try:
        if suffix in PARQUET_SUFFIXES:
            raw = _read_parquet(path)
        elif suffix in CSV_SUFFIXES:
            raw = _read_csv(path)
        else:
            raise DataError(f"{path}: unknown file type {suffix!r}; use .csv or .parquet")
    except PermissionError as exc:
        raise DataError(f"{path} cannot be read: {exc.strerror}; check its permissions") from None
    duplicated = raw.frame.columns[raw.frame.columns.duplicated()].tolist()
    if duplicated:
        raise DataError(f"{path.name}: column(s) {duplicated} appear twice in the header")
    return raw
