"""One way for every command to get market data: :func:`load_market`.

Rules (the same for ``backtest``, ``q``, ``train`` and the rest):

1. ``seed`` or ``edge`` given: generate the synthetic market in memory with them (other
   parameters from ``settings.data.synthetic_*``; ``days`` defaults to
   ``synthetic_days``, ``start`` to ``synthetic_start``). Nothing is written.
2. Otherwise, when the store at ``settings.data.data_dir`` holds bars: load them, restricted
   to ``[start, end]`` and/or the last ``days`` trading days.
3. Otherwise, when the data directory is the default one (``data``): generate the default
   synthetic market from ``settings.data.synthetic_*``, write it to the store (logged at
   INFO) and use it. A data directory the user named (``--data-dir``, a config file or
   ``ZERODTE_DATA__DATA_DIR``) that holds no bars is an error: no data is invented for it.

SPY is required. QQQ is optional (without it the frame has no ``qqq_*`` columns, and the
features that need them are left out of every feature set:
:meth:`zerodte.features.sets.FeatureSet.resolve`). VIX is stored at 1-minute, 5-minute
or daily interval and joined as of what was known (:mod:`zerodte.market.intervals`);
without VIX, option pricing needs the documented proxy (:mod:`zerodte.market.vix_proxy`),
used only when ``settings.data.vix_proxy`` is set
(``--vix-proxy``). VIX or QQQ days missing relative to SPY are refused, unless
``settings.data.skip_missing_days`` drops those SPY days (listed in ``data_source``).
Every :class:`MarketData` carries :attr:`MarketData.data_source`, the description that
summaries, manifests and ``--json`` outputs print.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from zerodte.config import Settings
from zerodte.errors import ConfigError, DataError
from zerodte.market.schema import PRICE_COLUMNS, market_frame
from zerodte.market.store import ParquetStore, data_hash_of
from zerodte.market.synthetic import SyntheticConfig, simulate_market

logger = logging.getLogger(__name__)

REQUIRED_SYMBOLS: tuple[str, ...] = ("SPY",)
FRAME_SYMBOLS: tuple[str, ...] = ("SPY", "QQQ", "VIX")
"""The symbols a market frame lists first, in this order."""
DEFAULT_DATA_DIR = Path("data")


@dataclass(frozen=True)
class MarketData:
    """Bars, the aligned market frame, and where they came from."""

    bars: dict[str, pd.DataFrame]
    frame: pd.DataFrame
    data_hash: str
    source: str
    sessions: list[date] = field(default_factory=list)
    synthetic: SyntheticConfig | None = None
    option_quotes: pd.DataFrame | None = None
    """Stored real option quotes of ``options.underlying`` on these sessions (None: none,
    or ``options.real_quotes = "off"``); see :mod:`zerodte.market.option_store`."""
    data_source: dict[str, object] = field(default_factory=dict)
    """Where the data came from: ``{"kind": "synthetic", "seed", "edge", ...}`` or
    ``{"kind": "store", "path", "symbols": {sym: {sources, feeds, interval}}, "vix", ...}``,
    plus ``sessions``, ``first_day``, ``last_day`` and ``data_hash`` (JSON-ready)."""


def synthetic_config(
    settings: Settings,
    *,
    days: int | None = None,
    start: date | None = None,
    seed: int | None = None,
    edge: float | None = None,
) -> SyntheticConfig:
    """The synthetic market config from settings with explicit overrides."""
    d = settings.data
    return SyntheticConfig(
        seed=d.synthetic_seed if seed is None else seed,
        edge=d.synthetic_edge if edge is None else edge,
        start=d.synthetic_start if start is None else start,
        days=d.synthetic_days if days is None else days,
    )


def _assemble(
    bars: dict[str, pd.DataFrame],
    source: str,
    synthetic: SyntheticConfig | None = None,
    *,
    intervals: dict[str, str] | None = None,
    described: dict[str, object] | None = None,
    vix_proxy: bool = False,
    skip_missing_days: bool = False,
) -> MarketData:
    bars = {s: f for s, f in bars.items() if not f.empty}
    if "SPY" not in bars:
        raise DataError(
            f"no SPY bars in {source}; SPY defines the cycle grid. Import SPY with "
            "`zerodte data import FILE --symbol SPY` (or name another store with --data-dir)"
        )
    intervals = dict(intervals or {})
    skipped = _missing_days(bars, intervals, source, skip_missing_days)
    if skipped:
        keep = set(bars["SPY"]["timestamp"].dt.date) - set(skipped)
        bars = {
            s: f[f["timestamp"].dt.date.isin(keep)].reset_index(drop=True) for s, f in bars.items()
        }
    if "VIX" in bars:
        vix = intervals.get("VIX", "1min")
    elif vix_proxy:
        vix = "proxy"
    else:
        raise DataError(
            f"{source} has no VIX bars; option pricing and the VIX features need them. Import "
            "VIX at any interval (`zerodte data import vix.csv --symbol VIX`: 1-minute, "
            "5-minute or daily, no volume column needed), or price on the SPY realised-vol "
            "proxy with --vix-proxy (data.vix_proxy; summaries then say vix=proxy)"
        )
    # a fixed symbol order gives every source the same frame column order
    order = [*FRAME_SYMBOLS, *sorted(set(bars) - set(FRAME_SYMBOLS))]
    bars = {s: bars[s] for s in order if s in bars}
    frame = market_frame(bars, intervals)  # an absent QQQ has no columns (never NaN or 0)
    if vix == "proxy":
        from zerodte.market.vix_proxy import vix_proxy as proxy

        values = proxy(frame)
        for col in PRICE_COLUMNS:
            frame[f"vix_{col}"] = values
    order = [*(c for c in frame.columns if c not in ("session", "minute")), "session", "minute"]
    if list(frame.columns) != order:  # (a copy of the whole frame: only when needed)
        frame = frame[order]
    sessions = sorted(set(frame["session"]))
    digest = data_hash_of(bars)
    described = dict(described or {"kind": "store", "path": source})
    described.update(
        {
            "vix": vix,
            "qqq": "QQQ" in bars,
            "sessions": len(sessions),
            "first_day": sessions[0].isoformat() if sessions else None,
            "last_day": sessions[-1].isoformat() if sessions else None,
            "data_hash": digest,
        }
    )
    if skipped:
        described["skipped_days"] = [d.isoformat() for d in skipped]
    return MarketData(
        bars=bars,
        frame=frame,
        data_hash=digest,
        source=source if vix != "proxy" else f"{source} (VIX proxy)",
        sessions=sessions,
        synthetic=synthetic,
        data_source=described,
    )


def _wall_days(stamps: pd.Series) -> np.ndarray:
    """The wall-clock date of each stamp as ``datetime64[D]``: ``Series.dt.date``'s values
    without a Python date per row (which cost more than the rest of loading a year)."""
    idx = pd.DatetimeIndex(stamps)
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    return idx.to_numpy(dtype="datetime64[D]")


def _days_of(stamps: pd.Series) -> set[date]:
    """The distinct wall-clock dates of ``stamps`` (see :func:`_wall_days`)."""
    return set(np.unique(_wall_days(stamps)).tolist())


def _missing_days(
    bars: dict[str, pd.DataFrame], intervals: dict[str, str], source: str, skip: bool
) -> list[date]:
    """SPY days without VIX or QQQ bars: refused, or returned to be skipped when ``skip``."""
    spy_days = _days_of(bars["SPY"]["timestamp"])
    lacking: dict[str, list[date]] = {}
    for sym in ("VIX", "QQQ"):
        if sym in bars:
            have = _days_of(bars[sym]["timestamp"])
            missing = sorted(spy_days - have)
            if missing:
                lacking[sym] = missing
    if not lacking:
        return []
    if skip:
        days = sorted({d for v in lacking.values() for d in v})
        logger.warning("skipping %d SPY day(s) without %s bars", len(days), "/".join(lacking))
        return days
    parts = [
        f"{sym} lacks {len(days)} SPY day(s) (first {days[0]}; "
        f"{sym} stored at {intervals.get(sym, '1min')})"
        for sym, days in lacking.items()
    ]
    raise DataError(
        f"{source}: {'; '.join(parts)}; a backtest would make no trades on them. Import the "
        "missing bars, or skip those days with --skip-missing-days (they are then listed in "
        "data_source.skipped_days)"
    )


def load_market(
    settings: Settings,
    *,
    days: int | None = None,
    start: date | None = None,
    end: date | None = None,
    seed: int | None = None,
    edge: float | None = None,
) -> MarketData:
    """Market data for a command, chosen by the rules in the module docstring."""
    if days is not None and days < 1:
        raise DataError(f"--days must be at least 1, got {days}")
    if start is not None and end is not None and end < start:
        raise ConfigError(f"--end {end} is before --start {start}; give a window that runs forward")
    if seed is not None or edge is not None:
        cfg = synthetic_config(settings, days=days, start=start, seed=seed, edge=edge)
        market = simulate_market(cfg)
        data = _assemble(
            market.bars,
            f"synthetic(seed={cfg.seed}, edge={cfg.edge})",
            cfg,
            described=_synthetic(cfg),
        )
        return _restrict(data, end=end) if end is not None else data

    store = ParquetStore(settings.data.data_dir)
    if store.has_data():
        first_day = start
        if days is not None and start is None:
            first_day = _first_of_last_days(
                store, GRID_SYMBOL[settings.options.underlying], days, end
            )
        bars = _underlying_as_grid(store.load(start=first_day, end=end), settings, store)
        if days is not None and "SPY" in bars and not bars["SPY"].empty:
            spy_days = sorted(_days_of(bars["SPY"]["timestamp"]))
            # loaded from first_day: cut the other symbols to the grid's days as before
            if len(spy_days) > days or (start is None and first_day is not None):
                first = spy_days[-days] if start is None else spy_days[0]
                last = spy_days[-1] if start is None else spy_days[days - 1]
                bars = {s: _slice_days(f, first, last) for s, f in bars.items()}
        if not bars.get("SPY", pd.DataFrame()).shape[0] and (start or end) and store.sessions():
            stored = store.sessions()
            raise DataError(
                f"no stored SPY bars between {start or stored[0]} and {end or stored[-1]} in "
                f"{store.data_dir}; the store holds {stored[0]} .. {stored[-1]}. Choose "
                "--start/--end inside that range"
            )
        described: dict[str, object] = {"kind": "store", "path": str(store.data_dir)}
        intervals = store.intervals()
        prov = store.provenance()
        described["synthetic"] = store.is_synthetic()
        described["symbols"] = {s: {**prov[s], "interval": intervals.get(s, "1min")} for s in prov}
        data = _assemble(
            bars,
            f"store:{store.data_dir}",
            intervals=intervals,
            described=described,
            vix_proxy=settings.data.vix_proxy,
            skip_missing_days=settings.data.skip_missing_days,
        )
        if not data.sessions:
            raise DataError(f"no stored trading days in the requested range in {store.root}")
        return _with_sentiment(_with_option_quotes(data, settings), settings)
    if Path(settings.data.data_dir) != DEFAULT_DATA_DIR:
        raise DataError(
            f"the data directory {settings.data.data_dir} holds no market data (no "
            f"{store.root}); no data is generated for a directory you named. Import bars "
            f"(`zerodte data import FILE --symbol SPY --data-dir {settings.data.data_dir}`), "
            "fix the path, or ask for the synthetic market explicitly: --seed N on the "
            "commands that take it, or leave the data directory unset (the default directory "
            "holds the embedded synthetic market)"
        )

    cfg = synthetic_config(settings, days=days, start=start)
    logger.info(
        "no market data in %s: generating the synthetic market (seed=%d, edge=%s, start=%s, "
        "days=%d) and storing it there",
        store.data_dir,
        cfg.seed,
        cfg.edge,
        cfg.start,
        cfg.days,
    )
    market = simulate_market(cfg)
    store.write_many(market.bars, source=f"synthetic:seed={cfg.seed}:edge={cfg.edge}")
    data = _assemble(
        market.bars,
        f"synthetic(seed={cfg.seed}, edge={cfg.edge})",
        cfg,
        described={**_synthetic(cfg), "stored_in": str(store.data_dir)},
    )
    return _restrict(data, end=end) if end is not None else data


def _first_of_last_days(store: ParquetStore, grid: str, days: int, end: date | None) -> date | None:
    """The first of the last ``days`` stored sessions of the grid symbol through ``end``
    (``None`` when there are no more), read a year file at a time from the last: only the
    years a backtest of the last ``days`` sessions uses are loaded (not the whole store).
    The bars loaded from it are then cut to those sessions as before."""
    years = [y for y in store.years(grid) if end is None or y <= end.year]
    found: set[date] = set()
    for year in reversed(years):
        bars = store.load([grid], start=date(year, 1, 1), end=end).get(grid)
        if bars is not None and not bars.empty:
            found |= _days_of(bars["timestamp"])
        if len(found) > days:
            return sorted(found)[-days]
    return None


GRID_SYMBOL = {"SPY": "SPY", "SPX": "SPX", "SPXW": "SPX"}
"""The minute series that drives the cycles for each option root (``options.underlying``)."""


def _underlying_as_grid(
    bars: dict[str, pd.DataFrame], settings: Settings, store: ParquetStore
) -> dict[str, pd.DataFrame]:
    """Bars with the option root's underlying in the cycle-grid (``SPY``) slot.

    An index root (SPX/SPXW) runs on the stored SPX minutes; the frame keeps its column
    names (``spy_*`` = the underlying) and ``data_source.underlying`` says which it is.
    """
    grid = GRID_SYMBOL[settings.options.underlying]
    if grid == "SPY":
        return bars
    if grid not in bars or bars[grid].empty:
        raise DataError(
            f"options.underlying {settings.options.underlying} runs on {grid} minute bars and "
            f"{store.data_dir} has none; import them with `zerodte data import FILE --symbol "
            f"{grid} --data-dir {store.data_dir}`"
        )
    out = {s: f for s, f in bars.items() if s not in ("SPY", grid)}
    out["SPY"] = bars[grid]
    return out


def _with_option_quotes(data: MarketData, settings: Settings) -> MarketData:
    """``data`` with the stored real quotes of ``options.underlying`` on its sessions."""
    from zerodte.market.option_store import OptionQuoteStore

    root = settings.options.underlying
    data.data_source["underlying"] = GRID_SYMBOL[root]
    if settings.options.real_quotes == "off":
        data.data_source["option_quotes"] = "off"
        return data
    store = OptionQuoteStore(settings.data.data_dir)
    if not store.has_quotes():
        return data
    quotes = store.quotes((root,), start=data.sessions[0], end=data.sessions[-1])
    if quotes.empty:
        return data
    files = [f for f in store.provenance() if f["kind"] == "quotes" and root in f["roots"]]
    data = replace(data, option_quotes=quotes)
    data.data_source["option_quotes"] = {
        "root": root,
        "rows": len(quotes),
        "days": sorted({d.isoformat() for d in quotes["timestamp"].dt.date}),
        "files": [{"source": f["source"], "sha256": f["sha256"]} for f in files],
    }
    return data


def _with_sentiment(data: MarketData, settings: Settings) -> MarketData:
    """``data`` with the stored sentiment columns joined as of what was known
    (:mod:`zerodte.market.sentiment.join`); unchanged when none is stored."""
    from zerodte.market.sentiment.join import sentiment_columns

    d = settings.data
    columns, described = sentiment_columns(
        d.data_dir,
        pd.DatetimeIndex(data.frame.index),
        choice=d.sentiment_source,
        window_minutes=d.news_window_minutes,
    )
    if not described:
        return data
    frame, digest = data.frame, data.data_hash
    source: dict[str, object] = {**data.data_source, "sentiment": described}
    if columns:
        head = frame.drop(columns=["session", "minute"])
        extra = pd.DataFrame(columns, index=frame.index)
        frame = pd.concat([head, extra, frame[["session", "minute"]]], axis=1)
        # the joined columns are inputs too: a model or trial on them must not share the
        # hash of the bars alone (which stays in bars_hash, as `data info` shows it)
        h = hashlib.sha256(digest.encode())
        for name in sorted(columns):
            h.update(name.encode())
            h.update(np.ascontiguousarray(columns[name], dtype="<f8").tobytes())
        digest = h.hexdigest()
        source.update({"bars_hash": data.data_hash, "data_hash": digest})
    return replace(data, frame=frame, data_hash=digest, data_source=source)


def _synthetic(cfg: SyntheticConfig) -> dict[str, object]:
    return {"kind": "synthetic", "seed": cfg.seed, "edge": cfg.edge, "start": cfg.start.isoformat()}


def _slice_days(frame: pd.DataFrame, first: date, last: date) -> pd.DataFrame:
    days = _wall_days(frame["timestamp"])
    keep = (days >= np.datetime64(first, "D")) & (days <= np.datetime64(last, "D"))
    return frame.loc[keep].reset_index(drop=True)


def _restrict(data: MarketData, *, end: date) -> MarketData:
    first = data.sessions[0] if data.sessions else end
    bars = {s: _slice_days(f, first, end) for s, f in data.bars.items()}
    described = {
        k: v
        for k, v in data.data_source.items()
        if k in ("kind", "seed", "edge", "start", "path", "symbols", "synthetic", "stored_in")
    }
    return _assemble(bars, data.source, data.synthetic, described=described)
