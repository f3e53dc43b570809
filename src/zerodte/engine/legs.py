"""Which contracts an entry buys: one for a call or put, two legs for a straddle.

A straddle buys the contract selection's call and the put of the same strike and expiry
(``options.selection`` picks the call; with the default ``atm`` that is the at-the-money
strike for both rights). Each leg is its own order with its own client tag
(``<tag>-C``, ``<tag>-P``: venue-legal, see :mod:`zerodte.broker.tags`) and the straddle's
tag as ``Order.group``, so the broker, an order journal and the trade records can tell the
legs apart and put them back together.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from zerodte.types import Action, Observation, OptionContract, OptionQuote, QuoteBook, Right


class _Selector(Protocol):
    def select(
        self, observation: Observation, right: Right, quotes: QuoteBook
    ) -> OptionContract | None: ...


@dataclass(frozen=True, slots=True)
class Leg:
    """One contract an entry buys, with its close quote and its order tag suffix."""

    contract: OptionContract
    quote: OptionQuote
    suffix: str


def entry_legs(
    action: int, selector: _Selector, observation: Observation, quotes: QuoteBook
) -> tuple[list[Leg], str]:
    """The legs of an entry (empty with a reason when a contract or quote is unusable)."""
    if action == Action.BUY_STRADDLE:
        call = selector.select(observation, Right.CALL, quotes)
        if call is None:
            return [], "no usable CALL contract for the straddle"
        put = replace(call, right=Right.PUT)
        legs = []
        for contract, suffix in ((call, "-C"), (put, "-P")):
            quote = quotes.quote(contract, at="close")
            if quote is None or not quote.ask > 0:
                return [], f"no usable {contract.right.name} quote for the straddle"
            legs.append(Leg(contract, quote, suffix))
        return legs, ""
    right = Right.CALL if action == Action.BUY_CALLS else Right.PUT
    single = selector.select(observation, right, quotes)
    quote = None if single is None else quotes.quote(single, at="close")
    if single is None or quote is None or not quote.ask > 0:
        return [], f"no usable {right.name} contract"
    return [Leg(single, quote, "")], ""
