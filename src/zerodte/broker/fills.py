"""Fill, slippage, fee and latency models of the paper broker.

Each assumption is a small named object whose docstring states how pessimistic it is, so
a reader of a backtest can see exactly which friction was charged (see ``docs/fills.md``).
:func:`build_execution_model` builds the default set from
:class:`~zerodte.config.settings.CostsSettings`; the paper broker and ghost (counterfactual)
trades use the same objects so that missed-opportunity rewards carry the same friction as
real trades.

Prices are premium per share; one contract is ``CONTRACT_MULTIPLIER`` (100) shares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np
import pandas as pd

from zerodte.config.settings import CostsSettings
from zerodte.types import OptionQuote, Side

BAR_SECONDS = 60.0
"""Length of one bar; snapshots are one-minute bars stamped with their start."""


class FillModel(Protocol):
    """Chooses the side of the quote an order trades against, before slippage."""

    @property
    def name(self) -> str:
        """Short model name."""
        ...

    def base_price(self, side: Side, quote: OptionQuote) -> float:
        """Price per share before slippage."""
        ...


class SlippageModel(Protocol):
    """Moves a fill price against the trader."""

    @property
    def name(self) -> str:
        """Short model name."""
        ...

    def slippage(self, quote: OptionQuote) -> float:
        """Non-negative price amount (per share) charged against the trader."""
        ...


class FeeModel(Protocol):
    """Commission and exchange fees of one fill."""

    @property
    def name(self) -> str:
        """Short model name."""
        ...

    def fee(self, qty: int) -> float:
        """Dollar fee for ``qty`` contracts."""
        ...


class LatencyModel(Protocol):
    """When an order submitted after a bar's close can first trade."""

    @property
    def name(self) -> str:
        """Short model name."""
        ...

    def due_time(self, decision_bar: pd.Timestamp) -> pd.Timestamp:
        """Start of the first bar whose OPEN quote the order may fill at."""
        ...


