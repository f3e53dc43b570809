"""Entry gates: each may veto a proposed entry, and each veto carries its reason.

Gates only judge *entries* (a decision other than HOLD); exits are never gated. They are
pure functions of the observation and the decision: the account counters they need
(trades today, day trades in the PDT window, the day's P&L, the last exit time) arrive in
``observation.account``, kept by the engine. None of them reads a feature (an empty
``feature_inputs``: :func:`~zerodte.types.features_read`).

Time conventions (see :class:`~zerodte.types.Observation`): a decision at bar ``t`` is made
at the bar's close, so ``minutes_since_open`` counts the minutes of the session already seen
(1 at the 09:30 bar) and ``minutes_to_close`` the minutes left until the session close
(0 at the last bar; half days close at 13:00 and are handled through this value).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

import numpy as np

from zerodte.config.root import Settings
from zerodte.policy.base import Gate
from zerodte.types import AccountState, Decision, Observation, Veto

logger = logging.getLogger(__name__)

WEEKDAYS: tuple[str, ...] = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


@dataclass(slots=True)
class MarketHoursGate:
    """No entry outside the regular session, nor at its last bar.

    An order sent at the close of the session's last bar could only fill in the next
    session, when a same-day option has expired; so at least one more bar must remain.
    """

    name: str = "market_hours"
    feature_inputs: ClassVar[tuple[str, ...]] = ()

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        """Veto when the session is over or has no bar left to fill in."""
        if observation.minutes_since_open <= 0:
            return Veto(self.name, "before the regular session open")
        if observation.minutes_to_close < 1:
            return Veto(self.name, "no bar left in the session to fill an order")
        return None


@dataclass(slots=True)
class OpenWindowGate:
    """No entry in the first ``minutes`` of the session (opening auction noise, wide spreads)."""

    minutes: float
    name: str = "open_window"
    feature_inputs: ClassVar[tuple[str, ...]] = ()

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        """Veto while fewer than ``minutes`` of the session have passed."""
        if observation.minutes_since_open < self.minutes:
            return Veto(
                self.name,
                f"{observation.minutes_since_open:g} min after the open < {self.minutes:g}",
            )
        return None


@dataclass(slots=True)
class CloseWindowGate:
    """No entry in the last ``minutes`` before the close (0DTE gamma and the EOD flatten)."""

    minutes: float
    name: str = "close_window"
    feature_inputs: ClassVar[tuple[str, ...]] = ()

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        """Veto when fewer than ``minutes`` remain in the session."""
        if observation.minutes_to_close < self.minutes:
            return Veto(
                self.name,
                f"{observation.minutes_to_close:g} min to the close < {self.minutes:g}",
            )
        return None


def day_trades_in_window(days: Sequence[date], today: date, window_days: int) -> int:
    """Day trades dated within the ``window_days`` business days ending ``today``.

    Business days are Monday..Friday (``numpy.busday_count``); exchange holidays are not
    removed, which can only make the window reach *less* far back by a day around a
    holiday, so the count is never lower than FINRA's rolling five business days would
    give over the same trades recorded by this account.
    """
    if not days:
        return 0
    arr = np.array(days, dtype="datetime64[D]")
    back = np.busday_count(arr, np.datetime64(today, "D"))
    return int(np.count_nonzero((back >= 0) & (back < window_days)))


@dataclass(slots=True)
class PatternDayTraderGate:
    """FINRA pattern-day-trader rule for margin accounts below ``equity_threshold``.

    Such an account may make at most ``max_day_trades`` day trades in any
    ``window_days`` business days. A same-day option position is always closed the same
    day, so every entry *becomes* a day trade: the gate counts prospectively and vetoes
    the entry that would be the ``max_day_trades + 1``-th in the window.
    """

    equity_threshold: float
    max_day_trades: int
    window_days: int
    name: str = "pdt"
    feature_inputs: ClassVar[tuple[str, ...]] = ()

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        """Veto when one more day trade would break the rule."""
        account = observation.account
        if account is None or account.equity >= self.equity_threshold:
            return None
        used = day_trades_in_window(
            account.day_trades_window, observation.session, self.window_days
        )
        # Positions opened today and still open will be sold today: each is a day trade
        # already committed to, though the ledger only counts it at its first sale (a
        # partly sold one is counted twice here, erring on the side of the rule).
        used += sum(1 for p in observation.positions if p.entry_time.date() == observation.session)
        if used + 1 > self.max_day_trades:
            return Veto(
                self.name,
                f"{used} day trades in {self.window_days} business days with equity "
                f"{account.equity:,.0f} < {self.equity_threshold:,.0f}",
            )
        return None


@dataclass(slots=True)
class MaxPositionsGate:
    """At most ``max_positions`` positions open (or pending) at once."""

    max_positions: int
    name: str = "max_positions"
    feature_inputs: ClassVar[tuple[str, ...]] = ()

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        """Veto when the open (or pending) positions already reach the limit."""
        account = observation.account
        open_now = account.open_positions if account is not None else len(observation.positions)
        if open_now >= self.max_positions:
            return Veto(self.name, f"{open_now} open >= {self.max_positions}")
        return None


@dataclass(slots=True)
class MaxTradesPerDayGate:
    """At most ``max_trades`` entries per session."""

    max_trades: int
    name: str = "max_trades_per_day"
    feature_inputs: ClassVar[tuple[str, ...]] = ()

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        """Veto once the session's entries reach the limit."""
        account = observation.account
        if account is not None and account.trades_today >= self.max_trades:
            return Veto(self.name, f"{account.trades_today} entries today >= {self.max_trades}")
        return None


