"""Scenario tables for the entry gates."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import pytest

from zerodte.config.root import Settings
from zerodte.config.settings import GatesSettings
from zerodte.policy.gates import (
    CloseWindowGate,
    CooldownGate,
    DailyLossLimitGate,
    DayOfWeekGate,
    MarketHoursGate,
    MaxPositionsGate,
    MaxTradesPerDayGate,
    OpenWindowGate,
    PatternDayTraderGate,
    allowed_weekdays,
    build_gates,
    day_trades_in_window,
)
from zerodte.types import (
    AccountState,
    Action,
    Decision,
    Observation,
    OptionContract,
    Position,
    Right,
)

TZ = "America/New_York"
WED = date(2024, 1, 10)
BUY = Decision(Action.BUY_CALLS, probs=(0.0, 1.0, 0.0))


def obs(
    *,
    day: date = WED,
    hhmm: str = "11:00",
    since_open: float = 90.0,
    to_close: float = 300.0,
    account: AccountState | None = None,
    positions: tuple[Position, ...] = (),
) -> Observation:
    t = pd.Timestamp(f"{day} {hhmm}", tz=TZ)
    acct = account or AccountState(cash=50_000.0, equity=50_000.0, buying_power=50_000.0)
    return Observation(
        index=0,
        time=t,
        session=day,
        minutes_since_open=since_open,
        minutes_to_close=to_close,
        spy=500.0,
        qqq=400.0,
        vix=15.0,
        features={},
        positions=positions,
        account=acct,
    )


ACCT = AccountState(cash=50_000.0, equity=50_000.0, buying_power=50_000.0)
SMALL = AccountState(cash=10_000.0, equity=10_000.0, buying_power=10_000.0)


@pytest.mark.parametrize(
    ("gate", "observation", "vetoed"),
    [
        (MarketHoursGate(), obs(to_close=1.0), False),
        (MarketHoursGate(), obs(to_close=0.0), True),  # last bar: nothing left to fill
        (MarketHoursGate(), obs(since_open=0.0), True),
        (OpenWindowGate(5), obs(since_open=4.0), True),
        (OpenWindowGate(5), obs(since_open=5.0), False),
        (CloseWindowGate(45), obs(to_close=44.0), True),
        (CloseWindowGate(45), obs(to_close=45.0), False),
        # half day: 12:20 is 40 minutes before a 13:00 close
        (CloseWindowGate(45), obs(day=date(2024, 11, 29), hhmm="12:19", to_close=40.0), True),
        (MaxPositionsGate(1), obs(account=replace(ACCT, open_positions=1)), True),
        (MaxPositionsGate(2), obs(account=replace(ACCT, open_positions=1)), False),
        (MaxTradesPerDayGate(3), obs(account=replace(ACCT, trades_today=3)), True),
        (MaxTradesPerDayGate(3), obs(account=replace(ACCT, trades_today=2)), False),
        (DayOfWeekGate(frozenset({"MON", "TUE"})), obs(), True),
        (DayOfWeekGate(frozenset({"WED"})), obs(), False),
        # daily loss: realised -600 and unrealised -450 breach 1000 only together
        (
            DailyLossLimitGate(1000),
            obs(
                account=replace(
                    ACCT, equity=48_950.0, realized_pnl_today=-600.0, day_start_equity=50_000.0
                )
            ),
            True,
        ),
        (
            DailyLossLimitGate(1000),
            obs(
                account=replace(
                    ACCT, equity=49_400.0, realized_pnl_today=-600.0, day_start_equity=50_000.0
                )
            ),
            False,
        ),
        (DailyLossLimitGate(500), obs(account=replace(ACCT, realized_pnl_today=-500.0)), True),
        (
            CooldownGate(5),
            obs(
                hhmm="11:00",
                account=replace(ACCT, last_exit_time=pd.Timestamp(f"{WED} 10:57", tz=TZ)),
            ),
            True,
        ),
        (
            CooldownGate(5),
            obs(
                hhmm="11:00",
                account=replace(ACCT, last_exit_time=pd.Timestamp(f"{WED} 10:55", tz=TZ)),
            ),
            False,
        ),
        (  # an exit of yesterday does not cool today down
            CooldownGate(5),
            obs(
                hhmm="09:36",
                account=replace(ACCT, last_exit_time=pd.Timestamp("2024-01-09 15:58", tz=TZ)),
            ),
            False,
        ),
    ],
)
def test_gate_scenarios(gate: object, observation: Observation, vetoed: bool) -> None:
    veto = gate.check(observation, BUY)  # type: ignore[attr-defined]
    assert (veto is not None) == vetoed, veto
    if veto is not None:
        assert veto.gate == gate.name and veto.reason  # type: ignore[attr-defined]


def _pos(day: date) -> Position:
    c = OptionContract("SPY", day, Right.CALL, 500.0)
    return Position(c, 1, 1.0, pd.Timestamp(f"{day} 10:00", tz=TZ))


@pytest.mark.parametrize(
    ("equity", "window", "positions", "vetoed"),
    [
        (10_000.0, (date(2024, 1, 8), date(2024, 1, 9)), (), False),  # 2 used, 3rd allowed
        (10_000.0, (date(2024, 1, 8), date(2024, 1, 9), date(2024, 1, 9)), (), True),
        # an open position from today will be a day trade: counted prospectively
        (10_000.0, (date(2024, 1, 8), date(2024, 1, 9)), (_pos(WED),), True),
        # trades older than 5 business days fall out (Jan 2 is 6 business days back)
        (10_000.0, (date(2024, 1, 2), date(2024, 1, 2), date(2024, 1, 2)), (), False),
        (30_000.0, (WED, WED, WED, WED), (), False),  # above the threshold: no limit
    ],
)
def test_pdt(
    equity: float, window: tuple[date, ...], positions: tuple[Position, ...], vetoed: bool
) -> None:
    gate = PatternDayTraderGate(25_000.0, 3, 5)
    acct = replace(SMALL, equity=equity, day_trades_window=window)
    veto = gate.check(obs(account=acct, positions=positions), BUY)
    assert (veto is not None) == vetoed


def test_day_trades_window_counts_business_days() -> None:
    days = [date(2024, 1, 3), date(2024, 1, 4), date(2024, 1, 9)]
    # the 5 business days ending Wed Jan 10 are Jan 4, 5, 8, 9, 10
    assert day_trades_in_window(days, WED, 5) == 2
    assert day_trades_in_window(days, WED, 6) == 3
    assert day_trades_in_window(days, WED, 2) == 1
    assert day_trades_in_window([], WED, 5) == 0


def test_weekdays_and_build() -> None:
    assert allowed_weekdays((), skip_monday=True, skip_friday=True) == {"TUE", "WED", "THU"}
    assert allowed_weekdays(("MON", "FRI"), skip_monday=True, skip_friday=False) == {"FRI"}
    names = [g.name for g in build_gates(Settings())]
    assert names[:3] == ["market_hours", "open_window", "close_window"]
    assert {"max_positions", "max_trades_per_day", "daily_loss_limit", "cooldown", "pdt"} <= set(
        names
    )
    assert "day_of_week" not in names
    s = Settings(gates=GatesSettings(skip_friday=True, pdt_enabled=False))
    names = [g.name for g in build_gates(s)]
    assert "day_of_week" in names and "pdt" not in names
