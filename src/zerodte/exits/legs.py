"""Positions of several legs (a straddle) seen by the exit rules as one position.

A straddle is a call and a put bought together (same strike and expiry, same quantity).
Its exit rules act on the position, not on a leg: a straddle pays when either leg moves
far enough to outrun both premiums, so a stop on one leg alone would sell the winning
side's partner at the worst time. :func:`combine_legs` builds the one position and the one
quote the rules read::

    avg_price  = sum of the legs' avg prices      (premium paid per share for one straddle)
    entry_fees = sum of the legs' entry fees
    bid, ask   = sum of the legs' bids, asks      (what selling / buying both legs gets)
    delta, gamma, theta, vega = sums;  iv = mean

so ``pnl_pct`` and the dollar loss cap are those of the position, and a signal closes every
leg. The combined position keeps the first leg's contract (its expiry is the position's)
and is tagged with the group, so its tracked state never collides with a single leg's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from zerodte.types import OptionQuote, Position


def combine_legs(
    legs: Sequence[Position], quotes: Sequence[OptionQuote | None], group: str
) -> tuple[Position, OptionQuote | None]:
    """The one position and quote the exit rules see for the legs of ``group``.

    The quote is ``None`` when any leg has no quote (the rules then apply the time rules
    only, as for a single position without a quote).
    """
    if not legs or len(legs) != len(quotes):
        raise ValueError(f"need one quote per leg, got {len(legs)} legs, {len(quotes)} quotes")
    first = legs[0]
    position = Position(
        contract=first.contract,
        qty=min(p.qty for p in legs),
        avg_price=sum(p.avg_price for p in legs),
        entry_time=min(p.entry_time for p in legs),
        entry_fees=sum(p.entry_fees for p in legs),
        tag=group,
        group=group,
    )
    if any(q is None for q in quotes):
        return position, None
    qs = [q for q in quotes if q is not None]

    def total(name: str) -> float:
        values = [float(getattr(q, name)) for q in qs]
        return math.nan if any(math.isnan(v) for v in values) else sum(values)

    quote = OptionQuote(
        contract=first.contract,
        time=qs[0].time,
        bid=sum(q.bid for q in qs),
        ask=sum(q.ask for q in qs),
        underlying_price=qs[0].underlying_price,
        iv=total("iv") / len(qs),
        delta=total("delta"),
        gamma=total("gamma"),
        theta=total("theta"),
        vega=total("vega"),
    )
    return position, quote
