"""Bar validation that lists every problem, and the few explicit, safe repairs.

A :class:`ValidationReport` holds one :class:`Problem` per bad cell, row or gap: where it is
(file and 1-based data row, i.e. the row number after the header), which field, what is
wrong, the value seen and how to fix it. Nothing here changes data silently: repairs are
named, opt-in (``--repair drop-duplicates,sort``), and each one reports what it did.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from zerodte.errors import DataError
from zerodte.market.calendar import TradingCalendar, distinct_days, local_days, sorted_member
from zerodte.market.plausibility import (
    MAX_BAR_JUMP,
    MAX_PRICE,
    MAX_VOLUME,
    check_float32,
    check_jumps,
    check_swap,
    check_values,
    spike_mask,
)
from zerodte.market.problems import ROW_COLUMN, Problem, ValidationReport, rows_of
from zerodte.market.schema import PRICE_COLUMNS, TIMEZONE

__all__ = [
    "NO_VOLUME_SYMBOLS",
    "REPAIRS",
    "ROW_COLUMN",
    "Problem",
    "ValidationReport",
    "in_session",
    "parse_repairs",
    "repair_bars",
    "validate_bars",
]

REPAIRS: tuple[str, ...] = (
    "drop-nan",
    "drop-duplicates",
    "sort",
    "drop-outside-session",
    "drop-bad-prices",
    "drop-spikes",
    "fill-missing",
)
"""Repairs a user may ask for. ``fill-missing`` forward-fills the previous close into
missing minutes (volume 0) and is the only one that adds rows; ``drop-spikes`` drops
isolated single-bar spikes (:func:`zerodte.market.plausibility.spike_mask`)."""

NO_VOLUME_SYMBOLS = frozenset({"VIX", "SPX"})
"""Indices: no traded volume (SPX is the underlying of SPX/SPXW options)."""


def in_session(ts: pd.Series, calendar: TradingCalendar) -> np.ndarray:
    """Boolean mask: which tz-aware timestamps are regular-session bar starts."""
    valid = ts.dropna()
    if len(valid) == 0:
        return np.zeros(len(ts), dtype=bool)
    days = distinct_days(valid)
    expected = calendar.minutes(calendar.sessions(days[0], days[-1]))
    ns = ts.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return sorted_member(ns, expected.asi8)


def validate_bars(
    frame: pd.DataFrame,
    symbol: str,
    source: str,
    *,
    calendar: TradingCalendar | None = None,
    check_missing: bool = True,
    zero_volume: Literal["problem", "note"] = "problem",
    interval: str = "1min",
) -> ValidationReport:
    """Check a bar frame and list every problem.

    Parameters
    ----------
    frame
        Bars with ``timestamp`` and ``open high low close volume`` (an optional ``_row``
        column gives the file row numbers to report).
    symbol
        Symbol the bars belong to (VIX may have zero volume).
    source
        File name or source label used in each problem's location.
    check_missing
        Report minutes missing inside each session that has data.
    zero_volume
        ``"note"`` reports zero-volume minutes of a traded symbol as a note instead of a
        problem (minutes forward-filled on request carry volume 0).
    interval
        ``1min``, ``5min`` or ``1day`` (:mod:`zerodte.market.intervals`): bars must start
        on that interval's grid of the regular session (a daily bar at the session open),
        and missing bars are counted on that grid.
    """
    from zerodte.market.intervals import check_interval, expected_stamps

    step = check_interval(interval, "interval")
    cal = calendar or TradingCalendar()
    report = ValidationReport()
    add = report.problems.append
    if "timestamp" not in frame.columns:
        add(
            Problem(
                source,
                None,
                "timestamp",
                "missing column",
                str(list(frame.columns)),
                "map the time column with --map <name>=timestamp",
            )
        )
        return report
    missing_cols = [c for c in (*PRICE_COLUMNS, "volume") if c not in frame.columns]
    for col in missing_cols:
        add(
            Problem(
                source,
                None,
                col,
                "missing column",
                str(list(frame.columns)),
                f"map the {col} column with --map <name>={col}",
            )
        )
    if missing_cols:
        return report
    ts = frame["timestamp"]
    tz = getattr(ts.dt, "tz", None) if pd.api.types.is_datetime64_any_dtype(ts) else None
    if not pd.api.types.is_datetime64_any_dtype(ts):
        add(
            Problem(
                source,
                None,
                "timestamp",
                "not a datetime column",
                str(ts.dtype),
                "parse timestamps (files: they are parsed on import)",
            )
        )
        return report
    if tz is None:
        add(
            Problem(
                source,
                None,
                "timestamp",
                "missing timezone",
                "naive timestamps",
                "give the file's timezone with --tz (e.g. America/New_York or UTC)",
            )
        )
        return report
    if str(tz) != TIMEZONE:
        add(
            Problem(
                source,
                None,
                "timestamp",
                "wrong timezone",
                str(tz),
                f"convert to {TIMEZONE} (import does this for tz-aware input)",
            )
        )
        ts = ts.dt.tz_convert(TIMEZONE)
    nat = ts.isna().to_numpy()
    if nat.any():
        for row in rows_of(frame, np.flatnonzero(nat)):
            add(
                Problem(
                    source,
                    row,
                    "timestamp",
                    "missing timestamp",
                    "empty",
                    "fix the file or drop the row with --repair drop-nan",
                )
            )
        frame = frame.loc[~nat].reset_index(drop=True)
        ts = ts.loc[~nat].reset_index(drop=True)

    n = len(frame)
    for col in (*PRICE_COLUMNS, "volume"):
        values = frame[col].to_numpy(dtype=np.float64)
        for pos in np.flatnonzero(np.isnan(values)):
            row = rows_of(frame, np.array([pos]))[0]
            add(
                Problem(
                    source,
                    row,
                    col,
                    "missing value (NaN)",
                    "NaN",
                    "fix the file or drop the row with --repair drop-nan",
                )
            )
    prices = {c: frame[c].to_numpy(dtype=np.float64) for c in PRICE_COLUMNS}
    with np.errstate(invalid="ignore"):
        for col in PRICE_COLUMNS:
            bad = np.flatnonzero(prices[col] <= 0)
            for pos, row in zip(bad, rows_of(frame, bad), strict=True):
                add(
                    Problem(
                        source,
                        row,
                        col,
                        "non-positive price",
                        f"{prices[col][pos]!r}",
                        "fix the file or drop the row with --repair drop-bad-prices",
                    )
                )
        hi, lo = prices["high"], prices["low"]
        bad = np.flatnonzero(hi < lo)
        for pos, row in zip(bad, rows_of(frame, bad), strict=True):
            add(
                Problem(
                    source,
                    row,
                    "high",
                    "high below low",
                    f"high={hi[pos]} low={lo[pos]}",
                    "check the column mapping or --repair drop-bad-prices",
                )
            )
        for col in ("open", "close"):
            v = prices[col]
            bad = np.flatnonzero(((v > hi) | (v < lo)) & (hi >= lo))
            for pos, row in zip(bad, rows_of(frame, bad), strict=True):
                add(
                    Problem(
                        source,
                        row,
                        col,
                        f"{col} outside [low, high]",
                        f"{col}={v[pos]} low={lo[pos]} high={hi[pos]}",
                        "check the column mapping or --repair drop-bad-prices",
                    )
                )
        vol = frame["volume"].to_numpy(dtype=np.float64)
        bad = np.flatnonzero(vol < 0)
        for pos, row in zip(bad, rows_of(frame, bad), strict=True):
            add(
                Problem(
                    source,
                    row,
                    "volume",
                    "negative volume",
                    f"{vol[pos]!r}",
                    "fix the file or drop the row with --repair drop-bad-prices",
                )
            )
        if symbol.upper() not in NO_VOLUME_SYMBOLS:
            bad = np.flatnonzero(vol == 0)
            if ROW_COLUMN in frame.columns:  # minutes filled on request are not file rows
                bad = bad[frame[ROW_COLUMN].to_numpy()[bad] >= 0]
            if zero_volume == "note" and len(bad):
                report.notes.append(f"{symbol}: {len(bad)} zero-volume minute(s)")
                bad = bad[:0]
            for row in rows_of(frame, bad):
                add(
                    Problem(
                        source,
                        row,
                        "volume",
                        "zero volume",
                        "0",
                        "a traded symbol has volume every minute; check the file or "
                        "--repair drop-bad-prices",
                    )
                )

    report.problems.extend(check_values(frame, source))
    if n == 0:
        report.notes.append(f"{symbol}: no rows")
        return report
    ns = ts.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    order_bad = np.flatnonzero(np.diff(ns) < 0) + 1
    for pos, row in zip(order_bad, rows_of(frame, order_bad), strict=True):
        add(
            Problem(
                source,
                row,
                "timestamp",
                "out of order",
                str(ts.iloc[pos]),
                "sort by time with --repair sort",
            )
        )
    dup = np.flatnonzero(ts.duplicated(keep="first").to_numpy())
    for pos, row in zip(dup, rows_of(frame, dup), strict=True):
        add(
            Problem(
                source,
                row,
                "timestamp",
                "duplicate timestamp",
                str(ts.iloc[pos]),
                "keep the first with --repair drop-duplicates",
            )
        )
    unaligned = np.flatnonzero(ns % 60_000_000_000 != 0)
    for pos, row in zip(unaligned, rows_of(frame, unaligned), strict=True):
        add(
            Problem(
                source,
                row,
                "timestamp",
                "not on a whole minute",
                str(ts.iloc[pos]),
                "use 1-minute bars stamped at the minute",
            )
        )

    days = distinct_days(ts)
    session_days = cal.sessions(days[0], days[-1])
    expected = expected_stamps(cal, session_days, step)
    inside = sorted_member(ns, expected.asi8)  # int64 nanoseconds: fast and tz-safe
    outside = np.flatnonzero(~inside)
    day64 = local_days(ts)  # datetime64[D]: no Python date per row
    bar_days = day64
    not_session = ~sorted_member(day64, np.array(session_days, dtype="datetime64[D]"))
    for pos, row in zip(outside, rows_of(frame, outside), strict=True):
        if not_session[pos]:
            add(
                Problem(
                    source,
                    row,
                    "timestamp",
                    "not a trading day",
                    f"{ts.iloc[pos]} ({ts.iloc[pos]:%A}; weekend or NYSE holiday)",
                    "check the dates (day/month order, timezone) or drop with --repair "
                    "drop-outside-session",
                )
            )
            continue
        if step != "1min":
            add(
                Problem(
                    source,
                    row,
                    "timestamp",
                    f"not a {step} bar start of the regular session",
                    str(ts.iloc[pos]),
                    "a 5min bar starts at 09:30, 09:35, ...; a daily bar is stamped at the "
                    "session open (import a date column with --interval 1day)",
                )
            )
            continue
        add(
            Problem(
                source,
                row,
                "timestamp",
                "outside the regular session",
                str(ts.iloc[pos]),
                "drop with --repair drop-outside-session (import drops extended hours "
                "unless --keep-extended)",
            )
        )
    if check_missing:
        have = np.unique(day64[inside])
        expected_days = (
            pd.DatetimeIndex(expected).tz_localize(None).to_numpy().astype("datetime64[D]")
        )
        wanted = expected[sorted_member(expected_days, have)]
        missing = wanted[~sorted_member(wanted.asi8, np.sort(ns))]
        gap = 60_000_000_000 * (5 if step == "5min" else 1)
        unit = "min" if step == "1min" else "bars"
        runs = list(_runs(missing, gap)) if step != "1day" else []
        if runs and symbol.upper() in NO_VOLUME_SYMBOLS:
            # an index value is joined as of the last one known: a gap is no invented bar
            report.notes.append(
                f"{symbol}: {len(missing)} {step} bar(s) missing in {len(runs)} gap(s); each "
                "minute uses the last value known (as-of join), nothing is filled"
            )
            runs = []
        for start, end, count in runs:
            add(
                Problem(
                    source,
                    None,
                    "timestamp",
                    "missing minutes" if step == "1min" else f"missing {step} bars",
                    f"{start} .. {end.strftime('%H:%M')} ({count} {unit})",
                    "get the missing bars or forward-fill with --repair fill-missing"
                    if step == "1min"
                    else "get the missing bars (slower series are never filled)",
                )
            )
    if check_missing and step in ("1min", "1day"):
        _missing_days(ts, cal, source, step, report)
    report.problems.extend(check_float32(frame, source))
    if not len(order_bad) and not len(dup):  # neighbours are only meaningful in time order
        report.problems.extend(check_jumps(frame, source, bar_days))
        report.problems.extend(check_swap(frame, source, bar_days))
    return report


MAX_HOLE_SESSIONS = 5
"""A run of fewer missing sessions than this inside the data is a hole (a problem); a longer
run separates windows of data (a note), as in vendor samples of several months."""


def _missing_days(
    ts: pd.Series, cal: TradingCalendar, source: str, step: str, report: ValidationReport
) -> None:
    """Whole trading days (by the exchange calendar) absent between the first and last day."""
    days = distinct_days(ts)
    have = set(days)
    sessions = cal.sessions(days[0], days[-1])
    holes: list[date] = []
    run: list[date] = []
    windows = 1
    for d in [*sessions, None]:
        if d is not None and d not in have:
            run.append(d)
            continue
        if 0 < len(run) < MAX_HOLE_SESSIONS:
            holes.extend(run)
        elif run:
            windows += 1
        run = []
    if windows > 1:
        report.notes.append(f"{source}: {windows} separate windows of data")
    if not holes:
        return
    shown = ", ".join(str(d) for d in holes[:10]) + (" ..." if len(holes) > 10 else "")
    report.problems.append(
        Problem(
            source,
            None,
            "timestamp",
            "missing trading days",
            f"{len(holes)} NYSE session(s) between {days[0]} and {days[-1]} have no {step} "
            f"bar: {shown}",
            "get the bars of those days (a gap of 5 or more sessions is taken as separate "
            "windows of data, not a hole)",
        )
    )


def _runs(
    missing: pd.DatetimeIndex, gap: int = 60_000_000_000
) -> Iterable[tuple[pd.Timestamp, pd.Timestamp, int]]:
    """Contiguous runs (stamps ``gap`` ns apart) of ``missing`` as (first, last, count)."""
    if len(missing) == 0:
        return []
    ns = missing.asi8
    breaks = np.flatnonzero(np.diff(ns) != gap) + 1
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks, [len(ns)]]) - 1
    return [(missing[s], missing[e], int(e - s + 1)) for s, e in zip(starts, ends, strict=True)]


def parse_repairs(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """Parse ``"drop-duplicates,sort"`` into known repair names or raise :class:`DataError`."""
    if text is None:
        return ()
    items = text.split(",") if isinstance(text, str) else list(text)
    names = tuple(i.strip() for i in items if i.strip())
    unknown = [n for n in names if n not in REPAIRS]
    if unknown:
        raise DataError(f"unknown repair(s) {unknown}; choose from {', '.join(REPAIRS)}")
    return names


def repair_bars(
    frame: pd.DataFrame,
    symbol: str,
    repairs: Iterable[str],
    *,
    calendar: TradingCalendar | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Apply the named repairs in a fixed, safe order; return the frame and what was done.

    Order: drop-nan, drop-bad-prices, sort, drop-duplicates (keeps the first row in time
    order), drop-outside-session, drop-spikes, fill-missing. Needs tz-aware New York
    timestamps.
    """
    wanted = set(parse_repairs(list(repairs)))
    cal = calendar or TradingCalendar()
    out = frame.copy()
    notes: list[str] = []
    cols = [*PRICE_COLUMNS, "volume"]

    def drop(mask: np.ndarray, what: str) -> None:
        nonlocal out
        if mask.any():
            rows = rows_of(out, np.flatnonzero(mask))
            shown = ", ".join(map(str, rows[:20])) + (" ..." if len(rows) > 20 else "")
            notes.append(f"{symbol}: dropped {int(mask.sum())} row(s) with {what} (rows {shown})")
            out = out.loc[~mask].reset_index(drop=True)

    if "drop-nan" in wanted:
        drop(out[[*cols, "timestamp"]].isna().any(axis=1).to_numpy(), "NaN values or times")
    if "drop-bad-prices" in wanted:
        p = {c: out[c].to_numpy(dtype=np.float64) for c in cols}
        bad = (
            (np.minimum.reduce([p[c] for c in PRICE_COLUMNS]) <= 0)
            | (p["high"] < p["low"])
            | (p["open"] > p["high"])
            | (p["open"] < p["low"])
            | (p["close"] > p["high"])
            | (p["close"] < p["low"])
            | (p["volume"] < 0)
            | ~np.isfinite(np.column_stack([p[c] for c in cols])).all(axis=1)
            | (np.maximum.reduce([np.abs(p[c]) for c in PRICE_COLUMNS]) > MAX_PRICE)
            | (p["volume"] > MAX_VOLUME)
        )
        if symbol.upper() not in NO_VOLUME_SYMBOLS:
            bad |= p["volume"] == 0
        drop(bad, "invalid prices or volume")
    if "sort" in wanted:
        ts = out["timestamp"]
        if not ts.is_monotonic_increasing:
            notes.append(f"{symbol}: sorted rows by timestamp")
            out = out.sort_values("timestamp", kind="stable").reset_index(drop=True)
    if "drop-duplicates" in wanted:
        drop(out["timestamp"].duplicated(keep="first").to_numpy(), "duplicate timestamps")
    if "drop-outside-session" in wanted and len(out):
        drop(~in_session(out["timestamp"], cal), "times outside the regular session")
    if "drop-spikes" in wanted and len(out):
        days = out["timestamp"].dt.tz_convert(TIMEZONE).dt.date.to_numpy()
        drop(spike_mask(out, days), f"single-bar spikes above x{MAX_BAR_JUMP:g}")
    if "fill-missing" in wanted and len(out):
        out = _fill_missing(out, symbol, cal, notes)
    return out, notes


