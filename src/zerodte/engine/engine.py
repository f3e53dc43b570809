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

The parts are seams (:mod:`zerodte.engine.parts`); the run's open trades and working
orders live in a :class:`~zerodte.engine.positions.TradeBook`, whose state, with the
recorder's, is what a live run checkpoints (:mod:`zerodte.engine.state`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from zerodte.broker.base import Broker, BrokerEvent, Rejection
from zerodte.broker.tags import TagFactory
from zerodte.engine.feed import ONE_MINUTE, CloseAsOpenBook, Feed
from zerodte.engine.legs import entry_legs
from zerodte.engine.parts import (
    ContextSource,
    ContractSelector,
    CycleHooks,
    DecisionSource,
    ExitPolicy,
    Skip,
    TradeObserver,
    trade_observers,
)
from zerodte.engine.positions import SETTLED_REASON, TradeBook
from zerodte.engine.recorder import GATE_ALLOWS, GATE_VETOES, Recorder
from zerodte.engine.trades import OpenTrade, entry_context, position_context, position_groups
from zerodte.errors import OrderRejected
from zerodte.exits.legs import combine_legs
from zerodte.policy.base import Gate
from zerodte.policy.sizing import MarketSizer, Sizer
from zerodte.types import (
    AccountState,
    Action,
    ExitReason,
    Fill,
    Observation,
    Order,
    Side,
    Snapshot,
)

logger = logging.getLogger(__name__)

IV_CONF = "iv_conf"
"""Observation context key of the data-alignment confidence (see engine/alignment.py)."""

