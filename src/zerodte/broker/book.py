"""The account book every broker keeps: ledger, marks, sessions and expiry settlement.

The paper broker and the Tradier broker book their fills here, so both report the same
:class:`~zerodte.types.AccountState` (cash, equity at the close bid, the gate counters)
from the same fills; only where the fills come from differs.

* Positions are marked at the BID of the latest snapshot's CLOSE quote (what a sale would
  get before slippage); a contract without a usable close quote keeps its last mark.
* A new session rolls the day counters and values positions carried overnight at their
  last marks (``day_start_equity``).
* A position still open after its expiry session settles at intrinsic value from the last
  underlying price seen, with no fee, at the session close, tagged
  ``<opening tag>-exp`` (:func:`zerodte.broker.tags.settlement_tag`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import date

import pandas as pd

from zerodte.broker.ledger import ClosedTrade, Ledger
from zerodte.broker.tags import settlement_tag
from zerodte.errors import BrokerError
from zerodte.types import (
    AccountState,
    Fill,
    OptionContract,
    OptionQuote,
    Position,
    Right,
    Side,
    Snapshot,
)

logger = logging.getLogger(__name__)

SessionBounds = Callable[[date], tuple[pd.Timestamp, pd.Timestamp]]
"""``session -> (open, close)`` of the regular session, tz-aware New York times."""


def calendar_session_bounds() -> SessionBounds:
    """Session bounds from the NYSE calendar (13:00 closes on half days)."""
    from zerodte.market.calendar import TradingCalendar

    cal = TradingCalendar()
    return lambda day: (cal.session_open(day), cal.session_close(day))


def intrinsic_value(contract: OptionContract, underlying: float) -> float:
    """``max(S - K, 0)`` for a call, ``max(K - S, 0)`` for a put."""
    if contract.right is Right.CALL:
        return max(underlying - contract.strike, 0.0)
    return max(contract.strike - underlying, 0.0)


class AccountBook:
    """Cash, positions, marks and session counters of one account, kept from fills.

    Parameters
    ----------
    initial_cash
        Starting cash in dollars.
    session_bounds
        ``session -> (open, close)``; defaults to the NYSE calendar.
    """

    def __init__(self, initial_cash: float, session_bounds: SessionBounds | None = None) -> None:
        self.ledger = Ledger(initial_cash)
        self._bounds_fn = session_bounds
        self._bounds: dict[date, tuple[pd.Timestamp, pd.Timestamp]] = {}
        self._snapshot: Snapshot | None = None
        self._session: date | None = None
        self._marks: dict[OptionContract, float] = {}
        self._marked: Snapshot | None = None
        self._underlying: dict[str, float] = {}
        self._day_start_equity: float | None = None

    @property
    def session(self) -> date | None:
        """The session of the latest snapshot."""
        return self._session

    @property
    def snapshot(self) -> Snapshot | None:
        """The latest snapshot observed."""
        return self._snapshot

    @property
    def bounds_source(self) -> SessionBounds | None:
        """The ``session_bounds`` function given (``None``: the NYSE calendar)."""
        return self._bounds_fn

    def session_bounds(self, session: date) -> tuple[pd.Timestamp, pd.Timestamp]:
        """``(open, close)`` of ``session`` (cached)."""
        bounds = self._bounds.get(session)
        if bounds is None:
            if self._bounds_fn is None:
                self._bounds_fn = calendar_session_bounds()
            bounds = self._bounds_fn(session)
            self._bounds[session] = bounds
        return bounds

    # -- snapshots and sessions ----------------------------------------------------------
    def start_session(self, session: date) -> list[Fill]:
        """Enter ``session``: settle what expired, roll the counters; returns settlements."""
        fills: list[Fill] = []
        previous = self._session
        if previous is not None and self._marks:
            fills = self.settle_expired(min(previous, session))
        self._session = session
        self.ledger.roll_session(session)
        # Positions carried overnight are valued at their last marks (the previous close).
        self._day_start_equity = self.ledger.cash + self.ledger.positions_value(self._marks)
        return fills

    def observe(self, snapshot: Snapshot) -> None:
        """Make ``snapshot`` the latest (marks are refreshed lazily from its close quotes)."""
        self._snapshot = snapshot
        if self._marks:
            for contract in self._marks:
                bar = snapshot.bars.get(contract.underlying)
                if bar is not None and math.isfinite(bar.close):
                    self._underlying[contract.underlying] = bar.close

    # -- fills ---------------------------------------------------------------------------
    def book(
        self, fill: Fill, session: date, quote: OptionQuote | None, settled: bool = False
    ) -> ClosedTrade | None:
        """Book ``fill`` (made in ``session``); ``quote`` is the quote it filled against.

        The position's mark becomes ``quote``'s bid (the fill price when there is no
        quote) until the next close quote is seen.
        """
        trade = self.ledger.apply(fill, session, settled=settled)
        contract = fill.contract
        if self.ledger.position(contract) is None:
            self._marks.pop(contract, None)
        elif quote is not None and math.isfinite(quote.bid) and quote.bid >= 0.0:
            self._marks[contract] = quote.bid
            if math.isfinite(quote.underlying_price):
                self._underlying[contract.underlying] = quote.underlying_price
        else:
            logger.debug("no quote at the fill of %s; marked at the fill price", fill.tag)
            self._marks[contract] = fill.price
        self._marked = None
        return trade

    def settle_expired(self, session: date) -> list[Fill]:
        """Settle positions expiring on or before ``session`` at intrinsic value.

        The underlying price is the last one seen (the close of the last bar observed); the
        settlement is a SELL fill at ``max(S - K, 0)`` (call) or ``max(K - S, 0)`` (put), no
        fee, time = the expiry session's close, tag = ``<opening tag>-exp``.
        """
        fills: list[Fill] = []
        for pos in self.ledger.positions():
            contract = pos.contract
            if contract.expiry > session:
                continue
            price = self._underlying.get(contract.underlying)
            if price is None:
                raise BrokerError(
                    f"cannot settle {contract}: no {contract.underlying} price was seen; poll "
                    "at least one snapshot with its bar (or quote) before settlement"
                )
            fill = Fill(
                tag=settlement_tag(pos.tag),
                contract=contract,
                side=Side.SELL,
                qty=pos.qty,
                price=intrinsic_value(contract, price),
                fee=0.0,
                time=self.session_bounds(contract.expiry)[1],
                group=pos.group,
            )
            self.ledger.apply(fill, self._session or contract.expiry, settled=True)
            self._marks.pop(contract, None)
            logger.info("settled %s x%d at intrinsic %.4f", contract, pos.qty, fill.price)
            fills.append(fill)
        return fills

    # -- queries -------------------------------------------------------------------------
    def positions(self) -> tuple[Position, ...]:
        """Open positions (average price, entry time of the first fill, opening tag)."""
        return self.ledger.positions()

    def account(self) -> AccountState:
        """Cash, equity (positions at the latest close bid), buying power and counters."""
        snap = self._snapshot
        if snap is not None and self._marked is not snap and self._marks:
            self._mark(snap)
        return self.ledger.account(self._marks, day_start_equity=self._day_start_equity)

    def marks(self) -> dict[OptionContract, float]:
        """Current per-share marks (close bids) of the open positions."""
        self.account()
        return dict(self._marks)

    def _mark(self, snapshot: Snapshot) -> None:
        for contract in self._marks:
            quote = snapshot.quotes.quote(contract, at="close")
            if quote is not None and math.isfinite(quote.bid) and quote.bid >= 0.0:
                self._marks[contract] = quote.bid
                if contract.underlying not in snapshot.bars and math.isfinite(
                    quote.underlying_price
                ):
                    self._underlying[contract.underlying] = quote.underlying_price
            else:
                logger.debug(
                    "no close bid for %s at %s; keeping last mark", contract, snapshot.time
                )
        self._marked = snapshot
