"""One way for every command to get market data: :func:`load_market`.

Rules (the same for ``backtest``, ``q``, ``train`` and the rest):

1. ``seed`` or ``edge`` given: generate the synthetic market in memory with them (other
   parameters from ``settings.data.synthetic_*``; ``days`` defaults to
   ``synthetic_days``, ``start`` to ``synthetic_start``). Nothing is written.
2. Otherwise, when the store at ``settings.data.data_dir`` holds bars: load them, restricted
   to ``[start, end]`` and/or the last ``days`` trading days.
3. Otherwise: generate the default synthetic market from ``settings.data.synthetic_*``, write
   it to the store (logged at INFO) and use it.

SPY is required; QQQ and VIX must be present too (features and option pricing use them).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from zerodte.config import Settings
from zerodte.errors import DataError
from zerodte.market.schema import market_frame
from zerodte.market.store import ParquetStore, data_hash_of
from zerodte.market.synthetic import SyntheticConfig, simulate_market

logger = logging.getLogger(__name__)

REQUIRED_SYMBOLS: tuple[str, ...] = ("SPY", "QQQ", "VIX")


@dataclass(frozen=True)
class MarketData:
    """Bars, the aligned market frame, and where they came from."""

    bars: dict[str, pd.DataFrame]
    frame: pd.DataFrame
    data_hash: str
    source: str
    sessions: list[date] = field(default_factory=list)
    synthetic: SyntheticConfig | None = None


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
    bars: dict[str, pd.DataFrame], source: str, synthetic: SyntheticConfig | None = None
) -> MarketData:
    missing = [s for s in REQUIRED_SYMBOLS if s not in bars or bars[s].empty]
    if "SPY" in missing:
        raise DataError(
            f"no SPY bars in {source}; SPY defines the cycle grid. Import SPY with "
            "`zerodte data import FILE --symbol SPY` or generate with `zerodte data generate`"
        )
    if missing:
        raise DataError(
            f"{source} has no {', '.join(missing)} bars; features and option pricing need "
            f"them. Import them (`zerodte data import FILE --symbol {missing[0]}`) or use the "
            "synthetic market (`zerodte data generate`)"
        )
    # a fixed symbol order gives every source the same frame column order
    order = [*REQUIRED_SYMBOLS, *sorted(set(bars) - set(REQUIRED_SYMBOLS))]
    bars = {s: bars[s] for s in order if s in bars}
    frame = market_frame(bars)
    sessions = sorted(set(frame["session"]))
    return MarketData(
        bars=bars,
        frame=frame,
        data_hash=data_hash_of(bars),
        source=source,
        sessions=sessions,
        synthetic=synthetic,
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
    if seed is not None or edge is not None:
        cfg = synthetic_config(settings, days=days, start=start, seed=seed, edge=edge)
        market = simulate_market(cfg)
        data = _assemble(market.bars, f"synthetic(seed={cfg.seed}, edge={cfg.edge})", cfg)
        return _restrict(data, end=end) if end is not None else data

    store = ParquetStore(settings.data.data_dir)
    if store.has_data():
        bars = store.load(start=start, end=end)
        if days is not None and "SPY" in bars and not bars["SPY"].empty:
            spy_days = sorted(set(bars["SPY"]["timestamp"].dt.date))
            if len(spy_days) > days:
                first = spy_days[-days] if start is None else spy_days[0]
                last = spy_days[-1] if start is None else spy_days[days - 1]
                bars = {s: _slice_days(f, first, last) for s, f in bars.items()}
        data = _assemble(bars, f"store:{store.data_dir}")
        if not data.sessions:
            raise DataError(f"no stored trading days in the requested range in {store.root}")
        return data

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
    data = _assemble(market.bars, f"synthetic(seed={cfg.seed}, edge={cfg.edge})", cfg)
    return _restrict(data, end=end) if end is not None else data


def _slice_days(frame: pd.DataFrame, first: date, last: date) -> pd.DataFrame:
    days = frame["timestamp"].dt.date
    return frame.loc[(days >= first) & (days <= last)].reset_index(drop=True)


def _restrict(data: MarketData, *, end: date) -> MarketData:
    first = data.sessions[0] if data.sessions else end
    bars = {s: _slice_days(f, first, end) for s, f in data.bars.items()}
    return _assemble(bars, data.source, data.synthetic)
