"""Sentiment series on disk: ``<data_dir>/sentiment/<series>/<SYMBOL>.parquet``.

One Parquet file per series and symbol (``fear-greed`` is market-wide: symbol ``MARKET``),
written atomically (temp file, fsync, rename) under a writers' lock. The file's metadata
records its sources (``zerodte.sources``) and the days the stored rows cover
(``zerodte.coverage``: inclusive ``[first, last]`` ranges of the fetches), so a join can
tell "no article that day" from "never fetched".

A write merges with what is stored. A stored row is never rewritten: a second row with the
same key (a reading's time, an article id, a snapshot time) keeps the first one, because
the first is what was known then; a later revision of a past reading would otherwise leak
into the past.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock

from zerodte.errors import DataError
from zerodte.io import atomic_write
from zerodte.market.sentiment.series import empty, normalize, series_of
from zerodte.market.symbols import check_symbol

logger = logging.getLogger(__name__)

MARKET = "MARKET"
"""The symbol of market-wide series (Fear & Greed)."""


@dataclass(frozen=True)
class StoredSeries:
    """Rows of one series and symbol with their sources and covered days."""

    rows: pd.DataFrame
    sources: tuple[str, ...]
    coverage: tuple[tuple[date, date], ...]

    def covers(self, first: date, last: date) -> bool:
        """Whether every day in ``[first, last]`` lies in a fetched range."""
        day = first
        for lo, hi in self.coverage:
            if lo <= day <= hi:
                day = hi + timedelta(days=1)
            if day > last:
                return True
        return day > last


def merge_ranges(ranges: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """Sorted, merged inclusive day ranges (adjacent ranges join)."""
    out: list[tuple[date, date]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + timedelta(days=1):
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


class SentimentStore:
    """The sentiment series of one data directory (module docstring)."""

    def __init__(self, data_dir: Path | str) -> None:
        self.root = Path(data_dir) / "sentiment"

    def path(self, series: str, symbol: str) -> Path:
        """The file of ``series`` for ``symbol`` (both checked before a path is built)."""
        s = series_of(series)
        return self.root / s.name / f"{check_symbol(symbol, 'sentiment symbol')}.parquet"

    def stored(self) -> list[tuple[str, str]]:
        """``(series, symbol)`` pairs with a file."""
        if not self.root.is_dir():
            return []
        return sorted((p.parent.name, p.stem) for p in self.root.glob("*/*.parquet") if p.is_file())

    def load(self, series: str, symbol: str) -> StoredSeries | None:
        """The stored rows of ``series``/``symbol``, or ``None`` when nothing is stored."""
        path = self.path(series, symbol)
        if not path.exists():
            return None
        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(
                f"{path}: unreadable sentiment file ({exc}); delete it and fetch again"
            ) from exc
        meta = table.schema.metadata or {}
        sources = tuple(json.loads(meta.get(b"zerodte.sources", b"[]")))
        coverage = tuple(
            (date.fromisoformat(a), date.fromisoformat(b))
            for a, b in json.loads(meta.get(b"zerodte.coverage", b"[]"))
        )
        rows = normalize(series, table.to_pandas(), str(path))
        return StoredSeries(rows, sources, coverage)

    def write(
        self, series: str, symbol: str, rows: pd.DataFrame, *, first: date, last: date
    ) -> int:
        """Merge ``rows`` (fetched for the days ``[first, last]``) into the store.

        Returns the number of new rows. Rows are checked first (a bad one raises and the
        store is unchanged).
        """
        if last < first:
            raise DataError(f"sentiment write: last day {last} is before the first {first}")
        s = series_of(series)
        path = self.path(series, symbol)
        new = normalize(series, rows, f"{series} {symbol}")
        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.root / ".lock")):
            old = self.load(series, symbol)
            base = old.rows if old is not None else empty(series)
            merged = pd.concat([base, new], ignore_index=True) if len(base) else new
            merged = merged.drop_duplicates(s.key, keep="first")
            merged = normalize(series, merged, str(path))
            added = len(merged) - len(base)
            sources = sorted({*(old.sources if old else ()), *new["source"].unique()})
            coverage = merge_ranges([*(old.coverage if old else ()), (first, last)])
            table = pa.Table.from_pandas(merged, preserve_index=False)
            meta = {
                **(table.schema.metadata or {}),
                b"zerodte.series": series.encode(),
                b"zerodte.sources": json.dumps(sources).encode(),
                b"zerodte.coverage": json.dumps(
                    [[a.isoformat(), b.isoformat()] for a, b in coverage]
                ).encode(),
            }
            table = table.replace_schema_metadata(meta)
            atomic_write(path, lambda p: pq.write_table(table, p, compression="zstd"))
        logger.info("stored %d new %s row(s) for %s in %s", added, series, symbol, path)
        return added

    def describe(self) -> dict[str, dict[str, object]]:
        """Per stored ``series/SYMBOL``: rows, sources, first and last known time, coverage."""
        out: dict[str, dict[str, object]] = {}
        for series, symbol in self.stored():
            got = self.load(series, symbol)
            if got is None:
                continue
            known = got.rows["known_at"]
            out[f"{series}/{symbol}"] = {
                "rows": len(got.rows),
                "sources": list(got.sources),
                "first": known.min().isoformat() if len(known) else None,
                "last": known.max().isoformat() if len(known) else None,
                "coverage": [[a.isoformat(), b.isoformat()] for a, b in got.coverage],
            }
        return out