@dataclass(frozen=True, slots=True)
class AskBidFill:
    """Buys pay the ask, sells receive the bid of the quote the order can really reach.

    Pessimism: never trades at the mid, never inside the spread; the whole quoted spread
    is paid on every round trip. The quote used is the OPEN quote of the bar chosen by the
    latency model (never the quote the decision saw), so a stop the market gaps through
    fills at the gapped bid, not at the stop level.
    """

    name: str = "ask_bid"

    def base_price(self, side: Side, quote: OptionQuote) -> float:
        """``quote.ask`` for a buy, ``quote.bid`` for a sell."""
        return quote.ask if side is Side.BUY else quote.bid

    def base_price_array(self, side: Side, bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
        """:meth:`base_price` of every element (the ghost rewards price arrays of quotes)."""
        return ask if side is Side.BUY else bid


@dataclass(frozen=True, slots=True)
class SpreadFractionSlippage:
    """Slippage of ``pct_of_spread`` % of the quoted spread, at least ``min_ticks`` ticks.

    ``slip = max(pct_of_spread / 100 * (ask - bid), min_ticks * tick)``; buys pay
    ``ask + slip``, sells receive ``max(bid - slip, 0)`` (a sale never costs money).

    Pessimism: charged on top of crossing the whole spread, on every fill, so it models
    the quote moving away during the latency and thin size at the touch. It is an expected
    cost and is not rounded to ticks (rounding against the trader would add up to one more
    tick per side).
    """

    pct_of_spread: float = 10.0
    min_ticks: int = 0
    tick: float = 0.01
    name: str = "spread_fraction"

    def slippage(self, quote: OptionQuote) -> float:
        """Slippage per share for a fill against ``quote``."""
        spread = quote.ask - quote.bid
        slip = self.pct_of_spread * 0.01 * spread if spread > 0 else 0.0
        floor = self.min_ticks * self.tick
        return slip if slip > floor else floor

    def slippage_array(self, bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
        """:meth:`slippage` of every element (a NaN spread is charged the floor, as there)."""
        spread = ask - bid
        with np.errstate(invalid="ignore"):
            slip = np.where(spread > 0, self.pct_of_spread * 0.01 * spread, 0.0)
        floor = self.min_ticks * self.tick
        return np.where(slip > floor, slip, floor)


@dataclass(frozen=True, slots=True)
class PerContractFee:
    """``fee_per_contract`` dollars per contract on each side (opening and closing).

    Pessimism: neutral; matches retail option commissions plus regulatory fees of about
    $0.65 per contract. Expiry settlement is charged no fee.
    """

    fee_per_contract: float = 0.65
    name: str = "per_contract"

    def fee(self, qty: int) -> float:
        """``fee_per_contract * qty``."""
        return self.fee_per_contract * qty


@dataclass(frozen=True, slots=True)
class NextBarLatency:
    """An order sent after the close of bar ``t`` fills at the open quote of a later bar.

    The order reaches the market at ``close(t) + latency_seconds`` where
    ``close(t) = t + 60 s``. It fills at the OPEN quote of the bar that contains that
    instant, i.e. the bar starting at
    ``t + floor((60 + latency_seconds) / 60) * 60 s``: bar ``t + 1`` when the latency is
    under 60 s, bar ``t + 2`` for 60 to 119 s, and so on. When the feed skips bars the
    first available bar at or after that start is used.

    Pessimism: never looks ahead (the decision saw bar ``t``'s close, the fill uses a
    later quote). Quotes exist only at bar opens and closes, so a latency of a few
    seconds is represented by the quote at the start of bar ``t + 1``; the drift during
    those seconds is not charged (unbiased on a martingale), the slippage model covers it.
    """

    latency_seconds: float = 1.0
    bar_seconds: float = BAR_SECONDS
    name: str = "next_bar"

    def due_time(self, decision_bar: pd.Timestamp) -> pd.Timestamp:
        """Start of the bar whose open quote an order decided at ``decision_bar`` gets."""
        bars = math.floor((self.bar_seconds + self.latency_seconds) / self.bar_seconds)
        # Integer nanoseconds: adding a Timedelta to a tz-aware Timestamp costs twice as
        # much as boxing the sum, and the paper broker asks on every order.
        return pd.Timestamp(
            decision_bar.value + _nanoseconds(bars * self.bar_seconds), tz=decision_bar.tz
        )


@lru_cache(maxsize=16)
def _nanoseconds(seconds: float) -> int:
    """``seconds`` as integer nanoseconds (exactly as ``pd.Timedelta(seconds=...)``)."""
    return int(pd.Timedelta(seconds=seconds).value)


@dataclass(frozen=True, slots=True)
class ExecutionModel:
    """The set of friction assumptions one broker applies."""

    fill: FillModel
    slippage: SlippageModel
    fees: FeeModel
    latency: LatencyModel

    def price(self, side: Side, quote: OptionQuote) -> tuple[float, float]:
        """Fill price per share and the slippage charged, for a marketable order.

        Returns ``(price, slippage)``; a sell never goes below zero, so its slippage is
        capped at the bid.
        """
        base = self.fill.base_price(side, quote)
        slip = self.slippage.slippage(quote)
        if side is Side.BUY:
            return base + slip, slip
        price = base - slip
        if price < 0.0:
            return 0.0, base
        return price, slip

    def describe(self) -> dict[str, str]:
        """Names and parameters of the models, for run manifests."""
        return {
            "fill": repr(self.fill),
            "slippage": repr(self.slippage),
            "fees": repr(self.fees),
            "latency": repr(self.latency),
        }


def build_execution_model(costs: CostsSettings, tick: float = 0.01) -> ExecutionModel:
    """The default execution model from ``costs`` (ask/bid fills, spread-fraction slippage,
    per-contract fees, next-bar latency).

    Parameters
    ----------
    costs
        ``fee_per_contract``, ``slippage_pct_of_spread``, ``slippage_min_ticks`` and
        ``latency_seconds``.
    tick
        Minimum price increment used by ``slippage_min_ticks`` (``options.tick``).
    """
    return ExecutionModel(
        fill=AskBidFill(),
        slippage=SpreadFractionSlippage(
            pct_of_spread=costs.slippage_pct_of_spread,
            min_ticks=costs.slippage_min_ticks,
            tick=tick,
        ),
        fees=PerContractFee(fee_per_contract=costs.fee_per_contract),
        latency=NextBarLatency(latency_seconds=costs.latency_seconds),
    )
