"""Import bar files (CSV or Parquet) into canonical, validated bars.

Steps, in order: read; rename columns (``--map time=timestamp,Close=close`` plus obvious
case-insensitive names); parse timestamps and bring them to America/New_York (naive input
needs ``tz``; tz-aware or UTC-offset input is converted); shift bar-end labels to bar
starts (``label="end"`` subtracts one minute); split long multi-symbol files on their
``symbol`` column; drop extended-hours bars (unless ``keep_extended``); apply the repairs
the caller asked for; validate. Bad data is refused with a report that names the file, row
number (1-based, after the header), field, problem, value and fix.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from zerodte.errors import DataError
from zerodte.market.calendar import TradingCalendar
from zerodte.market.schema import BAR_COLUMNS, PRICE_COLUMNS, TIMEZONE
from zerodte.market.validation import (
    ROW_COLUMN,
    Problem,
    ValidationReport,
    in_session,
    parse_repairs,
    repair_bars,
    validate_bars,
)

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


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file as it is."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix in (".csv", ".txt", ".gz"):
        return pd.read_csv(path)
    raise DataError(f"{path}: unknown file type {suffix!r}; use .csv or .parquet")


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


def _timestamps(raw: pd.Series, tz: str | None, source: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(raw):
        ts = raw
    else:
        try:
            ts = pd.to_datetime(raw, utc=False, format="mixed")
        except (ValueError, TypeError) as exc:
            raise DataError(
                f"{source}: cannot parse the timestamp column ({exc}); first values "
                f"{raw.head(3).tolist()}; give ISO times like 2024-01-02 09:30:00-05:00"
            ) from exc
        if ts.dtype == object:  # mixed offsets (DST) parse as objects; go through UTC
            ts = pd.to_datetime(raw, utc=True, format="mixed")
    if getattr(ts.dt, "tz", None) is None:
        if tz is None:
            raise DataError(
                f"{source}: timestamps have no timezone (e.g. {raw.iloc[0]!r}); pass the "
                "file's timezone with --tz (America/New_York, UTC, ...)"
            )
        ts = ts.dt.tz_localize(tz, ambiguous="raise", nonexistent="raise")
    elif tz is not None:
        logger.info("%s: timestamps carry a timezone; --tz %s not needed, converting", source, tz)
    return ts.dt.tz_convert(TIMEZONE).astype(f"datetime64[ns, {TIMEZONE}]")


def _numeric(frame: pd.DataFrame, source: str, report: ValidationReport) -> pd.DataFrame:
    """Convert price/volume columns to float; non-numeric cells are reported, not hidden."""
    for col in (*PRICE_COLUMNS, "volume"):
        if col not in frame.columns:
            continue
        raw = frame[col]
        num = pd.to_numeric(raw, errors="coerce").astype("float64")
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
) -> ImportResult:
    """Read, normalise, repair (only as asked) and validate a bar file.

    Raises :class:`DataError` with the full report when problems remain.

    Parameters
    ----------
    symbol
        Symbol of a single-symbol file; for a long file with a ``symbol`` column, keeps only
        this symbol (``None`` keeps all).
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
    """
    path = Path(path)
    source = path.name
    cal = calendar or TradingCalendar()
    wanted = parse_repairs(repairs)
    raw = read_table(path)
    raw = raw.reset_index(drop=True)
    raw[ROW_COLUMN] = np.arange(1, len(raw) + 1)
    frame = _rename(raw, parse_mapping(mapping), source)
    report = ValidationReport()
    if "timestamp" not in frame.columns:
        raise DataError(
            f"{source}: no timestamp column among {list(raw.columns)}; "
            "map it with --map <column>=timestamp"
        )
    frame["timestamp"] = _timestamps(frame["timestamp"], tz, source)
    if label == "end":
        frame["timestamp"] = frame["timestamp"] - pd.Timedelta(minutes=1)
    elif label != "start":
        raise DataError(f"label must be 'start' or 'end', got {label!r}")
    frame = _numeric(frame, source, report)

    if "symbol" in frame.columns:
        symbols = frame["symbol"].astype(str).str.upper()
        names = sorted(symbols.unique())
        if symbol is not None:
            if symbol.upper() not in names:
                raise DataError(f"{source}: symbol {symbol} not in the file (has {names})")
            names = [symbol.upper()]
        groups = {s: frame.loc[symbols == s].reset_index(drop=True) for s in names}
    else:
        if symbol is None:
            raise DataError(f"{source}: no symbol column; name the symbol with --symbol SPY")
        groups = {symbol.upper(): frame}

    bars: dict[str, pd.DataFrame] = {}
    dropped: dict[str, int] = {}
    for sym, part in groups.items():
        if not keep_extended and len(part):
            inside = in_session(part["timestamp"], cal)
            # on-minute bars outside the session are extended hours; off-minute stamps are
            # kept so validation can name them
            on_minute = (part["timestamp"].dt.second == 0).to_numpy()
            drop = ~inside & on_minute
            if drop.any():
                dropped[sym] = int(drop.sum())
                report.notes.append(
                    f"{sym}: dropped {dropped[sym]} extended-hours bar(s) (--keep-extended keeps)"
                )
                part = part.loc[~drop].reset_index(drop=True)
        if wanted:
            part, notes = repair_bars(part, sym, wanted, calendar=cal)
            report.notes.extend(notes)
        report.extend(
            # minutes filled on request carry row -1 and are exempt from the volume check
            validate_bars(part, sym, source, calendar=cal)
        )
        bars[sym] = part.loc[:, list(BAR_COLUMNS)].reset_index(drop=True)
    report.raise_if_bad(f"importing {path}")
    return ImportResult(bars=bars, report=report, repairs=wanted, dropped_extended=dropped)
