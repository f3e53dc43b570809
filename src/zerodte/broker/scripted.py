"""Scripted quotes and snapshots: a dict-backed ``QuoteBook`` for scenario tables.

Exit-rule scenario tables, broker contract tests and runnable examples need exact,
hand-written quotes rather than modelled ones. :class:`ScriptedQuoteBook` returns exactly
what it was given (``None`` when a contract has no quote at that instant), and
:func:`scripted_snapshot` builds a :class:`~zerodte.types.Snapshot` around it with the
time conventions the engine uses:

* both are measured at the decision time, the close of the bar (``time + 1 min``):
  ``minutes_since_open = (time + 1 min - open) / 1 min`` (1 at the first bar) and
  ``minutes_to_close = (close - (time + 1 min)) / 1 min`` (0 at the last bar).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import pandas as pd

from zerodte.types import Bar, OptionContract, OptionQuote, Snapshot

BAR = pd.Timedelta(minutes=1)


class ScriptedQuoteBook:
    """A :class:`~zerodte.types.QuoteBook` answering from two dicts (open and close quotes).

    Parameters
    ----------
    open
        Quote of each contract at the bar's start.
    close
        Quote of each contract at the bar's end; defaults to ``open``.
    """

    __slots__ = ("_close", "_open")

    def __init__(
        self,
        open: Mapping[OptionContract, OptionQuote],
        close: Mapping[OptionContract, OptionQuote] | None = None,
    ) -> None:
        self._open = dict(open)
        self._close = dict(open if close is None else close)

    def quote(self, contract: OptionContract, at: str = "close") -> OptionQuote | None:
        """The scripted quote of ``contract`` at ``at`` ("open" or "close"), else ``None``."""
        if at == "open":
            return self._open.get(contract)
        if at == "close":
            return self._close.get(contract)
        raise ValueError(f'at must be "open" or "close", got {at!r}')


def make_quote(
    contract: OptionContract,
    time: pd.Timestamp,
    bid: float,
    ask: float,
    underlying_price: float = 500.0,
) -> OptionQuote:
    """An :class:`OptionQuote` with the given bid/ask (greeks unknown)."""
    return OptionQuote(
        contract=contract, time=time, bid=bid, ask=ask, underlying_price=underlying_price
    )


def scripted_snapshot(
    index: int,
    time: pd.Timestamp,
    session_open: pd.Timestamp,
    session_close: pd.Timestamp,
    quotes: ScriptedQuoteBook,
    *,
    underlying: Mapping[str, float] | None = None,
) -> Snapshot:
    """A snapshot of the bar starting at ``time``; ``underlying`` gives flat bars by symbol."""
    bars = {
        sym: Bar(time=time, open=px, high=px, low=px, close=px, volume=0.0)
        for sym, px in (underlying or {}).items()
    }
    session: date = session_open.date()
    return Snapshot(
        index=index,
        time=time,
        session=session,
        minutes_since_open=(time + BAR - session_open) / BAR,
        minutes_to_close=(session_close - time - BAR) / BAR,
        bars=bars,
        quotes=quotes,
    )