@dataclass(slots=True)
class DayOfWeekGate:
    """Trade only on ``allowed`` weekdays (``"MON"`` .. ``"FRI"``)."""

    allowed: frozenset[str]
    name: str = "day_of_week"
    feature_inputs: ClassVar[tuple[str, ...]] = ()

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        """Veto on a weekday outside ``allowed``."""
        day = WEEKDAYS[observation.session.weekday()]
        if day not in self.allowed:
            return Veto(self.name, f"{day} is not traded (allowed: {sorted(self.allowed)})")
        return None


def day_pnl(account: AccountState) -> float:
    """The session's P&L so far: realised plus unrealised when the day's start is known.

    ``equity - day_start_equity`` counts closed trades, fees and open positions marked at
    the bid; without a start value only the realised P&L is known.
    """
    if account.day_start_equity is not None:
        return account.equity - account.day_start_equity
    return account.realized_pnl_today


@dataclass(slots=True)
class DailyLossLimitGate:
    """Kill switch: once the day's P&L reaches ``-limit`` no more entries that day."""

    limit: float
    name: str = "daily_loss_limit"
    feature_inputs: ClassVar[tuple[str, ...]] = ()

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        """Veto when realised + unrealised P&L of the session is at or below ``-limit``."""
        account = observation.account
        if account is None:
            return None
        pnl = day_pnl(account)
        if pnl <= -self.limit:
            return Veto(self.name, f"day P&L {pnl:,.2f} <= -{self.limit:,.2f}")
        return None


@dataclass(slots=True)
class CooldownGate:
    """No entry within ``minutes`` after the last exit of the same session."""

    minutes: float
    name: str = "cooldown"
    feature_inputs: ClassVar[tuple[str, ...]] = ()

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        """Veto while the last exit is less than ``minutes`` old."""
        account = observation.account
        if account is None or account.last_exit_time is None or self.minutes <= 0:
            return None
        last = account.last_exit_time
        # Epoch nanoseconds: Timestamp arithmetic costs more than the rest of the gates,
        # so the session is compared only when the exit is recent enough to matter.
        since = (observation.time.value - last.value) / 1e9 / 60.0
        if since < self.minutes and last.date() == observation.session:
            return Veto(self.name, f"{since:.1f} min since the last exit < {self.minutes:g}")
        return None


def allowed_weekdays(
    day_filter: Sequence[str], *, skip_monday: bool, skip_friday: bool
) -> frozenset[str]:
    """Weekdays to trade: ``day_filter`` (empty = every weekday) minus the skipped ones."""
    days = set(day_filter) if day_filter else set(WEEKDAYS[:5])
    if skip_monday:
        days.discard("MON")
    if skip_friday:
        days.discard("FRI")
    return frozenset(days)


def build_gates(settings: Settings) -> list[Gate]:
    """The entry gates ``settings`` asks for, in the order they are checked.

    Cheap structural gates come first so the first veto recorded is the most basic reason.
    Regime gates (:mod:`zerodte.policy.regime_gates`) are appended when enabled and present.
    """
    g = settings.gates
    gates: list[Gate] = [
        MarketHoursGate(),
        OpenWindowGate(g.no_entry_after_open_minutes),
        CloseWindowGate(g.no_entry_before_close_minutes),
    ]
    days = allowed_weekdays(
        g.day_of_week_filter, skip_monday=g.skip_monday, skip_friday=g.skip_friday
    )
    if days != frozenset(WEEKDAYS[:5]):
        gates.append(DayOfWeekGate(days))
    gates += [
        MaxPositionsGate(g.max_positions),
        MaxTradesPerDayGate(g.max_trades_per_day),
        DailyLossLimitGate(g.daily_loss_limit),
        CooldownGate(g.cooldown_minutes),
    ]
    if g.pdt_enabled:
        gates.append(
            PatternDayTraderGate(g.pdt_equity_threshold, g.pdt_max_day_trades, g.pdt_window_days)
        )
    if g.regime_filter_enabled or g.regime_conflict_veto:
        gates.extend(_regime_gates(settings))
    if g.calibration_enabled:
        from zerodte.policy.calibration_gate import CalibrationGate

        gates.append(CalibrationGate.from_settings(settings))
    gates.extend(decision_gates(settings))
    return gates


def decision_gates(settings: Settings) -> list[Gate]:
    """Strategy blocking, the V4 gates, the regime quality filter and the threshold learner
    (last: it learns from the signals every other gate let through), when enabled."""
    out: list[Gate] = []
    e, g = settings.entry, settings.gates
    if e.block_signal_strategies:
        from zerodte.policy.strategies import BlockedStrategyGate

        out.append(BlockedStrategyGate.of(e.block_signal_strategies, e.controller))
    if g.v4.ev_enabled or g.v4.attribution_enabled or g.regime_quality.enabled:
        from zerodte.policy import v4_gates

        if g.v4.ev_enabled:
            out.append(v4_gates.ExpectedValueGate(config=g.v4))
        if g.v4.attribution_enabled:
            out.append(v4_gates.RegimeAttributionGate(config=g.v4))
        if g.regime_quality.enabled:
            out.append(v4_gates.RegimeQualityGate(g.regime_quality))
    if e.threshold.enabled:
        from zerodte.policy.threshold import ThresholdLearnerGate

        out.append(ThresholdLearnerGate.from_settings(e.threshold))
    return out


def _regime_gates(settings: Settings) -> list[Gate]:
    try:
        regime_gates = importlib.import_module("zerodte.policy.regime_gates")
    except ImportError:
        logger.warning(
            "gates.regime_filter_enabled/regime_conflict_veto is set but "
            "zerodte.policy.regime_gates is not available; no regime gate is applied"
        )
        return []
    builder = getattr(regime_gates, "build_regime_gates", None)
    if builder is None:
        logger.warning("zerodte.policy.regime_gates has no build_regime_gates(settings)")
        return []
    return list(builder(settings))
