"""The cycle loop. It composes the parts and holds no strategy logic.

Per cycle ``t`` (a decision at ``t`` sees data through the close of bar ``t``):

1. ``broker.poll(snapshot_t)``: orders sent at ``t-1`` fill at bar ``t``'s OPEN quote;
2. open positions are marked at ``t``'s close bid and shown to the exit policy; exit
   orders go to the broker (they fill at ``t+1``'s open);
3. the decision for ``t`` comes from the :class:`DecisionSource` (precomputed batch
   arrays, or ``controller.decide(observation)`` streaming); a non-HOLD decision passes
   every gate (all vetoes are recorded), is sized, its contract selected, and sent;
4. equity (cash + positions at the close bid) and the decision are recorded.

Every closed trade (each exit fill, as recorded) is shown, in order, to each gate and to
the decision source's controller that defines ``observe_trade(row)``, as a plain dict of
the :data:`~zerodte.records.TRADE_COLUMNS`. A trade filled at bar ``t``'s open is known
to the gates of the decision at ``t``'s close.

A flat, idle, HOLD cycle touches a few lists and arrays only: the snapshot, the
observation and the account are built when the broker, the exits or the gates need them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from zerodte.broker.base import Broker, BrokerEvent, Rejection
from zerodte.engine.feed import ONE_MINUTE, CloseAsOpenBook, Feed
from zerodte.engine.legs import entry_legs
from zerodte.engine.recorder import Recorder
from zerodte.engine.trades import (
    OpenTrade,
    entry_context,
    position_context,
    position_groups,
    trade_row,
)
from zerodte.errors import OrderRejected
from zerodte.exits.base import TrackedPosition
from zerodte.exits.legs import combine_legs
from zerodte.policy.base import Gate
from zerodte.policy.sizing import Sizer
from zerodte.types import (
    AccountState,
    Action,
    Decision,
    ExitReason,
    ExitSignal,
    Fill,
    Observation,
    OptionContract,
    OptionQuote,
    Order,
    Position,
    QuoteBook,
    Right,
    Side,
    Snapshot,
)

logger = logging.getLogger(__name__)

SETTLEMENT_SUFFIX = ":expiry"
SETTLED_REASON = "expiry_settlement"


class ContractSelector(Protocol):
    """Which contract an entry buys."""

    def select(
        self, observation: Observation, right: Right, quotes: QuoteBook
    ) -> OptionContract | None:
        """The contract to buy for ``right`` at this observation, or ``None``."""
        ...


class ExitPolicy(Protocol):
    """Exit rules applied to each open position every minute (hard rules first);
    :class:`zerodte.exits.manager.ExitManager` is the implementation."""

    def step(
        self, position: Position, quote: OptionQuote | None, observation: Observation
    ) -> tuple[TrackedPosition, ExitSignal | None]:
        """Track ``position`` to this minute and return an exit signal or ``None``."""
        ...

    def prune(self, open_positions: Iterable[Position]) -> list[TrackedPosition]:
        """Forget closed positions."""
        ...


class DecisionSource(Protocol):
    """Where the decision of cycle ``i`` comes from (batch arrays or a streaming controller).

    A source may carry the ``controller`` behind its decisions; the engine shows it closed
    trades when it has ``observe_trade``.
    """

    name: str

    def prepare(self, recorder: Recorder) -> None:
        """Called once before the loop."""
        ...

    def action(self, i: int, observe: Callable[[], Observation]) -> int:
        """The controller's action at cycle ``i`` (``observe`` builds the observation)."""
        ...

    def decision(self, i: int) -> Decision:
        """The full decision of cycle ``i`` (after :meth:`action` for the same ``i``)."""
        ...

    def features(self, i: int) -> Mapping[str, float]:
        """Feature values at cycle ``i``."""
        ...


ContextSource = Callable[[int], Mapping[str, float]]
"""``cycle -> context`` (regime, predictor outputs) for the observation."""

TradeObserver = Callable[[dict[str, Any]], None]
"""``observe_trade(row)`` of a gate or controller that learns from closed trades."""


