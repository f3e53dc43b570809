"""Cash, positions and the account counters entry gates need, maintained from fills.

The ledger is pure bookkeeping: it never prices anything and never sees a quote. The paper
broker owns one; a live broker can keep one alongside the venue's own numbers to provide the
same :class:`~zerodte.types.AccountState` counters.

Accounting identities (tested with hypothesis in ``tests/broker``):

* buy of ``q`` at ``p`` with fee ``f``: ``cash -= p * 100 * q + f``;
* sell of ``q`` at ``p`` with fee ``f``: ``cash += p * 100 * q - f``;
* a position's cost basis is its average price (``avg_price``); a partial sale removes
  ``avg_price * q`` of basis and the same fraction of the entry fees;
* every sale closes a :class:`ClosedTrade` with
  ``pnl = (exit - entry) * 100 * qty - (allocated entry fees + exit fee)``, so that, once
  flat, ``sum(pnl) == cash - initial_cash``.
* a position of several legs (a straddle: a call and a put sharing ``Fill.group``) is one
  contract per leg here; each leg's sale closes its own :class:`ClosedTrade` carrying the
  group, and the position's P&L is the sum of its legs' (:meth:`Ledger.group_pnl`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta

import pandas as pd

from zerodte.errors import BrokerError
from zerodte.types import CONTRACT_MULTIPLIER, AccountState, Fill, OptionContract, Position, Side

DAY_TRADE_MEMORY_DAYS = 14
"""Calendar days of day-trade dates kept in ``AccountState.day_trades_window``.

The PDT gate counts the ones inside its own window (5 business days by default), which
always fits in 14 calendar days."""


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """One sale (full or partial exit) matched against the position's average cost."""

    tag: str
    exit_tag: str
    contract: OptionContract
    qty: int
    entry_time: pd.Timestamp
    exit_time: pd.Timestamp
    entry_price: float
    exit_price: float
    fees: float
    pnl: float
    settled: bool = False
    group: str = ""


