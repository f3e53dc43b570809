"""Small markets, a simple quote model and a backtest shortcut for the engine tests."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from zerodte.config.root import Settings
from zerodte.config.settings import EngineSettings, StoreSettings
from zerodte.market.schema import market_frame
from zerodte.market.synthetic import generate_market
from zerodte.types import Observation, OptionContract, OptionQuote, QuoteBook, Right


@dataclass
class Market:
    """The part of MarketData the engine reads."""

    frame: pd.DataFrame
    data_hash: str
    source: str = "test"


def make_market(days: int = 3, seed: int = 1, edge: float = 1.0) -> Market:
    bars = generate_market(date(2024, 1, 2), days, seed, edge)
    frame = market_frame(bars)
    digest = pd.util.hash_pandas_object(frame.drop(columns=["session"])).sum()
    return Market(frame, f"test-{days}-{seed}-{edge}-{int(digest)}")


class SimpleBook:
    """Quotes from a crude model: intrinsic + time value sqrt(minutes left), 4 % spread.

    Enough to exercise the loop; the options package owns the real model.
    """

    def __init__(
        self, time: pd.Timestamp, s_open: float, s_close: float, m_open: float, m_close: float
    ) -> None:
        self.time, self.s = time, {"open": s_open, "close": s_close}
        self.m = {"open": m_open, "close": m_close}

    def quote(self, contract: OptionContract, at: str = "close") -> OptionQuote:
        s, m = self.s[at], max(self.m[at], 0.0)
        k = contract.strike
        intrinsic = max(s - k, 0.0) if contract.right is Right.CALL else max(k - s, 0.0)
        mid = intrinsic + 0.0015 * s * math.sqrt(m / 390.0) * math.exp(-abs(s - k) / (0.004 * s))
        half = max(0.02 * mid, 0.005)
        return OptionQuote(
            contract, self.time, max(mid - half, 0.0), mid + half, s, iv=0.15, delta=0.5
        )


def simple_books(frame: pd.DataFrame) -> Callable[[int], SimpleBook]:
    times = pd.DatetimeIndex(frame.index)
    so, sc = frame["spy_open"].to_numpy(), frame["spy_close"].to_numpy()
    closes = {
        d: pd.Timestamp(d).tz_localize("America/New_York") + pd.Timedelta(hours=16)
        for d in dict.fromkeys(frame["session"])
    }
    close_ns = np.array([closes[d].value for d in frame["session"]])
    m_close = (close_ns - times.as_unit("ns").asi8) / 60e9 - 1.0
    m_open = m_close + 1.0

    def book(i: int) -> SimpleBook:
        return SimpleBook(times[i], float(so[i]), float(sc[i]), float(m_open[i]), float(m_close[i]))

    return book


class AtmSelector:
    """The nearest whole-dollar strike, expiring today."""

    def select(
        self, observation: Observation, right: Right, quotes: QuoteBook
    ) -> OptionContract | None:
        return OptionContract("SPY", observation.session, right, float(round(observation.spy)))


def make_settings(tmp: Path, **entry: object) -> Settings:
    base = Settings()
    return base.model_copy(
        update={
            "entry": base.entry.model_copy(update=entry),
            "engine": EngineSettings(runs_dir=tmp / "runs"),
            "store": StoreSettings(path=tmp / "runs" / "zerodte.db"),
        }
    )


def backtest(settings: Settings, market: Market, **kw: object):  # type: ignore[no-untyped-def]
    """run_backtest on the simple quote model with ATM selection (no files unless asked)."""
    from zerodte.engine.backtest import run_backtest

    kw.setdefault("write", False)
    kw.setdefault("record", False)
    kw.setdefault("n_boot", 200)
    return run_backtest(
        settings,
        market,
        quote_books=simple_books(market.frame),
        selector=AtmSelector(),
        **kw,  # type: ignore[arg-type]
    )