__all__ = [
    "IV_CONF",
    "SETTLED_REASON",
    "ContextSource",
    "ContractSelector",
    "DecisionSource",
    "Engine",
    "EngineRun",
    "ExitPolicy",
    "TradeObserver",
    "trade_observers",
]


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
        The seams. A broker whose ``polls_when_idle`` is false (the paper broker, which
        only acts on pending orders and open positions) is not polled on flat, idle cycles.
    gates, sizer, selector, exits
        Entry gates (in order), sizing, contract selection, exit rules.
    controller_name
        Recorded on every trade.
    tags
        Builds every order's client tag (restart-safe, from run id and bar time).
    context
        Optional per-cycle context (regime/predictors, data alignment) for the observation.
        A context value ``iv_conf`` below 1 multiplies the decision's confidence.
    hooks
        Optional work around every cycle (health checks, checkpoints; live runs).
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
        tags: TagFactory,
        context: ContextSource | None = None,
        hooks: CycleHooks | None = None,
        max_cycles: int | None = None,
        probe_gates: bool = False,
    ) -> None:
        self.feed = feed
        self.broker = broker
        self.recorder = recorder
        self.gates = tuple(gates)
        self.sizer = sizer
        self.selector = selector
        self.exits = exits
        self.controller_name = controller_name
        self.context = context
        self.hooks = hooks
        self.max_cycles = max_cycles
        self.probe_gates = probe_gates
        self.book = TradeBook(broker, tags)
        self._idle_poll = True
        self._market_sizer = sizer if isinstance(sizer, MarketSizer) else None
        # state of the run
        self._settle_index = 0
        self._cash = 0.0
        self._day_start_equity: float | None = None
        self._snap: Snapshot | None = None
        self._obs: Observation | None = None
        self._account: AccountState | None = None
        # (broker account, pending entries, day's start, the observation's account)
        self._observed: tuple[AccountState, int, float | None, AccountState] | None = None
        self._i = -1
        self._source: DecisionSource | None = None
        self._observers: tuple[TradeObserver, ...] = ()
        self._replay: list[dict[str, Any]] = []

    # -- the loop ------------------------------------------------------------------------
    def run(
        self, source: DecisionSource, progress: Callable[[int], None] | None = None
    ) -> EngineRun:
        """Run every cycle of the feed with decisions from ``source``."""
        self.begin(source)
        observe = self._observe
        action_of = source.action
        limit = self.max_cycles
        carries = self._carries_idle_cycles(source)
        first, book, cash = self.feed.columns.first_of_session, self.book, self.recorder.cash
        hold = int(Action.HOLD)
        i = -1
        for i in self.feed.cycles():
            if limit is not None and i >= limit:
                i -= 1
                break
            if (
                carries
                and not (first[i] or book.open or book.entries or book.exits)
                and action_of(i, observe) == hold
            ):
                cash[i] = self._cash  # what open_cycle, decide and close_cycle would do
                if progress is not None and i % 4096 == 0:
                    progress(i)
                continue
            skip = self.open_cycle(i)
            if skip is not None and skip.scope == "cycle":
                continue
            self.decide(i, action_of(i, observe), skip)
            self.close_cycle(i)
            if progress is not None and i % 4096 == 0:
                progress(i)
        return self.end(i + 1)

    def _carries_idle_cycles(self, source: DecisionSource) -> bool:
        """Whether :meth:`run` may carry a quiet cycle in one step: flat, nothing working,
        not a session's first bar, and a HOLD decision known without an observation.

        Such a cycle polls nothing, runs no exit and asks no gate, so all it does is record
        the cash. That holds only without hooks and gate probes, with a broker that is not
        polled when idle, and for a source whose actions are precomputed (a streaming
        source observes every bar).
        """
        return (
            self.hooks is None
            and not self.probe_gates
            and not self.broker.polls_when_idle
            and bool(getattr(source, "precomputed", False))
        )

    # -- the cycle in steps (the loop above, and environments that step it) --------------
    def begin(self, source: DecisionSource) -> None:
        """Prepare a run with decisions from ``source`` (before the first cycle)."""
        self._source = source
        # Looked up once per run: a run whose gates do not learn pays nothing per trade.
        controller = getattr(source, "controller", None)
        self._observers = trade_observers([*self.gates, controller, self.hooks])
        for row in self._replay:  # trades recorded before a restart (see restore)
            for learn in self._observers:
                learn(dict(row))
        self._replay = []
        source.prepare(self.recorder)
        self._idle_poll = self.broker.polls_when_idle
        self._account = None
        self._cash = self._account_now().cash

    def open_cycle(self, i: int) -> Skip | None:
        """Cycle ``i`` up to its decision: hooks, poll the broker (fills), run the exits.

        Returns the hooks' :class:`~zerodte.engine.parts.Skip`, if any; a skip of scope
        ``"cycle"`` has already finished the cycle (recorded, equity carried).
        """
        self._i = i
        self._snap = None
        self._obs = None
        hooks = self.hooks
        if self._idle_poll or hooks is not None:
            # A broker that polls when idle may change between polls (a live venue); so may
            # anything a hook does. The paper broker changes only when polled (_handle).
            self._account = None
        skip = None if hooks is None else hooks.before(i)
        if skip is not None and skip.scope == "cycle":
            assert self._source is not None and hooks is not None
            self._source.features(i)  # the feature stream stays in step with the bars
            self._skipped(i, skip)
            hooks.after(i)
            return skip
        cols = self.feed.columns
        first = cols.first_of_session[i]
        # The first bar of a session is always polled: the broker rolls its day counters
        # (trades today, realised P&L today) there.
        if self._idle_poll or first or not self.book.idle():
            self._settle_index = i - 1 if i > 0 else 0
            self._handle(self.broker.poll(self._snapshot()))
        if first:
            self._day_start_equity = self._equity_now()
        if self.book.open:
            self._manage_exits(bool(cols.last_of_session[i]))
        return skip

    def decide(self, i: int, action: int, skip: Skip | None = None) -> None:
        """Act on cycle ``i``'s decision ``action`` (an entry through every gate).

        With an ``"entries"`` skip of the hooks the entry is recorded as that veto.
        """
        if self.probe_gates:
            self._probe_gates(i)
        if action != Action.HOLD:
            if skip is None:
                self._try_entry(i, action)
            else:
                self.recorder.record_vetoes(i, [(skip.gate, skip.reason)])

    def close_cycle(self, i: int) -> None:
        """Record cycle ``i``'s equity (after its decision) and run the hooks' ``after``."""
        if self.book.open:
            self._record_marked(i)
        else:
            self.recorder.cash[i] = self._cash
        if self.hooks is not None:
            self.hooks.after(i)

    def end(self, n: int) -> EngineRun:
        """Finish a run of ``n`` cycles: cancel pending entries, close what is open."""
        rec = self.recorder
        # A run restored after its last cycle (a restart after the close) yields no cycle;
        # its end is still done once more (the broker's end of session is idempotent).
        n = max(n, rec.n_cycles)
        rec.n_cycles = n
        if n > 0:
            self._finish(n - 1)
        return EngineRun(rec, n, len(self.book.open))

    def observation(self) -> Observation:
        """The current cycle's observation (between :meth:`open_cycle` and the decision)."""
        return self._observe()

    def exit_all(self, reason: ExitReason = ExitReason.POLICY_EXIT) -> int:
        """Send a sale for every open position without one pending (a policy's EXIT);
        returns the number of orders. Not at a session's last bar (nothing could fill)."""
        if self.feed.columns.last_of_session[self._i]:
            return 0
        exiting = self.book.exiting()
        sent = 0
        for trade in list(self.book.open.values()):
            if trade.position.contract not in exiting:
                self._send_exit(trade, trade.position.qty, reason.value)
                sent += 1
        return sent

    # -- state (checkpoints) -------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """The loop's memory between cycles, as JSON-ready data (see engine/state.py)."""
        return {"book": self.book.state(), "day_start_equity": self._day_start_equity}

    def restore(self, state: dict[str, Any], trades: Sequence[dict[str, Any]]) -> None:
        """Continue from :meth:`state` after a restart.

        ``trades`` are the trade rows already recorded; when the run starts they are shown
        again, in order, to the gates and the controller that learn from closed trades, so
        their learned state is what it was.
        """
        self.book.restore(state["book"])
        self._day_start_equity = state.get("day_start_equity")
        tracked = [t.tracked for t in self.book.open.values() if t.tracked is not None]
        self.exits.restore(tracked)
        self._replay = [dict(row) for row in trades]

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
            account=self._observed_account(),
        )
        return self._obs

    def _observed_account(self) -> AccountState:
        """The broker's account with the pending entries counted as open and the day's start
        equity: what gates see. Rebuilt only when one of the three changed; a flat, idle
        stretch of a session (where most vetoed entry attempts fall) shares one."""
        account = self._account_now()
        pending = len(self.book.entries)
        start = self._day_start_equity
        seen = self._observed
        if seen is not None and seen[0] is account and seen[1] == pending and seen[2] is start:
            return seen[3]
        if pending == 0 and account.day_start_equity == start:
            observed = account  # the broker's own account already is what gates see
        else:
            observed = replace(
                account, open_positions=account.open_positions + pending, day_start_equity=start
            )
        self._observed = (account, pending, start, observed)
        return observed

    def _context(self, i: int) -> Mapping[str, float]:
        """Regime/predictor context, plus the open position's tracked values when in a trade
        (as of its last mark: :func:`~zerodte.engine.trades.position_context`)."""
        context = self.context(i) if self.context is not None else {}
        if self.book.open:
            return {**context, **position_context(self.book.open.values())}
        return context

    def _account_now(self) -> AccountState:
        """The broker's account, read once after each poll.

        Between a poll and the next one nothing changes the paper broker's account (orders
        only queue), so the observation, the equity record and the day's start share one
        read, also across the flat, idle cycles in which the paper broker is not polled;
        :meth:`_handle` drops it after every poll and settlement, and :meth:`open_cycle`
        every cycle for a broker that polls when idle or a run with hooks.
        """
        if self._account is None:
            self._account = self.broker.account()
        return self._account

    def _equity_now(self) -> float:
        if not self.book.open:
            return self._cash
        return self._account_now().equity

    def _handle(self, events: Sequence[BrokerEvent]) -> None:
        """Book the broker's events after a poll or a settlement."""
        self._account = None  # the poll moved the marks; fills moved cash and positions
        if not events:
            return
        book = self.book
        for event in events:
            if isinstance(event, Rejection):
                book.rejected(event)
            elif event.side is Side.BUY:
                book.bought(event, self.feed.columns.sessions[self._i])
            else:
                self._sold(event)
        self._cash = self._account_now().cash

    def _sold(self, fill: Fill) -> None:
        stored, closed = self.book.sold(fill, self._exit_prices, self.recorder.record_trade)
        if stored is None:
            return
        for observe in self._observers:
            observe(dict(stored))  # a copy: an observer cannot alter the record
        if closed:
            self.exits.prune(self.broker.positions())

    def _exit_prices(self, settlement: bool) -> tuple[float, float]:
        """SPY and VIX recorded on an exit row: the fill bar's open, or the settlement bar's."""
        j = self._settle_index if settlement else self._i
        snap = self._snap
        if snap is not None and j == self._i:
            return snap.bars["SPY"].open, snap.bars["VIX"].open
        return self.feed.columns.spy[j], self.feed.columns.vix[j]

    def _skipped(self, i: int, skip: Skip) -> None:
        """A cycle a hook skipped: nothing polled or sent; equity carried at the last marks."""
        self.recorder.record_vetoes(i, [(skip.gate, skip.reason)])
        if self.book.open:
            self._record_marked(i)
        else:
            self.recorder.cash[i] = self._cash

    def _manage_exits(self, last_bar: bool) -> None:
        snap = self._snapshot()
        obs = self._observe()
        exiting = self.book.exiting()
        for group, trades in position_groups(self.book.open.values()):
            quotes = [snap.quotes.quote(t.position.contract, at="close") for t in trades]
            if len(trades) == 1:
                position, quote = trades[0].position, quotes[0]
            else:  # a straddle's legs are one position to the exit rules
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
                    self._send_exit(trade, qty, signal.reason.value)

    def _send_exit(self, trade: OpenTrade, qty: int, reason: str) -> None:
        """An exit order for ``trade``, remembering the HMM trend it was decided in."""
        if self._obs is not None:
            trade.exit_hmm_trend = self._obs.context.get("hmm_trend")
        self.book.send_exit(trade, qty, reason)

    def _probe_gates(self, i: int) -> None:
        """Record whether the gates would let a call and a put in at cycle ``i``.

        Off-policy evaluation needs, for every cycle and not only for the entries the
        logging policy tried, the entries the deployed gates allow (``gate_call`` and
        ``gate_put`` of the DecisionRecords). The probe asks every gate with the cycle's
        decision turned into each entry; it changes nothing else.
        """
        assert self._source is not None
        base = self._source.decision(i)
        obs = self._observe()
        rec = self.recorder
        for right, column in ((Action.BUY_CALLS, rec.gate_call), (Action.BUY_PUTS, rec.gate_put)):
            probe = replace(base, action=right)
            vetoed = any(g.check(obs, probe) is not None for g in self.gates)
            column[i] = GATE_VETOES if vetoed else GATE_ALLOWS

    def _try_entry(self, i: int, action: int) -> None:
        assert self._source is not None
        decision = self._source.decision(i)
        obs = self._observe()
        iv_conf = obs.context.get(IV_CONF)
        if iv_conf is not None and iv_conf != 1.0:
            base = 1.0 if decision.confidence is None else decision.confidence
            decision = replace(decision, confidence=base * float(iv_conf))
        vetoes = [v for g in self.gates if (v := g.check(obs, decision)) is not None]
        rec = self.recorder
        # OPE's gate columns are for single calls and puts
        if action == Action.BUY_CALLS:
            rec.gate_call[i] = GATE_VETOES if vetoes else GATE_ALLOWS
        elif action == Action.BUY_PUTS:
            rec.gate_put[i] = GATE_VETOES if vetoes else GATE_ALLOWS
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
        market_sizer = self._market_sizer
        sized = (
            market_sizer.size_for(ask, obs, decision)
            if market_sizer is not None
            else self.sizer.size(ask, obs.account)
        )
        qty = sized.contracts
        if qty < 1:
            self.recorder.record_vetoes(i, [("sizing", sized.reason or f"size {qty}")])
            return
        tag = self.book.tags.entry(obs.time)
        group = tag if len(legs) > 1 else ""
        sent: list[str] = []
        for leg in legs:
            order = Order(
                tag + leg.suffix, leg.contract, Side.BUY, int(qty), reason="entry", group=group
            )
            ctx = entry_context(obs, decision, leg.quote, self.controller_name)
            ctx["position_tag"] = group or order.tag
            ctx["legs"] = len(legs)
            try:
                self.book.send_entry(order, ctx)
            except OrderRejected as exc:
                self.book.cancel_entries(sent)  # never leave half a straddle
                self.recorder.record_vetoes(i, [("broker", exc.reason)])
                return
            sent.append(order.tag)
        self.recorder.executed[i] = action

    def _record_marked(self, i: int) -> None:
        account = self._account_now()
        rec = self.recorder
        rec.cash[i] = account.cash
        rec.positions_value[i] = account.equity - account.cash
        rec.open_positions[i] = len(self.book.open)
        rec.flat[i] = False

    # -- the end of the data -------------------------------------------------------------
    def _finish(self, last: int) -> None:
        """Close what is still open after the last cycle, with the prices it really had.

        Pending entries are cancelled. If the session ran to its close, the broker ends the
        session (same-day contracts settle at intrinsic value); otherwise (data cut
        mid-session) open positions are sold at the last bar's close quote, the last price
        the market offered. The final equity row is rewritten after these fills.
        """
        book = self.book
        for entry in book.entries.values():
            self.broker.cancel(entry.order_id)
        book.entries.clear()
        c = self.feed.columns
        if not book.open:
            if c.last_of_session[last]:
                self.broker.end_of_session(c.sessions[last])
            return
        self._i = last
        self._settle_index = last
        snap = self.feed.snapshot(last)
        if c.last_of_session[last]:
            events = self.broker.end_of_session(c.sessions[last])
            self._snap = None
            self._handle(events)
        if book.open:
            self._snap = snap
            close_time = c.times[last] + ONE_MINUTE
            for trade in list(book.open.values()):
                selling = book.pending_exit_qty(trade.position.contract)
                if selling < trade.position.qty:
                    self._send_exit(
                        trade, trade.position.qty - selling, ExitReason.END_OF_DATA.value
                    )
            # Everything pending now is an exit; they fill at the last close quote.
            for pending_exit in book.exits.values():
                pending_exit.reason = ExitReason.END_OF_DATA.value
            final = replace(snap, time=close_time, quotes=CloseAsOpenBook(snap.quotes))
            self._snap = None
            self._handle(self.broker.poll(final))
        if book.open:
            logger.warning(
                "%d position(s) still open at the end of the data (no quote to sell at)",
                len(book.open),
            )
            self._record_marked(last)
        else:
            self.recorder.cash[last] = self._cash
            self.recorder.positions_value[last] = 0.0
            self.recorder.open_positions[last] = 0
