"""The Parquet market store: one layout and one schema for every source.

Layout (see :mod:`zerodte.market.generations` for the generations)::

    <data_dir>/bars/CURRENT                                 -> "g000042"
    <data_dir>/bars/g000042/symbol=SPY/year=2024.parquet

One file per symbol and calendar year (about 98,000 rows for a year of minutes), so loading
a year reads three files. Files hold the canonical bar schema
(:data:`zerodte.market.schema.BAR_COLUMNS`) sorted by time; the Parquet key-value metadata
records the source. Every write is validated first. The files one command writes (all the
symbols and years of an import or a generate) form one transaction: they are staged in a
new generation and published together by one atomic rename of ``CURRENT``, so stored data
is never replaced by bad data, and a crash leaves either the old or the new store, never a
mix. Opening a store sweeps what a crashed writer left behind.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from zerodte.errors import DataError
from zerodte.market.calendar import TradingCalendar
from zerodte.market.feeds import check_feed, check_volume_scale
from zerodte.market.generations import Generations, Staging
from zerodte.market.intervals import check_interval, infer_interval
from zerodte.market.schema import BAR_COLUMNS, PRICE_COLUMNS, TIMEZONE, empty_bars, to_canonical
from zerodte.market.symbols import check_symbol
from zerodte.market.validation import (
    NO_VOLUME_SYMBOLS,
    Problem,
    ValidationReport,
    validate_bars,
)

logger = logging.getLogger(__name__)

_SOURCE_KEY = b"zerodte.source"
_INTERVAL_KEY = b"zerodte.interval"
_FEED_KEY = b"zerodte.feed"


def is_synthetic(source: str) -> bool:
    """Whether a source label names the generated market (``synthetic:seed=...``)."""
    return source.startswith("synthetic")


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


def _relative(symbol: str, year: int) -> str:
    return f"symbol={symbol}/year={year}.parquet"


def _read(path: Path) -> pd.DataFrame:
    frame = pq.read_table(path).to_pandas()
    frame["timestamp"] = frame["timestamp"].astype(f"datetime64[ns, {TIMEZONE}]")
    return frame


def _sources_of(path: Path) -> set[str]:
    meta = pq.read_schema(path).metadata or {}
    return {s for s in meta.get(_SOURCE_KEY, b"").decode().split(",") if s}


def _meta_of(path: Path, key: bytes, default: str) -> str:
    meta = pq.read_schema(path).metadata or {}
    return meta.get(key, default.encode()).decode()


def _merge(symbol: str, old: pd.DataFrame, new: pd.DataFrame, *, replace: bool) -> pd.DataFrame:
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


class StoreTransaction:
    """Writes that are published together (see :meth:`ParquetStore.transaction`)."""

    def __init__(self, store: ParquetStore, staging: Staging) -> None:
        self._store = store
        self._staging = staging
        self.rows: dict[str, int] = {}

    def write(
        self,
        symbol: str,
        frame: pd.DataFrame,
        source: str,
        *,
        replace: bool = False,
        zero_volume_ok: bool = False,
        interval: str | None = None,
        feed: str = "unknown",
        mix_feeds: bool = False,
    ) -> int:
        """Validate ``frame`` and merge it into the staged bars of ``symbol``.

        Overlapping timestamps whose bars are identical are accepted (a write is
        idempotent); overlapping bars that differ raise :class:`DataError` unless
        ``replace=True``, in which case the new bars win. Returns the rows written.

        ``interval`` (inferred when ``None``) and ``feed`` are recorded with the source in
        each file. Refused: synthetic bars into a store holding real ones or the reverse;
        another interval than the one stored for ``symbol``; and, unless ``mix_feeds``,
        another feed of ``symbol`` whose median daily volume differs by more than
        :data:`zerodte.market.feeds.VOLUME_SCALE_LIMIT` times.
        """
        symbol = check_symbol(symbol)
        feed = check_feed(feed)
        bars = to_canonical(frame)
        step = check_interval(interval) if interval else infer_interval(bars["timestamp"])
        self._check_kind(source)
        report = validate_bars(
            bars,
            symbol,
            f"{source}:{symbol}",
            calendar=self._store.calendar,
            zero_volume="note" if zero_volume_ok else "problem",
            interval=step,
        )
        report.raise_if_bad(f"writing {symbol} to {self._store.root}")
        if bars.empty:
            raise DataError(f"writing {symbol} to {self._store.root} refused: no bars to write")
        self._check_series(symbol, bars, step, feed, mix_feeds)
        years = bars["timestamp"].dt.year.to_numpy()
        pending: list[tuple[str, pd.DataFrame, set[str]]] = []
        for year in np.unique(years):
            new = bars.loc[years == year].reset_index(drop=True)
            rel = _relative(symbol, int(year))
            sources = {source}
            existing = self._staging.existing(rel)
            if existing is not None:
                new = _merge(symbol, _read(existing), new, replace=replace)
                sources |= _sources_of(existing)
            pending.append((rel, new, sources))
        # every year checked before any file is staged; nothing is published before commit
        for rel, merged, sources in pending:
            table = pa.Table.from_pandas(merged.loc[:, list(BAR_COLUMNS)], preserve_index=False)
            meta = {
                **(table.schema.metadata or {}),
                _SOURCE_KEY: ",".join(sorted(sources)).encode(),
                _INTERVAL_KEY: step.encode(),
                _FEED_KEY: ",".join(sorted(self._feeds(symbol) | set(feed.split(",")))).encode(),
            }
            table = table.replace_schema_metadata(meta)
            pq.write_table(
                table, self._staging.target(rel), compression="zstd", write_statistics=True
            )
        self.rows[symbol] = self.rows.get(symbol, 0) + len(bars)
        logger.info("staged %d %s bars from %s in %s", len(bars), symbol, source, self._store.root)
        return len(bars)

    def _existing_files(self, symbol: str | None = None) -> list[Path]:
        """The files of ``symbol`` (every symbol: ``None``) this transaction sees."""
        pattern = f"symbol={symbol}/year=*.parquet" if symbol else "symbol=*/year=*.parquet"
        rels = {r for r in self._staging.written if Path(r).match(pattern)}
        if self._staging.base is not None:
            rels |= {p.relative_to(self._staging.base).as_posix()
                     for p in self._staging.base.glob(pattern)}  # fmt: skip
        found = (self._staging.existing(r) for r in sorted(rels))
        return [p for p in found if p is not None]

    def _feeds(self, symbol: str) -> set[str]:
        feeds: set[str] = set()
        for path in self._existing_files(symbol):
            feeds |= {f for f in _meta_of(path, _FEED_KEY, "unknown").split(",") if f}
        return feeds

    def _check_kind(self, source: str) -> None:
        for path in self._existing_files():
            stored = _sources_of(path)
            if stored and any(is_synthetic(x) != is_synthetic(source) for x in stored):
                kind, other = (
                    ("synthetic", "real") if is_synthetic(source) else ("real", "synthetic")
                )
                raise DataError(
                    f"refusing to write {kind} bars ({source}) into {self._store.data_dir}, "
                    f"which holds {other} bars ({', '.join(sorted(stored))}); synthetic and "
                    "real data never share a store. Use another store: --data-dir DIR (or "
                    "ZERODTE_DATA__DATA_DIR)"
                )

    def _check_series(
        self, symbol: str, bars: pd.DataFrame, step: str, feed: str, mix_feeds: bool
    ) -> None:
        files = self._existing_files(symbol)
        if not files:
            return
        stored = _meta_of(files[0], _INTERVAL_KEY, "1min")
        if stored != step:
            raise DataError(
                f"{symbol}: the store holds {stored} bars and these are {step}; one symbol is "
                "stored at one interval. Import into another store (--data-dir) or convert "
                "the file first"
            )
        known = self._feeds(symbol) - {"unknown"}
        if mix_feeds or symbol in NO_VOLUME_SYMBOLS or set(feed.split(",")) <= known:
            return
        old = pd.concat([_read(p) for p in files], ignore_index=True)
        check_volume_scale(symbol, old, bars, feed, self._feeds(symbol))


class ParquetStore:
    """Canonical minute bars under ``data_dir`` (see the module docstring for the layout).

    Creating a store object sweeps what a crashed writer left (staging directories,
    unpublished generations, temporary files), unless another process is writing.
    """

    def __init__(self, data_dir: Path | str, calendar: TradingCalendar | None = None) -> None:
        self.data_dir = Path(data_dir)
        for path in (self.data_dir, self.data_dir / "bars"):
            if path.exists() and not path.is_dir():
                raise DataError(
                    f"the market store at {self.data_dir} cannot be used: {path} is a file, "
                    "not a directory. Name a data directory (--data-dir or data.data_dir), or "
                    "move the file away"
                )
        self.root = self.data_dir / "bars"
        self._cal = calendar
        self._generations = Generations(self.root)
        self.recovered = self._generations.recover()

    @property
    def calendar(self) -> TradingCalendar:
        """The trading calendar (created on first use: it takes a moment to build)."""
        if self._cal is None:
            self._cal = TradingCalendar()
        return self._cal

    def file_path(self, symbol: str, year: int) -> Path | None:
        """The published file of ``symbol`` and ``year`` (None when not stored)."""
        base = self._generations.current()
        if base is None:
            return None
        path = base / _relative(check_symbol(symbol), year)
        return path if path.is_file() else None

    def generation(self) -> str | None:
        """The published generation's name (``CURRENT``; one small read), or ``None`` for an
        empty store or the legacy flat layout. It changes with every commit."""
        return self._generations.current_name()

    def files(self) -> list[Path]:
        """Every published Parquet file (of the current generation), sorted."""
        base = self._generations.current()
        return [] if base is None else sorted(base.glob("symbol=*/year=*.parquet"))

    @staticmethod
    def _symbols_in(base: Path | None) -> list[str]:
        if base is None:
            return []
        return sorted(
            p.name.split("=", 1)[1]
            for p in base.glob("symbol=*")
            if p.is_dir() and any(p.glob("year=*.parquet"))
        )

    @staticmethod
    def _files_in(base: Path, symbol: str) -> list[tuple[int, Path]]:
        files = []
        for p in (base / f"symbol={symbol}").glob("year=*.parquet"):
            files.append((int(p.stem.split("=", 1)[1]), p))
        return sorted(files)

    def years(self, symbol: str = "SPY") -> list[int]:
        """Years with a stored file of ``symbol`` (the store keeps a file per year)."""
        base = self._generations.current()
        return [] if base is None else [y for y, _ in self._files_in(base, check_symbol(symbol))]

    def symbols(self) -> list[str]:
        """Symbols with at least one stored file."""
        return self._symbols_in(self._generations.current())

    def has_data(self) -> bool:
        """Whether any bars are stored."""
        return bool(self.symbols())

    # -- writing ---------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[StoreTransaction]:
        """Group writes so that they are published together, or not at all.

        ::

            with store.transaction() as tx:
                for sym, frame in bars.items():
                    tx.write(sym, frame, source="file:x.csv")

        An exception inside the block (a refused write included) discards every staged file;
        the store is unchanged.
        """
        with self._generations.transaction() as staging:
            yield StoreTransaction(self, staging)

    def write(
        self,
        symbol: str,
        frame: pd.DataFrame,
        source: str,
        *,
        replace: bool = False,
        zero_volume_ok: bool = False,
        interval: str | None = None,
        feed: str = "unknown",
        mix_feeds: bool = False,
    ) -> int:
        """Write one symbol in its own transaction (see :meth:`StoreTransaction.write`)."""
        return self.write_many(
            {symbol: frame},
            source,
            replace=replace,
            zero_volume_ok=zero_volume_ok,
            interval=interval,
            feed=feed,
            mix_feeds=mix_feeds,
        )[check_symbol(symbol)]

    def write_many(
        self,
        bars: Mapping[str, pd.DataFrame],
        source: str,
        *,
        replace: bool = False,
        zero_volume_ok: bool = False,
        interval: str | None = None,
        feed: str = "unknown",
        mix_feeds: bool = False,
    ) -> dict[str, int]:
        """Write several symbols in one transaction; returns the rows written per symbol."""
        options = {"replace": replace, "zero_volume_ok": zero_volume_ok, "mix_feeds": mix_feeds}
        with self.transaction() as tx:
            for sym, frame in bars.items():
                tx.write(sym, frame, source, interval=interval, feed=feed, **options)
            return dict(tx.rows)

    def intervals(self) -> dict[str, str]:
        """The stored interval of every symbol (``1min`` for files written before intervals)."""
        base = self._generations.current()
        out: dict[str, str] = {}
        for sym in self._symbols_in(base):
            files = self._files_in(base, sym) if base is not None else []
            if files:
                out[sym] = _meta_of(files[0][1], _INTERVAL_KEY, "1min")
        return out

    def provenance(self) -> dict[str, dict[str, list[str]]]:
        """Per symbol: the sources and feeds recorded in its files."""
        base = self._generations.current()
        out: dict[str, dict[str, list[str]]] = {}
        for sym in self._symbols_in(base):
            sources: set[str] = set()
            feeds: set[str] = set()
            for _, path in self._files_in(base, sym) if base is not None else []:
                sources |= _sources_of(path)
                feeds |= {f for f in _meta_of(path, _FEED_KEY, "unknown").split(",") if f}
            out[sym] = {"sources": sorted(sources), "feeds": sorted(feeds)}
        return out

    def is_synthetic(self) -> bool:
        """Whether the store holds the generated market (every source synthetic)."""
        sources = [s for p in self.provenance().values() for s in p["sources"]]
        return bool(sources) and all(is_synthetic(s) for s in sources)

    # -- reading ---------------------------------------------------------------------------

    def load(
        self,
        symbols: Iterable[str] | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> dict[str, pd.DataFrame]:
        """Stored bars per symbol, restricted to trading days in ``[start, end]``.

        Reads one published generation throughout, so the symbols returned always come
        from the same committed state.
        """
        for attempt in range(3):
            base = self._generations.current()
            try:
                return self._load_from(base, symbols, start, end)
            except FileNotFoundError:
                # two writers published while we read and the generation was deleted
                if attempt == 2:
                    raise
                logger.debug("generation %s vanished while reading; reading the new one", base)
        raise AssertionError("unreachable")

    def _load_from(
        self,
        base: Path | None,
        symbols: Iterable[str] | None,
        start: date | None,
        end: date | None,
    ) -> dict[str, pd.DataFrame]:
        if base is None:
            return {}
        wanted = [check_symbol(s) for s in symbols] if symbols is not None else None
        out: dict[str, pd.DataFrame] = {}
        for sym in wanted if wanted is not None else self._symbols_in(base):
            parts = [
                _read(p)
                for year, p in self._files_in(base, sym)
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
        # Arrow's allocator keeps the pages of the decoded files for reuse (about as much
        # as the bars themselves); nothing reads Parquet again soon, so hand them back.
        pa.default_memory_pool().release_unused()
        return out

    def sessions(self, symbol: str = "SPY") -> list[date]:
        """Trading days stored for ``symbol``."""
        bars = self.load([symbol]).get(check_symbol(symbol))
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
        base = self._generations.current()
        bars = self._load_from(base, None, None, None)
        infos: dict[str, SymbolInfo] = {}
        for sym, frame in bars.items():
            if frame.empty or base is None:
                continue
            days = frame["timestamp"].dt.date
            sources: set[str] = set()
            for _, path in self._files_in(base, sym):
                sources |= _sources_of(path)
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
        """Validate every stored symbol, and that every symbol has every other's sessions."""
        report = ValidationReport()
        base = self._generations.current()
        bars = self._load_from(base, None, None, None)
        if not bars or base is None:
            report.problems.append(
                Problem(
                    str(self.root),
                    None,
                    "timestamp",
                    "the store is empty",
                    "no bars stored",
                    "import bars with `zerodte data import FILE --symbol SPY` (or generate the "
                    "synthetic market with `zerodte data generate`)",
                )
            )
            return report
        intervals = self.intervals()
        for sym, frame in bars.items():
            where = str(base / f"symbol={sym}")
            report.extend(
                validate_bars(
                    frame,
                    sym,
                    where,
                    calendar=self.calendar,
                    zero_volume="note",
                    interval=intervals.get(sym, "1min"),
                )
            )
        days = {sym: set(frame["timestamp"].dt.date) for sym, frame in bars.items()}
        for sym in sorted(days):
            for other in sorted(days):
                lacking = sorted(days[other] - days[sym])
                if other != sym and lacking:
                    report.problems.append(
                        Problem(
                            str(base / f"symbol={sym}"),
                            None,
                            "timestamp",
                            f"trading days missing relative to {other}",
                            f"{len(lacking)} day(s), first {lacking[0]}",
                            f"import {sym} for those days (or remove them from {other})",
                        )
                    )
        return report
