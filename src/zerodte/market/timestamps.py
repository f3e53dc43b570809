"""Parsing a file's time column by stated rules, never by a silent guess.

Rules, in order:

1. A datetime column (Parquet) is used as it is.
2. Numbers (or all-digit text) are Unix epoch times in UTC. The unit is the one of
   seconds, milliseconds, microseconds or nanoseconds under which every value falls inside
   the trading calendar (2000-01-03 .. 2035-12-31); if none does, the column is refused.
   A text column that is mostly digits but not entirely is refused naming the other values
   (an ``inf`` or a stray word among epoch seconds), never read as text from its first row.
3. Text with ``--time-format`` (a ``strftime`` format) is parsed with exactly that format.
4. Other text: the format is inferred from the first value (``pandas``'
   ``guess_datetime_format``). Year-first dates (``2024-03-04``) are read year-month-day.
   When the date could be day-first or month-first (``04/03/2024``), both formats are tried
   on every value: the one under which all values parse is used (a value such as
   ``13/03/2024`` decides), and when both do the file is refused as ambiguous until
   ``--time-format`` says which. Every value must then match the one format.

Empty cells are reported per row (``missing timestamp``). Values with a UTC offset are
converted; dates without a time (daily rows) are New York trading dates; other naive
values need ``--tz`` (an IANA zone name, checked). Everything ends in America/New_York;
a value outside the trading calendar is refused.
"""

from __future__ import annotations

import logging
import warnings
import zoneinfo
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from zerodte.errors import DataError
from zerodte.market.calendar import CALENDAR_FIRST, CALENDAR_LAST
from zerodte.market.schema import TIMEZONE

logger = logging.getLogger(__name__)

_EPOCH_UNITS: tuple[tuple[Literal["s", "ms", "us", "ns"], float], ...] = (
    ("s", 1.0),
    ("ms", 1e3),
    ("us", 1e6),
    ("ns", 1e9),
)
_DIGITS = r"-?\d+(\.\d*)?"
_LO = pd.Timestamp(CALENDAR_FIRST, tz="UTC")
_HI = pd.Timestamp(CALENDAR_LAST, tz="UTC") + pd.Timedelta(days=1)


@dataclass
class ParsedTimes:
    """Parsed New York timestamps (NaT where the cell was empty) and what was inferred."""

    values: pd.Series
    missing: np.ndarray
    notes: list[str] = field(default_factory=list)
    kept: np.ndarray | None = None
    """Rows inside the ``start``/``end`` window (and rows without a time, to be reported);
    ``None`` when no window was given."""


def check_timezone(tz: str) -> str:
    """Return ``tz`` if it names a time zone, else raise :class:`DataError`."""
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise DataError(
            f"--tz {tz!r} is not a time zone; use an IANA name such as America/New_York, UTC "
            "or Europe/London"
        ) from None
    return tz


def _first_rows(mask: np.ndarray, rows: np.ndarray, values: pd.Series, k: int = 3) -> str:
    pos = np.flatnonzero(mask)[:k]
    return ", ".join(f"row {int(rows[p])}: {values.iloc[p]!r}" for p in pos)


def _epoch_text(raw: pd.Series, missing: np.ndarray, rows: np.ndarray, source: str) -> bool:
    """Whether a text column is epoch times (every value all digits); a column mostly of
    digits with a few other values is refused, naming them."""
    digits = raw.astype("string").str.strip().str.fullmatch(_DIGITS).fillna(False).to_numpy()
    present = digits[~missing]
    if present.all():
        return True
    if present.mean() >= 0.5:
        odd = ~digits & ~missing
        raise DataError(
            f"{source}: the time column holds Unix epoch numbers, but {int(odd.sum())} "
            f"value(s) are not ({_first_rows(odd, rows, raw)}); fix or drop those rows"
        )
    return False


