"""Import bar files (CSV or Parquet) into canonical, validated bars.

Steps, in order: read (:mod:`zerodte.market.reading`: unreadable, binary, empty or
header-only files are refused); rename columns (``--map time=timestamp,Close=close`` plus
obvious case-insensitive names) and require every OHLCV column; parse timestamps by the
rules of :mod:`zerodte.market.timestamps` and bring them to America/New_York; shift bar-end
labels to bar starts (``label="end"`` subtracts one minute); split long multi-symbol files
on their ``symbol`` column (every symbol checked against the symbol pattern); drop
extended-hours bars of trading days (unless ``keep_extended``; bars on days that are not
trading days are never dropped silently, they are refused); apply the repairs the caller
asked for; validate. A symbol left with no bars, a CSV whose last row has no line end, and
every problem of :func:`~zerodte.market.validation.validate_bars` refuse the file, with a
report that names the file, row number (1-based, after the header), field, problem, value
and fix.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from zerodte.errors import DataError
from zerodte.market.calendar import TradingCalendar, distinct_days, local_days, sorted_member
from zerodte.market.intervals import INTERVAL_MINUTES, check_interval, infer_interval
from zerodte.market.reading import RawTable, read_table
from zerodte.market.schema import BAR_COLUMNS, PRICE_COLUMNS
from zerodte.market.symbols import check_symbol
from zerodte.market.timestamps import parse_times
from zerodte.market.validation import (
    NO_VOLUME_SYMBOLS,
    ROW_COLUMN,
    Problem,
    ValidationReport,
    in_session,
    parse_repairs,
    repair_bars,
    validate_bars,
)

__all__ = ["ImportResult", "import_file", "parse_mapping", "read_table"]

logger = logging.getLogger(__name__)

_ALIASES = {
    "time": "timestamp",
    "datetime": "timestamp",
    "date": "timestamp",
    "ts": "timestamp",
    "bar_start": "timestamp",
    "o": "open",
    "h": "high",
    "l": "low",
    "c": "close",
    "v": "volume",
    "vol": "volume",
    "ticker": "symbol",
}


@dataclass
class ImportResult:
    """Canonical bars per symbol, and the report of what was found and done."""

    bars: dict[str, pd.DataFrame]
    report: ValidationReport
    repairs: tuple[str, ...] = ()
    dropped_extended: dict[str, int] = field(default_factory=dict)
    interval: str = "1min"


def parse_mapping(text: str | Mapping[str, str] | None) -> dict[str, str]:
    """Parse ``"time=timestamp,Close=close"`` (source=canonical pairs)."""
    if text is None:
        return {}
    if isinstance(text, Mapping):
        return dict(text)
    out: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        if "=" not in item:
            raise DataError(f"column mapping item {item!r} needs the form source=canonical")
        src, dst = (x.strip() for x in item.split("=", 1))
        out[src] = dst
    return out


def _rename(frame: pd.DataFrame, mapping: Mapping[str, str], source: str) -> pd.DataFrame:
    missing = [c for c in mapping if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: --map names column(s) {missing} that the file does not have; "
            f"its columns are {list(frame.columns)}"
        )
    frame = frame.rename(columns=dict(mapping))
    renames: dict[str, str] = {}
    present = set(frame.columns)
    for col in frame.columns:
        low = str(col).strip().lower()
        target = _ALIASES.get(low, low)
        if target != col and target in (*BAR_COLUMNS, "symbol") and target not in present:
            renames[col] = target
            present.add(target)
    return frame.rename(columns=renames)


def _as_float(raw: pd.Series) -> pd.Series:
    """``raw`` as float64, NaN where a cell is missing or not a number.

    Text columns are cast by Arrow (every cell a plain decimal number: ten times faster than
    ``pd.to_numeric``); a column with any other cell goes through ``pd.to_numeric`` so that
    the not-a-number cells are found exactly as before.
    """
    if isinstance(raw.dtype, pd.StringDtype) or raw.dtype == object:
        try:
            cast = pc.cast(pa.array(raw, from_pandas=True, type=pa.string()), pa.float64())
        except (pa.ArrowException, TypeError, ValueError):
            pass  # a cell that is not a plain number: pd.to_numeric reports which
        else:
            return pd.Series(cast.to_numpy(zero_copy_only=False), index=raw.index, dtype="float64")
    return pd.to_numeric(raw, errors="coerce").astype("float64")


def _numeric(frame: pd.DataFrame, source: str, report: ValidationReport) -> pd.DataFrame:
    """Convert price/volume columns to float; non-numeric cells are reported, not hidden."""
    for col in (*PRICE_COLUMNS, "volume"):
        if col not in frame.columns:
            continue
        raw = frame[col]
        num = _as_float(raw)
        bad = np.flatnonzero(num.isna().to_numpy() & raw.notna().to_numpy())
        for pos in bad:
            report.problems.append(
                Problem(
                    source,
                    int(frame[ROW_COLUMN].iloc[pos]),
                    col,
                    "not a number",
                    repr(raw.iloc[pos]),
                    "fix the cell or drop the row with --repair drop-nan",
                )
            )
        frame[col] = num
    return frame


def _unterminated(raw: RawTable, frame: pd.DataFrame, source: str) -> list[Problem]:
    if not raw.unterminated:
        return []
    return [
        Problem(
            source,
            len(raw.frame),
            "volume",
            "last line has no line end (the file may be cut inside this row)",
            str(raw.frame.iloc[-1].tolist())[:120],
            "download the file again; if it is complete, end it with a newline (echo >> FILE)",
        )
    ]


def _split_symbols(frame: pd.DataFrame, symbol: str | None, source: str) -> dict[str, pd.DataFrame]:
    if "symbol" not in frame.columns:
        if symbol is None:
            raise DataError(f"{source}: no symbol column; name the symbol with --symbol SPY")
        return {check_symbol(symbol, "--symbol"): frame}
    cells = frame["symbol"]
    empty = cells.isna().to_numpy()
    if empty.any():
        row = int(frame[ROW_COLUMN].to_numpy()[np.flatnonzero(empty)[0]])
        raise DataError(f"{source}:{row} [symbol] is empty; every row of a long file needs one")
    symbols = cells.astype(str).str.strip().str.upper()
    names = sorted(symbols.unique())
    for name in names:
        row = int(frame[ROW_COLUMN].to_numpy()[np.flatnonzero(symbols == name)[0]])
        check_symbol(name, f"{source}:{row} [symbol]")
    if symbol is not None:
        wanted = check_symbol(symbol, "--symbol")
        if wanted not in names:
            raise DataError(f"{source}: symbol {wanted} not in the file (has {names})")
        names = [wanted]
    return {s: frame.loc[symbols == s].reset_index(drop=True) for s in names}


def _drop_extended(
    part: pd.DataFrame, sym: str, cal: TradingCalendar, report: ValidationReport
) -> tuple[pd.DataFrame, int]:
    """Drop on-minute bars of trading days outside the regular session (extended hours).

    Bars of non-trading days and off-minute stamps are kept so that validation names them.
    """
    ts = part["timestamp"]
    valid = ts.notna().to_numpy()
    if not valid.any():
        return part, 0
    known = distinct_days(ts)
    sessions = np.array(cal.sessions(known[0], known[-1]), dtype="datetime64[D]")
    on_session_day = sorted_member(local_days(ts), sessions)
    on_minute = (ts.dt.second == 0).to_numpy() & (ts.dt.microsecond == 0).to_numpy()
    drop = valid & ~in_session(ts, cal) & on_minute & on_session_day
    if not drop.any():
        return part, 0
    count = int(drop.sum())
    report.notes.append(f"{sym}: dropped {count} extended-hours bar(s) (--keep-extended keeps)")
    return part.loc[~drop].reset_index(drop=True), count


def import_file(
    path: Path | str,
    *,
    symbol: str | None = None,
    mapping: str | Mapping[str, str] | None = None,
    tz: str | None = None,
    label: Literal["start", "end"] = "start",
    keep_extended: bool = False,
    repairs: str | Iterable[str] | None = None,
    calendar: TradingCalendar | None = None,
    time_format: str | None = None,
    interval: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> ImportResult:
    """Read, normalise, repair (only as asked) and validate a bar file.

    Raises :class:`DataError` with the full report when problems remain.

    Parameters
    ----------
    symbol
        Symbol of a single-symbol file; for a long file with a ``symbol`` column, keeps only
        this symbol (``None`` keeps all). Must match :data:`zerodte.types.SYMBOL_PATTERN`.
    mapping
        ``source=canonical`` column renames.
    tz
        Timezone of naive timestamps.
    label
        ``"end"`` when each bar is stamped at its end (shifted back one minute).
    keep_extended
        Keep bars outside the regular session (they then fail validation unless
        ``drop-outside-session`` is asked for: the store holds regular hours only).
    repairs
        Names from :data:`zerodte.market.validation.REPAIRS`.
    time_format
        ``strftime`` format of a text time column (see :mod:`zerodte.market.timestamps`).
    interval
        ``1min``, ``5min`` or ``1day`` (:mod:`zerodte.market.intervals`); ``None`` infers it
        from the stamps (dates without a time, or one bar a day, are daily). Daily rows are
        stamped at their session's open; ``label="end"`` shifts intraday bars back by one
        interval. A symbol without volume (VIX) needs no volume column.
    start, end
        Import only the rows of these New York days (inclusive); the rest of the file is
        left out before any check (a note counts them).
    """
    path = Path(path)
    source = path.name
    if label not in ("start", "end"):
        raise DataError(f"label must be 'start' or 'end', got {label!r}")
    wanted = parse_repairs(repairs)
    raw = read_table(path)
    frame = raw.frame.reset_index(drop=True)
    frame[ROW_COLUMN] = np.arange(1, len(frame) + 1)
    frame = _rename(frame, parse_mapping(mapping), source)
    if "volume" not in frame.columns and _volumeless(frame, symbol):
        frame["volume"] = 0.0  # an index has no volume; stored as 0 like vendors' VIX bars
    missing = [c for c in BAR_COLUMNS if c not in frame.columns]
    if missing:
        shown = [c for c in raw.frame.columns]
        raise DataError(
            f"{source}: missing column(s) {missing} among {shown}; map them with "
            f"--map <name>={missing[0]} (names are matched case-insensitively; o/h/l/c/v, "
            "time, date and vol are understood)"
        )
    rows = frame[ROW_COLUMN].to_numpy()
    parsed = parse_times(
        frame["timestamp"],
        rows,
        tz=tz,
        source=source,
        time_format=time_format,
        start=start,
        end=end,
    )
    frame["timestamp"] = parsed.values
    if parsed.kept is not None:
        frame = frame.loc[parsed.kept].reset_index(drop=True)
    cal = calendar or TradingCalendar()
    step = check_interval(interval, "--interval") if interval is not None else None
    if step is None:
        step = "1day" if _date_only(frame["timestamp"]) else infer_interval(frame["timestamp"])
    report = ValidationReport(notes=list(parsed.notes))
    if step == "1day":
        frame["timestamp"] = _at_session_open(frame["timestamp"], cal)
    elif label == "end":
        frame["timestamp"] = frame["timestamp"] - pd.Timedelta(minutes=INTERVAL_MINUTES[step])
    if step != "1min":
        report.notes.append(f"{source}: {step} bars (stored at their own interval)")
    frame = _numeric(frame, source, report)
    report.problems.extend(_unterminated(raw, frame, source))
    for col in raw.float32_columns:
        report.notes.append(f"{source}: column {col!r} is stored as float32")

    if step != "1min" and "fill-missing" in wanted:
        raise DataError(
            f"{source}: --repair fill-missing applies to 1-minute bars only; {step} bars are "
            "stored at their own interval and joined as of what was known, never filled"
        )
    bars: dict[str, pd.DataFrame] = {}
    dropped: dict[str, int] = {}
    for sym, part in _split_symbols(frame, symbol, source).items():
        if not keep_extended and step != "1day":
            part, count = _drop_extended(part, sym, cal, report)
            if count:
                dropped[sym] = count
        if wanted:
            part, notes = repair_bars(part, sym, wanted, calendar=cal)
            report.notes.extend(notes)
        if part.empty:
            report.problems.append(
                Problem(
                    source,
                    None,
                    "timestamp",
                    "no bars left",
                    f"{sym}: every row was dropped ({dropped.get(sym, 0)} as extended hours)",
                    "the file holds no regular-session bar of a trading day; check its dates "
                    "and timezone (--tz)",
                )
            )
            continue
        report.extend(
            # minutes filled on request carry row -1 and are exempt from the volume check
            validate_bars(part, sym, source, calendar=cal, interval=step)
        )
        bars[sym] = part.loc[:, list(BAR_COLUMNS)].reset_index(drop=True)
    report.raise_if_bad(f"importing {path}")
    return ImportResult(
        bars=bars, report=report, repairs=wanted, dropped_extended=dropped, interval=step
    )


def _volumeless(frame: pd.DataFrame, symbol: str | None) -> bool:
    """Whether every symbol of the file is one that has no volume (an index such as VIX)."""
    if symbol is not None:
        return symbol.strip().upper() in NO_VOLUME_SYMBOLS
    if "symbol" in frame.columns:
        names = set(frame["symbol"].dropna().astype(str).str.strip().str.upper())
        return bool(names) and names <= NO_VOLUME_SYMBOLS
    return False


def _date_only(ts: pd.Series) -> bool:
    """Stamps that are all at local midnight: a date column (daily rows)."""
    valid = ts.dropna()
    if valid.empty:
        return False
    local = valid.dt.tz_convert("America/New_York")
    return bool(((local.dt.hour == 0) & (local.dt.minute == 0)).all())


def _at_session_open(ts: pd.Series, cal: TradingCalendar) -> pd.Series:
    """Daily stamps moved to their session's open (non-trading days keep their stamp so
    that validation names them)."""
    days = ts.dt.tz_convert("America/New_York").dt.date
    valid = sorted(set(days.dropna()))
    if not valid:
        return ts
    opens = {d: cal.session_open(d) for d in cal.sessions(valid[0], valid[-1])}
    mapped = pd.Series([opens.get(d) for d in days], index=ts.index, dtype=object)
    out = ts.copy()
    keep = mapped.notna().to_numpy()
    out.loc[keep] = pd.to_datetime(mapped[keep].tolist()).tz_convert("America/New_York")
    return out
