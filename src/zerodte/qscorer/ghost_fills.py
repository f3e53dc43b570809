"""The paper broker's friction and contract selection, vectorised for the ghost rewards.

Each function applies the execution model's own objects (fill, slippage, latency) to arrays
of quotes, with the broker's scalar semantics: a model without a vectorised form is evaluated
element by element.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Protocol

import numpy as np
import pandas as pd

from zerodte.broker.fills import ExecutionModel
from zerodte.types import OptionContract, OptionQuote, Right, Side


class VectorPricer(Protocol):
    """A vectorised option pricer (``zerodte.options.model.OptionModel``)."""

    def price(  # noqa: PLR0917 (OptionModel.price signature)
        self,
        spot: np.ndarray,
        strike: np.ndarray,
        is_call: np.ndarray | bool,
        minutes_to_expiry: np.ndarray,
        vix: np.ndarray,
        minutes_to_close: np.ndarray | None = None,
    ) -> Mapping[str, np.ndarray]:
        """Return at least ``bid`` and ``ask`` arrays (premium per share)."""
        ...


StrikeSelector = Callable[[np.ndarray, Right, np.ndarray, np.ndarray], np.ndarray]
"""``(spot, right, vix, minutes_to_expiry) -> strikes``: the broker's contract selection,
vectorised, evaluated with what the decision saw (bar close)."""


def slippage_array(execution: ExecutionModel, bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
    """Slippage per share of the execution model's slippage object, element-wise.

    Uses the object's ``slippage_array`` when it has one (the broker's
    :class:`~zerodte.broker.fills.SpreadFractionSlippage` does); otherwise evaluates the
    scalar ``slippage(quote)`` of the same object on every element (identical semantics,
    slower).
    """
    vec = getattr(execution.slippage, "slippage_array", None)
    if callable(vec):
        return np.asarray(vec(bid, ask), dtype=np.float64)
    return _scalar_slippage(execution, bid, ask)


_CONTRACT = OptionContract("SPY", date(2000, 1, 3), Right.CALL, 0.0)
_STAMP = pd.Timestamp("2000-01-03 09:30", tz="America/New_York")


def _quote(bid: float, ask: float) -> OptionQuote:
    """A quote with only ``bid`` and ``ask`` set: all a scalar fill or slippage model reads."""
    return OptionQuote(_CONTRACT, _STAMP, bid, ask, 0.0)


def _scalar_slippage(execution: ExecutionModel, bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
    out = np.full(bid.shape, np.nan)
    for i, (b, a) in enumerate(zip(bid.tolist(), ask.tolist(), strict=True)):
        if np.isfinite(b) and np.isfinite(a):
            out[i] = execution.slippage.slippage(_quote(b, a))
    return out


def fill_prices(
    execution: ExecutionModel, side: Side, bid: np.ndarray, ask: np.ndarray
) -> np.ndarray:
    """Element-wise :meth:`ExecutionModel.price` for marketable orders (price only).

    The fill model's ``base_price_array`` when it has one (the broker's ask/bid fill does),
    else its scalar ``base_price`` on every element (identical semantics, slower).
    """
    vec = getattr(execution.fill, "base_price_array", None)
    if callable(vec):
        base = np.asarray(vec(side, bid, ask), dtype=np.float64)
    else:
        base = np.array(
            [
                execution.fill.base_price(side, _quote(b, a))
                for b, a in zip(bid.tolist(), ask.tolist(), strict=True)
            ]
        )
    slip = slippage_array(execution, bid, ask)
    if side is Side.BUY:
        return base + slip
    price = base - slip
    return np.where(price < 0.0, 0.0, price)


def latency_bars(execution: ExecutionModel) -> int:
    """Whole bars between a decision bar and the bar whose open its order fills at."""
    due = execution.latency.due_time(_STAMP)
    return max(round((due - _STAMP).total_seconds() / 60.0), 1)