def trade_observers(parts: Iterable[object]) -> tuple[TradeObserver, ...]:
    """The ``observe_trade`` methods of ``parts`` (duck-typed; ``None`` parts are skipped)."""
    found = (getattr(part, "observe_trade", None) for part in parts if part is not None)
    return tuple(observe for observe in found if observe is not None)


@dataclass
class EngineRun:
    """What a finished loop hands back."""

    recorder: Recorder
    cycles: int
    open_at_end: int


class Engine:
    """The loop over a feed. Every part is injected; see the module docstring.

    Parameters
    ----------
    feed, broker, recorder
        The seams. ``poll_when_idle=False`` lets a purely reactive broker (the paper
        broker, which only acts on pending orders and open positions) skip its poll on
        flat, idle cycles; a live broker keeps the default ``True``.
    gates, sizer, selector, exits
        Entry gates (in order), sizing, contract selection, exit rules.
    controller_name
        Recorded on every trade.
    tag_prefix
        Client-tag prefix of every order.
    context
        Optional per-cycle context (regime/predictors) for the observation.
    """

    def __init__(
        self,
        *,
        feed: Feed,
        broker: Broker,
        recorder: Recorder,
        gates: Sequence[Gate],
        sizer: Sizer,
        selector: ContractSelector,
        exits: ExitPolicy,
        controller_name: str,
        tag_prefix: str = "zdte",
        context: ContextSource | None = None,
        poll_when_idle: bool = True,
        max_cycles: int | None = None,
    ) -> None:
        self.feed = feed
        self.broker = broker
        self.recorder = recorder
        self.gates = tuple(gates)
        self.sizer = sizer
        self.selector = selector
        self.exits = exits
        self.controller_name = controller_name
        self.tag_prefix = tag_prefix
        self.context = context
        self.poll_when_idle = poll_when_idle
        self.max_cycles = max_cycles
        # state of the run
        self._open: dict[OptionContract, OpenTrade] = {}
        self._pending_entries: dict[str, tuple[str, dict[str, object]]] = {}
        self._pending_exits: dict[str, tuple[str, OptionContract, int]] = {}
        self._settle_index = 0
        self._trade_id = 0
        self._cash = 0.0
        self._day_start_equity: float | None = None
        self._snap: Snapshot | None = None
        self._obs: Observation | None = None
        self._account: AccountState | None = None
        self._i = -1
        self._source: DecisionSource | None = None
        self._observers: tuple[TradeObserver, ...] = ()

    # -- the loop ------------------------------------------------------------------------
    def run(
        self, source: DecisionSource, progress: Callable[[int], None] | None = None
    ) -> EngineRun:
        """Run every cycle of the feed with decisions from ``source``."""
        self.begin(source)
        observe = self._observe
        hold = int(Action.HOLD)
        limit = self.max_cycles
        i = -1
        for i in self.feed.cycles():
            if limit is not None and i >= limit:
                i -= 1
                break
            self.open_cycle(i)
            action = source.action(i, observe)
            if action != hold:
                self._try_entry(i, action)
            self.close_cycle(i)
            if progress is not None and i % 4096 == 0:
                progress(i)
        return self.end(i + 1)

    # -- the cycle in steps (the loop above, and environments that step it) --------------
    def begin(self, source: DecisionSource) -> None:
        """Prepare a run with decisions from ``source`` (before the first cycle)."""
        self._source = source
        # Looked up once per run: a run whose gates do not learn pays nothing per trade.
        self._observers = trade_observers([*self.gates, getattr(source, "controller", None)])
        source.prepare(self.recorder)
        self._cash = self._account_now().cash

    def open_cycle(self, i: int) -> None:
        """Cycle ``i`` up to its decision: poll the broker (fills), mark and run the exits."""
        cols = self.feed.columns
        self._i = i
        self._snap = None
        self._obs = None
        self._account = None
        # The first bar of a session is always polled: the broker rolls its day counters
        # (trades today, realised P&L today) there.
        first = cols.first_of_session[i]
        if (
            self._open
            or self._pending_entries
            or self._pending_exits
            or self.poll_when_idle
            or first
        ):
            self._settle_index = i - 1 if i > 0 else 0
            self._handle(self.broker.poll(self._snapshot()))
        if first:
            self._day_start_equity = self._equity_now()
        if self._open:
            self._manage_exits(i, cols.last_of_session[i])

    def decide(self, i: int, action: int) -> None:
        """Act on cycle ``i``'s decision ``action`` (an entry through every gate)."""
        if action != Action.HOLD:
            self._try_entry(i, action)

    def close_cycle(self, i: int) -> None:
        """Record cycle ``i``'s equity (after its decision)."""
        if self._open:
            self._record_marked(i)
        else:
            self.recorder.cash[i] = self._cash

    def end(self, n: int) -> EngineRun:
        """Finish a run of ``n`` cycles: cancel pending entries, close what is open."""
        self.recorder.n_cycles = n
        if n > 0:
            self._finish(n - 1)
        return EngineRun(self.recorder, n, len(self._open))

    def observation(self) -> Observation:
        """The current cycle's observation (between :meth:`open_cycle` and the decision)."""
        return self._observe()

    def exit_all(self, reason: ExitReason = ExitReason.POLICY_EXIT) -> int:
        """Send a sale for every open position without one pending (a policy's EXIT);
        returns the number of orders. Not at a session's last bar (nothing could fill)."""
        if self.feed.columns.last_of_session[self._i]:
            return 0
        exiting = {contract for _, contract, _ in self._pending_exits.values()}
        sent = 0
        for trade in list(self._open.values()):
            if trade.position.contract not in exiting:
                self._send_exit(trade, trade.position.qty, reason.value)
                sent += 1
        return sent

    # -- parts of a cycle ----------------------------------------------------------------
    def _snapshot(self) -> Snapshot:
        if self._snap is None:
            self._snap = self.feed.snapshot(self._i)
        return self._snap

    def _observe(self) -> Observation:
        """The observation of the current cycle (built at most once per cycle)."""
        if self._obs is not None:
            return self._obs
        i = self._i
        c = self.feed.columns
        assert self._source is not None
        account = self._account_now()
        account = replace(
            account,
            open_positions=account.open_positions + len(self._pending_entries),
            day_start_equity=self._day_start_equity,
        )
        self._obs = Observation(
            index=i,
            time=c.time(i),
            session=c.sessions[i],
            minutes_since_open=c.minutes_since_open[i],
            minutes_to_close=c.minutes_to_close[i],
            spy=c.spy[i],
            qqq=c.qqq[i],
            vix=c.vix[i],
            features=self._source.features(i),
            context=self._context(i),
            positions=self.broker.positions(),
            account=account,
        )
        return self._obs

    def _context(self, i: int) -> Mapping[str, float]:
        """Regime/predictor context, plus the open position's tracked values when in a trade
        (as of its last mark: :func:`~zerodte.engine.trades.position_context`)."""
        context = self.context(i) if self.context is not None else {}
        if self._open:
            return {**context, **position_context(self._open.values())}
        return context

    def _account_now(self) -> AccountState:
        """The broker's account in this cycle, read once after the poll.

        Between a poll and the next one nothing changes the paper broker's account (orders
        only queue), so the observation, the equity record and the day's start share one
        read; :meth:`_handle` drops it after every poll and settlement.
        """
        if self._account is None:
            self._account = self.broker.account()
        return self._account

    def _equity_now(self) -> float:
        if not self._open:
            return self._cash
        return self._account_now().equity

    def _handle(self, events: Sequence[BrokerEvent]) -> None:
        """Book the broker's events after a poll or a settlement."""
        self._account = None  # the poll moved the marks; fills moved cash and positions
        if not events:
            return
        for event in events:
            if isinstance(event, Rejection):
                self._rejected(event)
            elif event.side is Side.BUY:
                self._bought(event)
            else:
                self._sold(event)
        self._cash = self._account_now().cash

    def _bought(self, fill: Fill) -> None:
        pending = self._pending_entries.pop(fill.tag, None)
        if pending is None:
            logger.warning("buy fill %s has no pending entry of this run; ignored", fill.tag)
            return
        pos = next((p for p in self.broker.positions() if p.contract == fill.contract), None)
        if pos is None:
            logger.warning("buy fill %s left no position at the broker", fill.tag)
            return
        trade = self._open.get(fill.contract)
        if trade is None:
            self._open[fill.contract] = OpenTrade(
                tag=fill.tag,
                position=pos,
                entry_fee=fill.fee,
                context=dict(pending[1]),
                session=self.feed.columns.sessions[self._i],
                group=str(pending[1].get("position_tag") or fill.tag),
            )
        else:
            # A second entry in the same contract averages in, as the broker does.
            trade.position = pos
            trade.entry_fee += fill.fee

    def _sold(self, fill: Fill) -> None:
        trade = self._open.get(fill.contract)
        if trade is None:
            logger.warning("sell fill %s for a contract this run does not hold", fill.tag)
            return
        if fill.tag.endswith(SETTLEMENT_SUFFIX):
            reason = SETTLED_REASON
            j = self._settle_index
        else:
            exit_ = self._pending_exits.pop(fill.tag, None)
            reason = "unknown" if exit_ is None else exit_[0]
            j = self._i
        snap = self._snap
        if snap is not None and j == self._i:
            spy, vix = snap.bars["SPY"].open, snap.bars["VIX"].open
        else:
            spy, vix = self.feed.columns.spy[j], self.feed.columns.vix[j]
        row = trade_row(self._trade_id, trade, fill, reason=reason, exit_spy=spy, exit_vix=vix)
        self._trade_id += 1
        stored = self.recorder.record_trade(row)
        for observe in self._observers:
            observe(dict(stored))  # a copy: an observer cannot alter the record
        remaining = trade.position.qty - fill.qty
        if remaining <= 0:
            del self._open[fill.contract]
            self.exits.prune(self.broker.positions())
        else:
            trade.entry_fee -= trade.entry_fee * fill.qty / trade.position.qty
            trade.position = replace(trade.position, qty=remaining)

    def _rejected(self, event: Rejection) -> None:
        order = event.order
        logger.info("order %s rejected: %s %s", order.tag, event.reason, event.detail)
        if order.side is Side.BUY:
            self._pending_entries.pop(order.tag, None)
        else:
            self._pending_exits.pop(order.tag, None)

    def _manage_exits(self, i: int, last_bar: bool) -> None:
        snap = self._snapshot()
        obs = self._observe()
        exiting = {contract for _, contract, _ in self._pending_exits.values()}
        for group, trades in position_groups(self._open.values()):
            quotes = [snap.quotes.quote(t.position.contract, at="close") for t in trades]
            if len(trades) == 1:
                position, quote = trades[0].position, quotes[0]
            else:
                position, quote = combine_legs([t.position for t in trades], quotes, group)
            tracked, signal = self.exits.step(position, quote, obs)
            for trade in trades:
                trade.track(tracked)
            if last_bar or any(t.position.contract in exiting for t in trades):
                # At the session's last bar no later bar can fill an exit: same-day
                # contracts settle at expiry through the broker.
                continue
            if signal is not None:
                for trade in trades:
                    held = trade.position.qty
                    qty = held if signal.qty is None else min(signal.qty, held)
                    self._send_exit(trade, qty, signal.reason.value, signal.detail)

    def _send_exit(self, trade: OpenTrade, qty: int, reason: str, detail: str = "") -> None:
        trade.exits_sent += 1
        if self._obs is not None:
            trade.exit_hmm_trend = self._obs.context.get("hmm_trend")
        tag = f"{trade.tag}:x{trade.exits_sent}"
        order = Order(tag, trade.position.contract, Side.SELL, qty, reason=reason)
        try:
            self.broker.submit(order)
        except OrderRejected as exc:
            logger.warning("exit %s refused by the broker: %s", tag, exc)
            return
        self._pending_exits[tag] = (reason, trade.position.contract, qty)

    def _try_entry(self, i: int, action: int) -> None:
        assert self._source is not None
        decision = self._source.decision(i)
        obs = self._observe()
        vetoes = [v for g in self.gates if (v := g.check(obs, decision)) is not None]
        if vetoes:
            self.recorder.record_vetoes(i, [(v.gate, v.reason) for v in vetoes])
            return
        legs, problem = entry_legs(action, self.selector, obs, self._snapshot().quotes)
        if not legs:
            self.recorder.record_vetoes(i, [("contract", problem)])
            return
        assert obs.account is not None
        # A straddle is sized on the price of one straddle (both asks).
        ask = sum(leg.quote.ask for leg in legs)
        size_for = getattr(self.sizer, "size_for", None)  # a sizer that reads the market
        sized = (
            size_for(ask, obs, decision)
            if size_for is not None
            else self.sizer.size(ask, obs.account)
        )
        qty = sized.contracts
        if qty < 1:
            self.recorder.record_vetoes(i, [("sizing", sized.reason or f"size {qty}")])
            return
        tag = f"{self.tag_prefix}-{i}"
        group = tag if len(legs) > 1 else ""
        sent: list[tuple[str, str]] = []
        for leg in legs:
            order = Order(
                tag + leg.suffix, leg.contract, Side.BUY, int(qty), reason="entry", group=group
            )
            try:
                order_id = self.broker.submit(order)
            except OrderRejected as exc:
                for sent_id, sent_tag in sent:  # never leave half a straddle
                    self.broker.cancel(sent_id)
                    self._pending_entries.pop(sent_tag, None)
                self.recorder.record_vetoes(i, [("broker", exc.reason)])
                return
            ctx = entry_context(obs, decision, leg.quote, self.controller_name)
            ctx["position_tag"] = group or order.tag
            ctx["legs"] = len(legs)
            self._pending_entries[order.tag] = (order_id, ctx)
            sent.append((order_id, order.tag))
        self.recorder.executed[i] = action

    def _record_marked(self, i: int) -> None:
        account = self._account_now()
        rec = self.recorder
        rec.cash[i] = account.cash
        rec.positions_value[i] = account.equity - account.cash
        rec.open_positions[i] = len(self._open)
        rec.flat[i] = False

    # -- the end of the data -------------------------------------------------------------
    def _finish(self, last: int) -> None:
        """Close what is still open after the last cycle, with the prices it really had.

        Pending entries are cancelled. If the session ran to its close, same-day contracts
        settle at intrinsic value (the broker's expiry settlement); otherwise (data cut
        mid-session) open positions are sold at the last bar's close quote, the last price
        the market offered. The final equity row is rewritten after these fills.
        """
        for order_id, _ in self._pending_entries.values():
            self.broker.cancel(order_id)
        self._pending_entries.clear()
        if not self._open:
            return
        self._i = last
        self._settle_index = last
        c = self.feed.columns
        snap = self.feed.snapshot(last)
        if c.last_of_session[last] and hasattr(self.broker, "settle_expired"):
            fills = self.broker.settle_expired(c.sessions[last])
            self._snap = None
            self._handle(fills)
        if self._open:
            self._snap = snap
            close_time = c.times[last] + ONE_MINUTE
            for trade in list(self._open.values()):
                pending = sum(
                    q for _, c, q in self._pending_exits.values() if c == trade.position.contract
                )
                if pending < trade.position.qty:
                    self._send_exit(
                        trade, trade.position.qty - pending, ExitReason.END_OF_DATA.value
                    )
            # Everything pending now is an exit; they fill at the last close quote.
            for tag, (_, contract, qty) in list(self._pending_exits.items()):
                self._pending_exits[tag] = (ExitReason.END_OF_DATA.value, contract, qty)
            final = replace(snap, time=close_time, quotes=CloseAsOpenBook(snap.quotes))
            self._snap = None
            self._handle(self.broker.poll(final))
        if self._open:
            logger.warning(
                "%d position(s) still open at the end of the data (no quote to sell at)",
                len(self._open),
            )
            self._record_marked(last)
        else:
            self.recorder.cash[last] = self._cash
            self.recorder.positions_value[last] = 0.0
            self.recorder.open_positions[last] = 0