def _epoch(numbers: pd.Series, rows: np.ndarray, source: str) -> tuple[pd.Series, str]:
    finite = numbers.dropna().to_numpy(dtype=np.float64)
    for unit, per_second in _EPOCH_UNITS:
        lo, hi = _LO.timestamp() * per_second, _HI.timestamp() * per_second
        if len(finite) and (finite >= lo).all() and (finite < hi).all():
            ts = pd.to_datetime(numbers, unit=unit, utc=True)
            return ts, f"{source}: read the time column as Unix epoch {unit} (UTC)"
    bad = ~numbers.isna().to_numpy()
    raise DataError(
        f"{source}: the time column holds numbers ({_first_rows(bad, rows, numbers)}) that are "
        f"not Unix epoch seconds, milliseconds, microseconds or nanoseconds between "
        f"{CALENDAR_FIRST} and {CALENDAR_LAST}; give text times with --time-format, or "
        "epoch times inside the trading calendar"
    )


def _with_format(text: pd.Series, fmt: str) -> pd.Series:
    aware = "%z" in fmt or "%Z" in fmt
    return pd.to_datetime(text, format=fmt, errors="coerce", utc=aware)


def _infer_format(text: pd.Series, rows: np.ndarray, source: str) -> tuple[str, str | None]:
    first = str(text.iloc[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        month_first = guess_datetime_format(first, dayfirst=False)
        day_first = guess_datetime_format(first, dayfirst=True)
    if month_first is None and day_first is None:
        raise DataError(
            f"{source}: cannot read the time {first!r} (row {int(rows[0])}); give ISO times like "
            "2024-03-04 09:30:00-05:00, or the format with --time-format '%d/%m/%Y %H:%M'"
        )
    if month_first is not None and month_first.startswith("%Y"):
        return month_first, None
    candidates = [f for f in dict.fromkeys((month_first, day_first)) if f is not None]
    if len(candidates) == 1:
        return candidates[0], None
    fits = [f for f in candidates if _with_format(text, f).notna().all()]
    if len(fits) == 1:
        return fits[0], f"{source}: time format {fits[0]!r} inferred (the other order fails)"
    if not fits:
        return candidates[0], None  # neither fits every row: the mismatching rows are reported
    raise DataError(
        f"{source}: ambiguous dates: {first!r} (row {int(rows[0])}) reads as "
        f"{pd.to_datetime(first, format=candidates[0]):%Y-%m-%d} with {candidates[0]!r} and "
        f"{pd.to_datetime(first, format=candidates[1]):%Y-%m-%d} with {candidates[1]!r}, and "
        "every row fits both. Say which with --time-format (e.g. --time-format "
        f"'{candidates[1]}')"
    )


def parse_times(
    raw: pd.Series,
    rows: np.ndarray,
    *,
    tz: str | None,
    source: str,
    time_format: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> ParsedTimes:
    """Parse a time column by the module's rules into New York timestamps.

    Parameters
    ----------
    raw
        The column as read (text from CSV, typed from Parquet).
    rows
        The 1-based file row of each value, for messages.
    tz
        Time zone of naive values (an IANA name).
    time_format
        Explicit ``strftime`` format of text values.
    start, end
        Keep only rows of these New York days (inclusive; ``data import --start/--end``).
        Rows outside are left out before the calendar check, so a file that starts before
        the calendar (a Cboe history from 1990) imports its window.

    Raises
    ------
    DataError
        Unparseable, ambiguous, mismatched or out-of-calendar values, a naive column without
        ``tz``, or an unknown ``tz``.
    """
    if tz is not None:
        check_timezone(tz)
    notes: list[str] = []
    missing = raw.isna().to_numpy()
    present = raw[~missing]
    if present.empty:
        raise DataError(f"{source}: every timestamp is empty; the time column has no values")
    if pd.api.types.is_datetime64_any_dtype(raw):
        ts = raw
    elif pd.api.types.is_numeric_dtype(raw) or (
        time_format is None and _epoch_text(raw, missing, rows, source)
    ):
        ts, note = _epoch(pd.to_numeric(raw, errors="coerce"), rows, source)
        notes.append(note)
    else:
        text = raw.astype("string").str.strip()
        fmt = time_format
        if fmt is None:
            fmt, inferred = _infer_format(text[~missing], rows[~missing], source)
            if inferred:
                notes.append(inferred)
        try:
            ts = _with_format(text, fmt)
        except ValueError as exc:
            raise DataError(f"{source}: time format {fmt!r} is not usable: {exc}") from None
        bad = ts.isna().to_numpy() & ~missing
        if bad.any():
            raise DataError(
                f"{source}: {int(bad.sum())} time value(s) do not match the format {fmt!r} "
                f"({_first_rows(bad, rows, raw)}); make every row use one format, or pass "
                "--time-format"
            )
    ts = _to_new_york(ts, tz, raw, source)
    kept = _window(ts, missing, start=start, end=end, source=source, notes=notes)
    considered = ~missing if kept is None else ~missing & kept
    out_of_range = considered & ((ts < _LO) | (ts >= _HI)).fillna(False).to_numpy()
    if out_of_range.any():
        raise DataError(
            f"{source}: {int(out_of_range.sum())} timestamp(s) outside the trading calendar "
            f"{CALENDAR_FIRST} .. {CALENDAR_LAST} ({_first_rows(out_of_range, rows, raw)}); check "
            "the time column (epoch units, year) or drop those rows"
        )
    return ParsedTimes(ts.reset_index(drop=True), missing, notes, kept)


def _window(
    ts: pd.Series,
    missing: np.ndarray,
    *,
    start: date | None,
    end: date | None,
    source: str,
    notes: list[str],
) -> np.ndarray | None:
    """Rows inside ``[start, end]`` (New York days), or rows without a time; ``None`` when
    no window is asked for."""
    if start is None and end is None:
        return None
    if start is not None and end is not None and end < start:
        raise DataError(f"--end {end} is before --start {start}")
    inside = ~missing
    if start is not None:
        inside &= (ts >= pd.Timestamp(start, tz=TIMEZONE)).fillna(False).to_numpy()
    if end is not None:
        hi = pd.Timestamp(end, tz=TIMEZONE) + pd.Timedelta(days=1)
        inside &= (ts < hi).fillna(False).to_numpy()
    if not inside.any():
        valid = ts[~missing]
        raise DataError(
            f"{source}: no row between {start or 'the start'} and {end or 'the end'}; the "
            f"file holds {valid.min().date()} .. {valid.max().date()}. Choose --start/--end "
            "inside that range"
        )
    left = int((~inside & ~missing).sum())
    if left:
        notes.append(f"{source}: left out {left} row(s) outside --start/--end")
    return inside | missing


def _to_new_york(ts: pd.Series, tz: str | None, raw: pd.Series, source: str) -> pd.Series:
    if getattr(ts.dt, "tz", None) is None:
        valid = ts.dropna()
        if tz is None and len(valid) and (valid == valid.dt.normalize()).all():
            # dates without a time (daily rows) are trading dates, not instants
            return ts.dt.tz_localize(TIMEZONE)
        if tz is None:
            example = raw.dropna().iloc[0]
            raise DataError(
                f"{source}: timestamps have no timezone (e.g. {example!r}); pass the file's "
                "timezone with --tz (America/New_York, UTC, ...)"
            )
        try:
            ts = ts.dt.tz_localize(tz, ambiguous="raise", nonexistent="raise")
        except ValueError as exc:  # pandas' AmbiguousTimeError / NonExistentTimeError
            raise DataError(
                f"{source}: {exc} does not exist or is ambiguous in {tz} (a daylight-saving "
                "change); give times with their UTC offset, or in UTC with --tz UTC"
            ) from None
    elif tz is not None:
        logger.info("%s: timestamps carry a timezone; --tz %s not needed, converting", source, tz)
    return ts.dt.tz_convert(TIMEZONE).astype(f"datetime64[ns, {TIMEZONE}]")
