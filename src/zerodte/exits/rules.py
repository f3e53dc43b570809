"""Exit rules, applied in the fixed order :data:`EXIT_RULE_ORDER`, hard rules first.

Every rule reads the :class:`~zerodte.exits.base.TrackedPosition` the exit manager keeps
(marks are the BID of the bar's close quote, ``pnl_pct`` is in percent of the entry
premium) and the :class:`~zerodte.types.Observation` of the decision bar. Trailing
distances are in PERCENTAGE POINTS of the entry premium below the peak gain:
a trail of 2 with a peak gain of +6 % fires at +4 % or lower (see ``docs/exits.md``).

Rules are small, stateless and allocation-free when they do not fire; the exit manager
calls them once per minute per open position.
"""

from __future__ import annotations

import math

from zerodte.config.settings import ExitsSettings
from zerodte.exits.base import ExitRule, TrackedPosition
from zerodte.types import CONTRACT_MULTIPLIER, ExitReason, ExitSignal, Observation, OptionQuote

EXIT_RULE_ORDER: tuple[ExitReason, ...] = (
    ExitReason.LOSS_CAP,
    ExitReason.STOP_LOSS,
    ExitReason.TAKE_PROFIT,
    ExitReason.TRAILING_STOP,
    ExitReason.PARTIAL_TAKE_PROFIT,
    ExitReason.RUNNER_TRAIL,
    ExitReason.DYNAMIC,
    ExitReason.MAX_HOLD,
    ExitReason.EXPIRY_GUARD,
    ExitReason.EOD_FLATTEN,
)
"""The order rules are applied in; the first rule that fires wins."""


class LossCap:
    """(1) Dollar loss cap: close when ``(entry - mark) * 100 * qty + entry_fees >= cap``.

    Immediate (no minimum hold); the loss counts the entry fees already paid.
    """

    __slots__ = ("max_loss",)
    name = ExitReason.LOSS_CAP.value
    feature_inputs: tuple[str, ...] = ()
    needs_quote = True

    def __init__(self, max_loss: float) -> None:
        self.max_loss = max_loss

    def evaluate(
        self, position: TrackedPosition, quote: OptionQuote | None, observation: Observation
    ) -> ExitSignal | None:
        """Fire when the marked dollar loss reaches the cap."""
        pos = position.position
        loss = (pos.avg_price - position.mark) * CONTRACT_MULTIPLIER * pos.qty + pos.entry_fees
        if loss >= self.max_loss:
            return ExitSignal(
                ExitReason.LOSS_CAP, None, f"loss ${loss:.2f} >= cap ${self.max_loss:.2f}"
            )
        return None


class StopLoss:
    """(2) Stop loss: ``pnl_pct <= -stop_pct`` once ``minutes_held > min_hold_minutes``.

    ``minutes_held`` is 1 at the first decision after the entry fill, so the default
    minimum hold of 1 minute ignores that first mark (which mostly shows the spread paid).
    """

    __slots__ = ("min_hold", "stop_pct")
    name = ExitReason.STOP_LOSS.value
    feature_inputs: tuple[str, ...] = ()
    needs_quote = True

    def __init__(self, stop_pct: float, min_hold_minutes: float) -> None:
        self.stop_pct = stop_pct
        self.min_hold = min_hold_minutes

    def evaluate(
        self, position: TrackedPosition, quote: OptionQuote | None, observation: Observation
    ) -> ExitSignal | None:
        """Fire when the mark is ``stop_pct`` % or more below the entry premium."""
        if position.minutes_held > self.min_hold and position.pnl_pct <= -self.stop_pct:
            return ExitSignal(
                ExitReason.STOP_LOSS, None, f"pnl {position.pnl_pct:.2f}% <= -{self.stop_pct}%"
            )
        return None


class TakeProfit:
    """(3) Take profit: ``pnl_pct >= take_profit_pct`` (not built in partial mode)."""

    __slots__ = ("take_profit_pct",)
    name = ExitReason.TAKE_PROFIT.value
    feature_inputs: tuple[str, ...] = ()
    needs_quote = True

    def __init__(self, take_profit_pct: float) -> None:
        self.take_profit_pct = take_profit_pct

    def evaluate(
        self, position: TrackedPosition, quote: OptionQuote | None, observation: Observation
    ) -> ExitSignal | None:
        """Fire when the gain reaches the target."""
        if position.pnl_pct >= self.take_profit_pct:
            return ExitSignal(
                ExitReason.TAKE_PROFIT,
                None,
                f"pnl {position.pnl_pct:.2f}% >= {self.take_profit_pct}%",
            )
        return None