class Ledger:
    """Cash, positions (average price), realised P&L and per-session counters.

    Parameters
    ----------
    initial_cash
        Starting cash in dollars.

    Notes
    -----
    Counters (see :meth:`account`): ``trades_today`` counts opening (buy) fills of the
    current session; ``day_trades_window`` holds one session date per day trade (a
    position opened and sold in the same session, counted once at its first sale; expiry
    settlement is not a day trade) from the last :data:`DAY_TRADE_MEMORY_DAYS` calendar
    days; ``realized_pnl_today`` sums :attr:`ClosedTrade.pnl` of the current session's
    sales; ``last_exit_time`` is the time of the latest sale.
    """

    def __init__(self, initial_cash: float) -> None:
        self.initial_cash = float(initial_cash)
        self.cash = float(initial_cash)
        self._positions: dict[OptionContract, Position] = {}
        self._opened_session: dict[OptionContract, date] = {}
        self._day_traded: set[OptionContract] = set()
        self._closed: list[ClosedTrade] = []
        self._session: date | None = None
        self._trades_today = 0
        self._realized_today = 0.0
        self._realized_total = 0.0
        self._day_trades: list[date] = []
        self._last_exit: pd.Timestamp | None = None

    # -- queries -------------------------------------------------------------------------
    def positions(self) -> tuple[Position, ...]:
        """Open positions in the order they were opened."""
        return tuple(self._positions.values())

    def position(self, contract: OptionContract) -> Position | None:
        """The open position in ``contract`` or ``None``."""
        return self._positions.get(contract)

    def closed_trades(self) -> tuple[ClosedTrade, ...]:
        """Every sale so far, oldest first."""
        return tuple(self._closed)

    def group_pnl(self, group: str) -> float:
        """Realised P&L of every leg of the position ``group`` (sum of its closed trades)."""
        return sum(t.pnl for t in self._closed if t.group == group)

    @property
    def realized_pnl(self) -> float:
        """Sum of :attr:`ClosedTrade.pnl` over the whole run."""
        return self._realized_total

    def positions_value(self, marks: Mapping[OptionContract, float]) -> float:
        """``sum(mark * 100 * qty)`` over open positions; every position needs a mark."""
        total = 0.0
        for contract, pos in self._positions.items():
            total += marks[contract] * CONTRACT_MULTIPLIER * pos.qty
        return total

    def account(
        self, marks: Mapping[OptionContract, float], day_start_equity: float | None = None
    ) -> AccountState:
        """Account state with positions marked at ``marks`` (per-share bid prices)."""
        equity = self.cash + self.positions_value(marks)
        return AccountState(
            cash=self.cash,
            equity=equity,
            buying_power=self.cash,  # long options: no margin, buying power is cash
            open_positions=len(self._positions),
            trades_today=self._trades_today,
            day_trades_window=tuple(self._day_trades),
            realized_pnl_today=self._realized_today,
            last_exit_time=self._last_exit,
            day_start_equity=day_start_equity,
        )

    # -- updates -------------------------------------------------------------------------
    def roll_session(self, session: date) -> None:
        """Start counting for ``session`` (no-op when it is already the current one)."""
        if session == self._session:
            return
        self._session = session
        self._trades_today = 0
        self._realized_today = 0.0
        horizon = session - timedelta(days=DAY_TRADE_MEMORY_DAYS)
        self._day_trades = [d for d in self._day_trades if d > horizon]

    def apply(self, fill: Fill, session: date, settled: bool = False) -> ClosedTrade | None:
        """Book ``fill`` (made in ``session``); returns the closed trade for a sale.

        Raises
        ------
        BrokerError
            A sale of more contracts than are held: the books and the venue disagree.
        """
        self.roll_session(session)
        notional = fill.price * CONTRACT_MULTIPLIER * fill.qty
        if fill.side is Side.BUY:
            self.cash -= notional + fill.fee
            self._trades_today += 1
            self._open(fill, session)
            return None
        pos = self._positions.get(fill.contract)
        if pos is None or pos.qty < fill.qty:
            held = 0 if pos is None else pos.qty
            raise BrokerError(
                f"sale of {fill.qty} {fill.contract} but {held} held; the ledger and the "
                "broker disagree, reconcile positions before trading again"
            )
        self.cash += notional - fill.fee
        share = fill.qty / pos.qty
        entry_fees = pos.entry_fees * share
        fees = entry_fees + fill.fee
        pnl = (fill.price - pos.avg_price) * CONTRACT_MULTIPLIER * fill.qty - fees
        trade = ClosedTrade(
            tag=pos.tag,
            exit_tag=fill.tag,
            contract=fill.contract,
            qty=fill.qty,
            entry_time=pos.entry_time,
            exit_time=fill.time,
            entry_price=pos.avg_price,
            exit_price=fill.price,
            fees=fees,
            pnl=pnl,
            settled=settled,
            group=pos.group,
        )
        self._closed.append(trade)
        self._realized_today += pnl
        self._realized_total += pnl
        self._last_exit = fill.time
        if (
            not settled
            and self._opened_session.get(fill.contract) == session
            and fill.contract not in self._day_traded
        ):
            self._day_traded.add(fill.contract)
            self._day_trades.append(session)
        remaining = pos.qty - fill.qty
        if remaining == 0:
            del self._positions[fill.contract]
            self._opened_session.pop(fill.contract, None)
            self._day_traded.discard(fill.contract)
        else:
            self._positions[fill.contract] = replace(
                pos, qty=remaining, entry_fees=pos.entry_fees - entry_fees
            )
        return trade

    def _open(self, fill: Fill, session: date) -> None:
        pos = self._positions.get(fill.contract)
        if pos is None:
            self._positions[fill.contract] = Position(
                contract=fill.contract,
                qty=fill.qty,
                avg_price=fill.price,
                entry_time=fill.time,
                entry_fees=fill.fee,
                tag=fill.tag,
                group=fill.group,
            )
            self._opened_session[fill.contract] = session
            return
        qty = pos.qty + fill.qty
        avg = (pos.avg_price * pos.qty + fill.price * fill.qty) / qty
        self._positions[fill.contract] = replace(
            pos, qty=qty, avg_price=avg, entry_fees=pos.entry_fees + fill.fee
        )
