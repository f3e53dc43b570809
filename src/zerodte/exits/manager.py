"""The exit manager: tracks every open position each minute and applies the exit rules.

Per cycle, for each open position (after ``broker.poll``)::

    quote = snapshot.quotes.quote(position.contract, at="close")
    tracked, signal = manager.step(position, quote, observation)
    if signal is not None and no exit order is pending for the position:
        broker.submit(Order(tag, position.contract, Side.SELL, signal.qty or position.qty))

and, once fills are booked, ``manager.prune(broker.positions())`` drops closed positions
(returning their final tracked state for the trade record). The sale fills at the next
bar's open bid (see ``docs/fills.md``), so a signal at minute ``t`` exits at ``t + 1``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from zerodte.config.settings import ExitsSettings
from zerodte.exits.base import ExitRule, TrackedPosition
from zerodte.exits.rules import build_exit_rules
from zerodte.types import (
    ExitSignal,
    Observation,
    OptionContract,
    OptionQuote,
    Position,
    features_read,
)

_NS_PER_MINUTE = 60_000_000_000
_Key = tuple[OptionContract, int, str]


def _key(position: Position) -> _Key:
    # The group tells a straddle (exits.legs.combine_legs) from a single leg of it.
    return (position.contract, position.entry_time.value, position.group)


class ExitManager:
    """Keeps a :class:`TrackedPosition` per open position and applies ``rules`` in order.

    Parameters
    ----------
    rules
        Exit rules in application order (:func:`~zerodte.exits.rules.build_exit_rules`).
    bar_minutes
        Bar length. ``minutes_held`` is measured from the entry fill (the open of the fill
        bar) to the decision time (the close of the observation bar):
        ``minutes_held = (observation.time - entry_time) / 1 min + bar_minutes``.

    Notes
    -----
    The mark is the BID of the bar's close quote; ``pnl_pct = (bid - avg_price) /
    avg_price * 100``. When the quote is missing or its bid is not finite the last mark is
    kept, ``minutes_held`` still advances, and only time-based rules (``needs_quote`` false:
    max hold, expiry guard, end-of-day flatten) are applied.
    """

    def __init__(self, rules: Sequence[ExitRule], bar_minutes: float = 1.0) -> None:
        self.rules: tuple[ExitRule, ...] = tuple(rules)
        self._time_rules: tuple[ExitRule, ...] = tuple(
            r for r in self.rules if not getattr(r, "needs_quote", True)
        )
        self.bar_minutes = bar_minutes
        self._state: dict[_Key, TrackedPosition] = {}

    @property
    def feature_inputs(self) -> frozenset[str] | None:
        """The features the rules read (``None`` when a rule does not say:
        :func:`~zerodte.types.features_read`)."""
        return features_read(self.rules)

    @classmethod
    def from_settings(cls, settings: ExitsSettings) -> ExitManager:
        """A manager with :func:`build_exit_rules` of ``settings``."""
        return cls(build_exit_rules(settings))

    def update(
        self, position: Position, quote: OptionQuote | None, observation: Observation
    ) -> TrackedPosition:
        """Advance the tracked state of ``position`` to ``observation`` and return it."""
        key = _key(position)
        prev = self._state.get(key)
        held = (
            observation.time.value - position.entry_time.value
        ) / _NS_PER_MINUTE + self.bar_minutes
        bid = quote.bid if quote is not None else math.nan
        max_qty = position.qty if prev is None or prev.max_qty < position.qty else prev.max_qty
        if not (bid >= 0.0 and math.isfinite(bid)):
            if prev is None:
                nan = math.nan
                tracked = TrackedPosition(position, held, nan, nan, nan, nan, False, nan, max_qty)
            else:
                tracked = TrackedPosition(
                    position,
                    held,
                    prev.pnl_pct,
                    prev.max_gain_pct,
                    prev.max_drawdown_pct,
                    prev.peak_mark,
                    position.qty < max_qty,
                    prev.mark,
                    max_qty,
                )
        else:
            pnl = (bid - position.avg_price) / position.avg_price * 100.0
            if prev is None or math.isnan(prev.mark):
                gain, drawdown, peak = pnl, pnl, bid
            else:
                gain = pnl if pnl > prev.max_gain_pct else prev.max_gain_pct
                drawdown = pnl if pnl < prev.max_drawdown_pct else prev.max_drawdown_pct
                peak = bid if bid > prev.peak_mark else prev.peak_mark
            tracked = TrackedPosition(
                position, held, pnl, gain, drawdown, peak, position.qty < max_qty, bid, max_qty
            )
        self._state[key] = tracked
        return tracked

    def evaluate(
        self, tracked: TrackedPosition, quote: OptionQuote | None, observation: Observation
    ) -> ExitSignal | None:
        """Apply the rules in order to ``tracked``; the first signal wins."""
        fresh = quote is not None and math.isfinite(quote.bid) and quote.bid >= 0.0
        for rule in self.rules if fresh else self._time_rules:
            signal = rule.evaluate(tracked, quote, observation)
            if signal is not None:
                return signal
        return None

    def step(
        self, position: Position, quote: OptionQuote | None, observation: Observation
    ) -> tuple[TrackedPosition, ExitSignal | None]:
        """:meth:`update` then :meth:`evaluate`."""
        tracked = self.update(position, quote, observation)
        return tracked, self.evaluate(tracked, quote, observation)

    def tracked(self, position: Position) -> TrackedPosition | None:
        """The latest tracked state of ``position`` (``None`` if never updated)."""
        return self._state.get(_key(position))

    def prune(self, open_positions: Iterable[Position]) -> list[TrackedPosition]:
        """Forget positions that are no longer open; returns their final tracked state."""
        keep = {_key(p) for p in open_positions}
        gone = [k for k in self._state if k not in keep]
        return [self._state.pop(k) for k in gone]

    def restore(self, tracked: Iterable[TrackedPosition]) -> None:
        """Take back the tracked state of open positions (a restarted bot's checkpoint)."""
        for t in tracked:
            self._state[_key(t.position)] = t

    def reset(self) -> None:
        """Forget every position (e.g. after reconciling with a broker)."""
        self._state.clear()
