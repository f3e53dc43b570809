"""Bookkeeping of the trades the engine opened: entry context, minute-by-minute extremes,
and the finished trade rows (:data:`~zerodte.records.TRADE_COLUMNS`).

Cash and positions belong to the broker; this module only remembers what the broker does
not: why a trade was entered, what the market looked like then, and how far the option
went for and against it while open.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from zerodte.exits.base import TrackedPosition
from zerodte.policy.strategies import strategy_label
from zerodte.records import TRADE_COLUMNS
from zerodte.types import CONTRACT_MULTIPLIER, Decision, Fill, Observation, OptionQuote, Position

FEATURE_CONTEXT = ("momentum_5m", "momentum_15m", "volume_spike")
"""Feature values copied onto every trade row at entry."""

PREDICTION_CONTEXT: tuple[str, ...] = TRADE_COLUMNS[
    TRADE_COLUMNS.index("predicted_return") : TRADE_COLUMNS.index("q_put") + 1
]
"""Context values copied when the decision or the observation supplies them (else null)."""


def entry_context(
    observation: Observation,
    decision: Decision,
    quote: OptionQuote,
    controller: str,
) -> dict[str, Any]:
    """The trade-row columns known when the entry order is sent."""
    ctx: dict[str, Any] = {
        "spy_price": observation.spy,
        "vix_level": observation.vix,
        "delta": quote.delta,
        "iv": quote.iv,
        "entry_controller": controller,
        "signal_strategy": strategy_label(decision, controller),
        "signal_reasoning": "; ".join(decision.reasons),
    }
    for key in FEATURE_CONTEXT:
        feature = observation.features.get(key)
        ctx[key] = None if feature is None else float(feature)
    for key in PREDICTION_CONTEXT:
        ctx[key] = decision.context.get(key, observation.context.get(key))
    ctx["prediction_timeframe"] = decision.context.get("prediction_timeframe")
    return ctx


@dataclass
class OpenTrade:
    """A trade the engine holds: its entry and what the option did since."""

    tag: str
    position: Position
    entry_fee: float
    context: dict[str, Any]
    session: object
    max_gain_pct: float | None = None
    max_drawdown_pct: float | None = None
    tracked: TrackedPosition | None = None
    exits_sent: int = 0
    group: str = ""
    exit_hmm_trend: object = None

    def track(self, tracked: TrackedPosition) -> None:
        """Take this minute's extremes from the exit manager's tracked state."""
        if tracked.max_gain_pct == tracked.max_gain_pct:  # not NaN (no quote yet)
            self.max_gain_pct = tracked.max_gain_pct
            self.max_drawdown_pct = tracked.max_drawdown_pct
        self.tracked = tracked


def trade_row(
    trade_id: int,
    trade: OpenTrade,
    fill: Fill,
    *,
    reason: str,
    exit_spy: float,
    exit_vix: float,
) -> dict[str, Any]:
    """The finished row for a (partial) exit ``fill`` of ``trade``.

    Fees are the exit fee plus the entry fee pro rata to the contracts sold, so that
    ``pnl = (exit - entry) * 100 * qty - fees`` and the rows of one trade add up.

    ``spread_cost`` is the HALF spread paid on each side, in dollars: ``((ask - bid) at
    entry / 2 + (ask - bid) at exit / 2) * 100 * qty``, i.e. what the round trip cost
    against the mid before slippage (a settlement at expiry pays no spread).
    ``entry_quote`` and ``exit_quote`` say whether each side filled against a real market
    quote (``"real"``) or the model's (``"model"``; ``""``: settled, no quote).
    """
    pos = trade.position
    share = fill.qty / pos.qty
    fees = trade.entry_fee * share + fill.fee
    cost = pos.avg_price * CONTRACT_MULTIPLIER * fill.qty
    pnl = (fill.price - pos.avg_price) * CONTRACT_MULTIPLIER * fill.qty - fees
    c = pos.contract
    row: dict[str, Any] = {
        "trade_id": trade_id,
        "tag": trade.tag,
        "session": trade.session,
        "entry_time": pos.entry_time,
        "exit_time": fill.time,
        "symbol": c.symbol,
        "underlying": c.underlying,
        "right": c.right.value,
        "strike": c.strike,
        "expiry": c.expiry,
        "qty": fill.qty,
        "entry_price": pos.avg_price,
        "exit_price": fill.price,
        "fees": fees,
        "pnl": pnl,
        "pnl_pct": pnl / cost * 100.0 if cost > 0 else None,
        "exit_reason": reason,
        "hold_minutes": (fill.time - pos.entry_time).total_seconds() / 60.0,
        "max_gain_pct": trade.max_gain_pct,
        "max_drawdown_pct": trade.max_drawdown_pct,
        "exit_spy_price": exit_spy,
        "exit_vix_level": exit_vix,
        "exit_hmm_trend": trade.exit_hmm_trend,
    }
    row.update(trade.context)
    half_in = float(row.pop("entry_half_spread", math.nan))
    paid = (half_in + half_spread(fill)) * CONTRACT_MULTIPLIER * fill.qty
    row["spread_cost"] = None if math.isnan(paid) else paid
    row.setdefault("entry_quote", "")
    row["exit_quote"] = fill.quote_source
    return row


def half_spread(fill: Fill) -> float:
    """Half the quoted spread ``fill`` traded against, per share (0 without a quote)."""
    return 0.5 * fill.quote_spread


def position_groups(trades: Iterable[OpenTrade]) -> list[tuple[str, list[OpenTrade]]]:
    """Open trades grouped by position (a straddle's legs together), in opening order."""
    groups: dict[str, list[OpenTrade]] = {}
    for trade in trades:
        groups.setdefault(trade.group or trade.tag, []).append(trade)
    return list(groups.items())


POSITION_CONTEXT: tuple[str, ...] = (
    "position_pnl_pct",
    "position_max_drawdown_pct",
    "position_minutes_held",
    "position_is_call",
    "position_delta",
)
"""Context keys an observation carries while a position is open (first position only)."""


def position_context(trades: Iterable[OpenTrade]) -> dict[str, float]:
    """The first open position's values as of its last mark (NaN ones omitted).

    The exit rules mark positions after the observation of a cycle is built, so these are
    the previous minute's marks; a state built from them is the same in every path.
    """
    first = next(iter(trades), None)
    if first is None:
        return {}
    out: dict[str, float] = {"position_is_call": float(first.position.contract.right.value == "C")}
    t = first.tracked
    if t is not None:
        for key, value in (
            ("position_pnl_pct", t.pnl_pct),
            ("position_max_drawdown_pct", t.max_drawdown_pct),
            ("position_minutes_held", t.minutes_held),
        ):
            if not math.isnan(value):
                out[key] = float(value)
    delta = first.context.get("delta")
    if isinstance(delta, float) and not math.isnan(delta):
        out["position_delta"] = delta
    return out