class TrailingStop:
    """(4) Trailing stop in percentage points of the entry premium.

    Active once ``max_gain_pct >= activation_pct``; fires when
    ``pnl_pct <= max_gain_pct - trail_pct``. Positions whose partial take-profit was taken
    are left to :class:`RunnerTrail`.
    """

    __slots__ = ("activation_pct", "trail_pct")
    name = ExitReason.TRAILING_STOP.value
    feature_inputs: tuple[str, ...] = ()
    needs_quote = True

    def __init__(self, activation_pct: float, trail_pct: float) -> None:
        self.activation_pct = activation_pct
        self.trail_pct = trail_pct

    def evaluate(
        self, position: TrackedPosition, quote: OptionQuote | None, observation: Observation
    ) -> ExitSignal | None:
        """Fire when the mark falls ``trail_pct`` points below the peak gain."""
        if not position.partial_taken and position.max_gain_pct >= self.activation_pct:
            return trail_exit(position, self.trail_pct, ExitReason.TRAILING_STOP, "pnl")
        return None


def trail_exit(
    position: TrackedPosition, trail_pct: float, reason: ExitReason, label: str
) -> ExitSignal | None:
    """The trail shared by :class:`TrailingStop` and :class:`RunnerTrail`: exit the whole
    position with ``reason`` when ``pnl_pct <= max_gain_pct - trail_pct`` (percentage
    points of the entry premium below the peak gain); ``label`` starts the detail."""
    peak = position.max_gain_pct
    if position.pnl_pct <= peak - trail_pct:
        return ExitSignal(
            reason, None, f"{label} {position.pnl_pct:.2f}% <= peak {peak:.2f}% - {trail_pct}"
        )
    return None


def partial_quantity(qty: int, fraction: float) -> int:
    """Contracts sold by a partial take-profit: ``floor(qty * fraction)`` clipped to
    ``[1, qty - 1]`` (at least one sold, at least one left); ``0`` when ``qty < 2``."""
    if qty < 2:
        return 0
    return min(max(1, math.floor(qty * fraction)), qty - 1)


class PartialTakeProfit:
    """(5a) Partial take-profit ("skew exit"): at ``pnl_pct >= partial_pct`` sell
    :func:`partial_quantity` contracts once; the rest becomes a runner.

    A single contract cannot be split: it becomes a runner without a sale (see
    :class:`RunnerTrail`).
    """

    __slots__ = ("fraction", "partial_pct")
    name = ExitReason.PARTIAL_TAKE_PROFIT.value
    feature_inputs: tuple[str, ...] = ()
    needs_quote = True

    def __init__(self, partial_pct: float, fraction: float) -> None:
        self.partial_pct = partial_pct
        self.fraction = fraction

    def evaluate(
        self, position: TrackedPosition, quote: OptionQuote | None, observation: Observation
    ) -> ExitSignal | None:
        """Fire once when the gain first reaches the partial target."""
        if position.partial_taken or position.pnl_pct < self.partial_pct:
            return None
        qty = partial_quantity(position.position.qty, self.fraction)
        if qty == 0:
            return None
        return ExitSignal(
            ExitReason.PARTIAL_TAKE_PROFIT,
            qty,
            f"pnl {position.pnl_pct:.2f}% >= {self.partial_pct}%: sell {qty} of "
            f"{position.position.qty}",
        )


class RunnerTrail:
    """(5b) The runner left by a partial take-profit exits ``trail_pct`` points below its
    peak gain: fires when ``pnl_pct <= max_gain_pct - trail_pct``.

    A position is a runner when its partial was taken, or when it is a single contract
    whose peak gain reached ``partial_pct``.
    """

    __slots__ = ("partial_pct", "trail_pct")
    name = ExitReason.RUNNER_TRAIL.value
    feature_inputs: tuple[str, ...] = ()
    needs_quote = True

    def __init__(self, partial_pct: float, trail_pct: float) -> None:
        self.partial_pct = partial_pct
        self.trail_pct = trail_pct

    def evaluate(
        self, position: TrackedPosition, quote: OptionQuote | None, observation: Observation
    ) -> ExitSignal | None:
        """Fire when the runner's mark falls ``trail_pct`` points below its peak gain."""
        single = position.position.qty == 1
        if position.partial_taken or (single and position.max_gain_pct >= self.partial_pct):
            return trail_exit(position, self.trail_pct, ExitReason.RUNNER_TRAIL, "runner pnl")
        return None