def _fill_missing(
    frame: pd.DataFrame, symbol: str, cal: TradingCalendar, notes: list[str]
) -> pd.DataFrame:
    """Insert missing session minutes as flat bars at the previous close (volume 0).

    The previous close is the last one known at the minute (an opening gap takes the prior
    session's close); nothing is copied backwards from a later bar."""
    days = distinct_days(frame["timestamp"])
    expected = cal.minutes([d for d in days if cal.is_session(d)])
    indexed = frame.set_index("timestamp")
    if indexed.index.has_duplicates:
        raise DataError(f"{symbol}: fill-missing needs unique timestamps; add drop-duplicates")
    full = indexed.reindex(indexed.index.union(expected))
    added = full["close"].isna() & ~full.index.isin(indexed.index)
    if not added.any():
        return frame
    # the last close known at each minute, from this session or an earlier one in the file;
    # never a later bar's value (an opening gap with no earlier bar stays missing)
    fill = full["close"].ffill()
    unfilled = added & fill.isna()
    if unfilled.any():
        notes.append(
            f"{symbol}: {int(unfilled.sum())} missing minute(s) before the first bar of the "
            "file left missing (no earlier close to carry forward)"
        )
        keep = ~unfilled.to_numpy()
        full, added, fill = full.loc[keep], added.loc[keep], fill.loc[keep]
    for col in PRICE_COLUMNS:
        full.loc[added, col] = fill[added]
    full.loc[added, "volume"] = 0.0
    if ROW_COLUMN in full.columns:
        full.loc[added, ROW_COLUMN] = -1
    notes.append(
        f"{symbol}: forward-filled {int(added.sum())} missing minute(s) with the previous "
        "close (volume 0)"
    )
    return full.reset_index().rename(columns={"index": "timestamp"})
