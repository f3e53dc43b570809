"""The Parquet market store: one layout and one schema for every source.

Layout::

    <data_dir>/bars/symbol=SPY/year=2024.parquet

One file per symbol and calendar year (about 98,000 rows for a year of minutes), so loading
a year reads three files. Files hold the canonical bar schema
(:data:`zerodte.market.schema.BAR_COLUMNS`) sorted by time; the Parquet key-value metadata
records the source. Every write is validated first and written atomically
(:func:`zerodte.io.atomic_write`), so stored data is never replaced by bad data and a crash
never leaves half a file.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from zerodte.errors import DataError
from zerodte.io import atomic_write
from zerodte.market.calendar import TradingCalendar
from zerodte.market.schema import BAR_COLUMNS, PRICE_COLUMNS, TIMEZONE, empty_bars, to_canonical
from zerodte.market.validation import Problem, ValidationReport, validate_bars

logger = logging.getLogger(__name__)

_SOURCE_KEY = b"zerodte.source"


@dataclass(frozen=True)
class SymbolInfo:
    """What the store holds for one symbol."""

    symbol: str
    first_day: date
    last_day: date
    trading_days: int
    rows: int
    sources: tuple[str, ...]


@dataclass(frozen=True)
class StoreInfo:
    """Summary of the store: per-symbol coverage and the hash of all stored bars."""

    data_dir: Path
    symbols: dict[str, SymbolInfo] = field(default_factory=dict)
    data_hash: str = ""

    @property
    def empty(self) -> bool:
        """True when nothing is stored."""
        return not self.symbols

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "data_dir": str(self.data_dir),
            "data_hash": self.data_hash,
            "symbols": {
                s: {
                    "first_day": i.first_day.isoformat(),
                    "last_day": i.last_day.isoformat(),
                    "trading_days": i.trading_days,
                    "rows": i.rows,
                    "sources": list(i.sources),
                }
                for s, i in self.symbols.items()
            },
        }


def data_hash_of(bars: Mapping[str, pd.DataFrame]) -> str:
    """SHA-256 over the canonical content of ``bars`` (symbols in sorted order).

    Hashes the symbol name, the UTC nanosecond timestamps (int64, little endian) and the
    float64 values of ``open high low close volume``; independent of file layout, Parquet
    version and metadata, so a generated market and the same market loaded from the store
    hash the same.
    """
    digest = hashlib.sha256()
    for sym in sorted(bars):
        frame = bars[sym]
        digest.update(sym.encode() + b"\0")
        ts = frame["timestamp"].to_numpy(dtype="datetime64[ns]").astype("<i8")
        digest.update(ts.tobytes())
        for col in (*PRICE_COLUMNS, "volume"):
            digest.update(frame[col].to_numpy(dtype="<f8").tobytes())
    return digest.hexdigest()


class ParquetStore:
    """Canonical minute bars under ``data_dir`` (see the module docstring for the layout)."""

    def __init__(self, data_dir: Path | str, calendar: TradingCalendar | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / "bars"
        self._cal = calendar

    @property
    def calendar(self) -> TradingCalendar:
        """The trading calendar (created on first use: it takes a moment to build)."""
        if self._cal is None:
            self._cal = TradingCalendar()
        return self._cal

    def _path(self, symbol: str, year: int) -> Path:
        return self.root / f"symbol={symbol}" / f"year={year}.parquet"

    def symbols(self) -> list[str]:
        """Symbols with at least one stored file."""
        if not self.root.exists():
            return []
        return sorted(
            p.name.split("=", 1)[1]
            for p in self.root.glob("symbol=*")
            if p.is_dir() and any(p.glob("year=*.parquet"))
        )

    def _files(self, symbol: str) -> list[tuple[int, Path]]:
        files = []
        for p in (self.root / f"symbol={symbol}").glob("year=*.parquet"):
            files.append((int(p.stem.split("=", 1)[1]), p))
        return sorted(files)

    def has_data(self) -> bool:
        """Whether any bars are stored."""
        return bool(self.symbols())

    # -- writing ---------------------------------------------------------------------------

    def write(
        self,
        symbol: str,
        frame: pd.DataFrame,
        source: str,
        *,
        replace: bool = False,
        zero_volume_ok: bool = False,
    ) -> int:
        """Validate ``frame`` and merge it into the stored bars of ``symbol``.

        Overlapping timestamps whose bars are identical are accepted (a write is
        idempotent); overlapping bars that differ raise :class:`DataError` unless
        ``replace=True``, in which case the new bars win. Returns the rows written.
        """
        symbol = symbol.upper()
        bars = to_canonical(frame)
        report = validate_bars(
            bars,
            symbol,
            f"{source}:{symbol}",
            calendar=self.calendar,
            zero_volume="note" if zero_volume_ok else "problem",
        )
        report.raise_if_bad(f"writing {symbol} to {self.root}")
        years = bars["timestamp"].dt.year.to_numpy()
        pending: list[tuple[Path, pd.DataFrame]] = []
        for year in np.unique(years):
            new = bars.loc[years == year].reset_index(drop=True)
            path = self._path(symbol, int(year))
            if path.exists():
                old = self._read(path)
                new = self._merge(symbol, old, new, replace=replace)
            pending.append((path, new))
        # every year checked before any file changes, so a conflict leaves the store intact
        for path, merged in pending:
            self._write_file(path, merged, source)
        logger.info("stored %d %s bars from %s in %s", len(bars), symbol, source, self.root)
        return len(bars)

    def _merge(
        self, symbol: str, old: pd.DataFrame, new: pd.DataFrame, *, replace: bool
    ) -> pd.DataFrame:
        overlap = old["timestamp"].isin(new["timestamp"])
        if overlap.any() and not replace:
            a = old.loc[overlap].set_index("timestamp").sort_index()
            b = new.set_index("timestamp").loc[a.index]
            differs = ~(a.to_numpy() == b.to_numpy()).all(axis=1)
            if differs.any():
                first = a.index[np.flatnonzero(differs)[0]]
                raise DataError(
                    f"{symbol}: {int(differs.sum())} stored bar(s) differ from the new data "
                    f"at the same timestamps (first {first}); the store was left unchanged. "
                    "Pass replace=True (--replace) to overwrite them."
                )
        kept = old.loc[~overlap]
        merged = pd.concat([kept, new], ignore_index=True)
        return merged.sort_values("timestamp", kind="stable").reset_index(drop=True)

    def _write_file(self, path: Path, frame: pd.DataFrame, source: str) -> None:
        sources = {source}
        if path.exists():
            meta = pq.read_schema(path).metadata or {}
            old = meta.get(_SOURCE_KEY, b"").decode()
            sources |= {s for s in old.split(",") if s}
        table = pa.Table.from_pandas(frame.loc[:, list(BAR_COLUMNS)], preserve_index=False)
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), _SOURCE_KEY: ",".join(sorted(sources)).encode()}
        )

        def write(tmp: Path) -> None:
            pq.write_table(table, tmp, compression="zstd", write_statistics=True)

        atomic_write(path, write)

    # -- reading ---------------------------------------------------------------------------

    @staticmethod
    def _read(path: Path) -> pd.DataFrame:
        frame = pq.read_table(path).to_pandas()
        frame["timestamp"] = frame["timestamp"].astype(f"datetime64[ns, {TIMEZONE}]")
        return frame

    def load(
        self,
        symbols: Iterable[str] | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> dict[str, pd.DataFrame]:
        """Stored bars per symbol, restricted to trading days in ``[start, end]``."""
        wanted = [s.upper() for s in symbols] if symbols is not None else self.symbols()
        out: dict[str, pd.DataFrame] = {}
        for sym in wanted:
            parts = [
                self._read(p)
                for year, p in self._files(sym)
                if (start is None or year >= start.year) and (end is None or year <= end.year)
            ]
            if not parts:
                continue
            frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
            if start is not None or end is not None:
                ts = frame["timestamp"]
                keep = np.ones(len(frame), dtype=bool)
                if start is not None:
                    keep &= (ts >= pd.Timestamp(start, tz=TIMEZONE)).to_numpy()
                if end is not None:
                    keep &= (ts < pd.Timestamp(end, tz=TIMEZONE) + pd.Timedelta(days=1)).to_numpy()
                frame = frame.loc[keep].reset_index(drop=True)
            out[sym] = frame if len(frame) else empty_bars()
        return out

    def sessions(self, symbol: str = "SPY") -> list[date]:
        """Trading days stored for ``symbol``."""
        bars = self.load([symbol]).get(symbol.upper())
        if bars is None or bars.empty:
            return []
        return sorted(set(bars["timestamp"].dt.date))

    def data_hash(
        self,
        symbols: Iterable[str] | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> str:
        """:func:`data_hash_of` the stored bars (optionally a subset)."""
        return data_hash_of(self.load(symbols, start, end))

    def info(self) -> StoreInfo:
        """Per-symbol coverage and the data hash."""
        bars = self.load()
        infos: dict[str, SymbolInfo] = {}
        for sym, frame in bars.items():
            if frame.empty:
                continue
            days = frame["timestamp"].dt.date
            sources: set[str] = set()
            for _, path in self._files(sym):
                meta = pq.read_schema(path).metadata or {}
                sources |= {s for s in meta.get(_SOURCE_KEY, b"").decode().split(",") if s}
            infos[sym] = SymbolInfo(
                symbol=sym,
                first_day=days.iloc[0],
                last_day=days.iloc[-1],
                trading_days=int(days.nunique()),
                rows=len(frame),
                sources=tuple(sorted(sources)),
            )
        return StoreInfo(self.data_dir, infos, data_hash_of(bars) if infos else "")

    def verify(self) -> ValidationReport:
        """Validate every stored symbol, and that QQQ/VIX cover SPY's trading days."""
        report = ValidationReport()
        bars = self.load()
        if not bars:
            report.notes.append(f"no bars stored under {self.root}")
            return report
        for sym, frame in bars.items():
            where = str(self.root / f"symbol={sym}")
            report.extend(
                validate_bars(frame, sym, where, calendar=self.calendar, zero_volume="note")
            )
        if "SPY" in bars:
            spy_days = set(bars["SPY"]["timestamp"].dt.date)
            for sym, frame in bars.items():
                lacking = sorted(spy_days - set(frame["timestamp"].dt.date))
                if lacking and sym != "SPY":
                    report.problems.append(
                        Problem(
                            str(self.root / f"symbol={sym}"),
                            None,
                            "timestamp",
                            "trading days missing relative to SPY",
                            f"{len(lacking)} day(s), first {lacking[0]}",
                            f"import {sym} for those days",
                        )
                    )
        return report