class MaxHold:
    """(6) Force close once ``minutes_held >= max_hold_minutes``."""

    __slots__ = ("max_hold",)
    name = ExitReason.MAX_HOLD.value
    feature_inputs: tuple[str, ...] = ()
    needs_quote = False

    def __init__(self, max_hold_minutes: float) -> None:
        self.max_hold = max_hold_minutes

    def evaluate(
        self, position: TrackedPosition, quote: OptionQuote | None, observation: Observation
    ) -> ExitSignal | None:
        """Fire when the position has been held long enough."""
        if position.minutes_held >= self.max_hold:
            return ExitSignal(ExitReason.MAX_HOLD, None, f"held {position.minutes_held:.0f} min")
        return None


class ExpiryGuard:
    """(7) Close a contract expiring today once ``minutes_to_close <= minutes``
    (and at once one that already expired): no 0DTE position is held into the close.

    ``observation.minutes_to_close`` is measured from the decision time (the close of the
    bar); options on the underlying stop trading at the session close (13:00 on half days).
    """

    __slots__ = ("minutes",)
    name = ExitReason.EXPIRY_GUARD.value
    feature_inputs: tuple[str, ...] = ()
    needs_quote = False

    def __init__(self, minutes: float) -> None:
        self.minutes = minutes

    def evaluate(
        self, position: TrackedPosition, quote: OptionQuote | None, observation: Observation
    ) -> ExitSignal | None:
        """Fire on the expiry day inside the guard window."""
        expiry = position.position.contract.expiry
        session = observation.session
        if expiry < session or (expiry == session and observation.minutes_to_close <= self.minutes):
            return ExitSignal(
                ExitReason.EXPIRY_GUARD,
                None,
                f"expires {expiry}, {observation.minutes_to_close:.0f} min to close",
            )
        return None


class EodFlatten:
    """(8) Flatten anything left once ``minutes_to_close <= minutes``."""

    __slots__ = ("minutes",)
    name = ExitReason.EOD_FLATTEN.value
    feature_inputs: tuple[str, ...] = ()
    needs_quote = False

    def __init__(self, minutes: float) -> None:
        self.minutes = minutes

    def evaluate(
        self, position: TrackedPosition, quote: OptionQuote | None, observation: Observation
    ) -> ExitSignal | None:
        """Fire near the session close."""
        if observation.minutes_to_close <= self.minutes:
            return ExitSignal(
                ExitReason.EOD_FLATTEN,
                None,
                f"{observation.minutes_to_close:.0f} min to close",
            )
        return None


def build_exit_rules(settings: ExitsSettings) -> list[ExitRule]:
    """The enabled rules from ``settings``, in :data:`EXIT_RULE_ORDER`.

    Take profit is omitted in partial take-profit mode; the trailing stop only when
    ``use_trailing_stop`` is set; partial take-profit and the runner trail only in partial
    mode.
    """
    from zerodte.exits.dynamic import DynamicExit, GreeksStopLoss, GreeksTakeProfit

    g = settings.greeks
    rules: list[ExitRule] = [
        LossCap(settings.max_loss_per_trade),
        GreeksStopLoss(settings.stop_loss_pct, settings.stop_loss_min_hold_minutes, g)
        if g.enabled
        else StopLoss(settings.stop_loss_pct, settings.stop_loss_min_hold_minutes),
    ]
    if not settings.use_partial_take_profit:
        rules.append(
            GreeksTakeProfit(settings.take_profit_pct, g)
            if g.enabled
            else TakeProfit(settings.take_profit_pct)
        )
    if settings.use_trailing_stop:
        rules.append(TrailingStop(settings.trailing_activation_pct, settings.trailing_stop_pct))
    if settings.use_partial_take_profit:
        rules.append(PartialTakeProfit(settings.partial_take_profit_pct, settings.partial_fraction))
        rules.append(RunnerTrail(settings.partial_take_profit_pct, settings.runner_trail_pct))
    if settings.dynamic.enabled:
        rules.append(DynamicExit(settings.dynamic))
    rules.append(MaxHold(settings.max_hold_minutes))
    rules.append(ExpiryGuard(settings.expiry_exit_minutes))
    rules.append(EodFlatten(settings.eod_flatten_minutes))
    return rules
