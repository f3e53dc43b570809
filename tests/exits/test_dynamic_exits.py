"""Scenario tables: each dynamic-exit check, greeks-aware stops, and straddles as one position
(accounting identities through the real paper broker)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from zerodte.broker.fills import build_execution_model
from zerodte.broker.paper import PaperBroker
from zerodte.config.decision_settings import DynamicExitSettings, GreeksExitSettings
from zerodte.config.settings import CostsSettings
from zerodte.exits.base import TrackedPosition
from zerodte.exits.dynamic import DynamicExit, GreeksStopLoss, greeks_scale
from zerodte.exits.legs import combine_legs
from zerodte.types import (
    ExitReason,
    Fill,
    Observation,
    OptionContract,
    OptionQuote,
    Order,
    Position,
    Right,
    Side,
)

TZ = "America/New_York"
T0 = pd.Timestamp("2024-01-10 10:00", tz=TZ)
CALL = OptionContract("SPY", date(2024, 1, 10), Right.CALL, 500.0)
PUT = OptionContract("SPY", date(2024, 1, 10), Right.PUT, 500.0)
ENTRY_CTX = {
    "direction_prob_up": 0.6,
    "direction_prob_down": 0.2,
    "hmm_trend": 0.7,
    "hmm_confidence": 0.8,
}


def _tracked(
    pnl: float, held: float = 5.0, peak: float | None = None, group: str = ""
) -> TrackedPosition:
    pos = Position(CALL, 1, 2.0, T0, 0.65, tag="t", group=group)
    gain = pnl if peak is None else peak
    return TrackedPosition(
        pos, held, pnl, gain, min(pnl, 0.0), 2.0, False, 2.0 * (1 + pnl / 100), 1
    )


def _obs(ctx: dict[str, float], **feats: float) -> Observation:
    return Observation(0, T0, T0.date(), 30.0, 200.0, 500.0, 400.0, 15.0, feats, ctx)


def _quote(theta: float = -0.01, delta: float = 0.5) -> OptionQuote:
    return OptionQuote(CALL, T0, 2.0, 2.05, 500.0, iv=0.15, delta=delta, theta=theta)


@pytest.mark.parametrize(
    ("ctx", "feats", "tracked", "quote", "check"),
    [
        (
            {**ENTRY_CTX, "direction_prob_up": 0.2, "direction_prob_down": 0.5},
            {},
            _tracked(1.0),
            _quote(),
            "thesis_invalidation",
        ),
        ({**ENTRY_CTX, "hmm_confidence": 0.3}, {}, _tracked(1.0), _quote(), "confidence_collapse"),
        ({**ENTRY_CTX, "hmm_trend": 0.3}, {}, _tracked(1.0), _quote(), "regime_change"),
        (ENTRY_CTX, {"rv_15m": 1.0}, _tracked(-1.0), _quote(theta=-2.0), "theta_vs_gain"),
        (
            ENTRY_CTX,
            {"rsi_14": 80.0, "jerk_5m": -0.001},
            _tracked(3.0),
            _quote(),
            "momentum_exhaustion",
        ),
        (ENTRY_CTX, {}, _tracked(0.5, held=25.0), _quote(), "flat_time_decay"),
        (ENTRY_CTX, {}, _tracked(3.0, peak=7.0), _quote(), "profit_protection"),
        (ENTRY_CTX, {"rv_15m": 20.0}, _tracked(3.0, peak=4.0), _quote(), None),
    ],
)
def test_each_dynamic_check(ctx, feats, tracked, quote, check) -> None:  # type: ignore[no-untyped-def]
    rule = DynamicExit(DynamicExitSettings(enabled=True))
    rule.evaluate(tracked, quote, _obs(ENTRY_CTX, rv_15m=20.0))  # first sight: entry values
    signal = rule.evaluate(tracked, quote, _obs(ctx, **feats))
    if check is None:
        assert signal is None
    else:
        assert signal is not None and signal.reason is ExitReason.DYNAMIC and check in signal.detail
        off = DynamicExit(DynamicExitSettings(enabled=True, **{check: False}))
        off.evaluate(tracked, quote, _obs(ENTRY_CTX, rv_15m=20.0))
        again = off.evaluate(tracked, quote, _obs(ctx, **feats))
        assert again is None or check not in again.detail  # each check is switchable


@pytest.mark.parametrize(
    ("vix", "delta", "scale"),
    [
        (15.0, 0.5, 1.0),
        (30.0, 0.5, 2.0),
        (15.0, 0.25, 2.0),
        (7.5, 0.5, 0.5),
        (60.0, 0.1, 2.0),
        (15.0, float("nan"), 1.0),
    ],
)
def test_greeks_scale(vix: float, delta: float, scale: float) -> None:
    assert greeks_scale(
        GreeksExitSettings(enabled=True), _quote(delta=delta), vix
    ) == pytest.approx(scale)
    stop = GreeksStopLoss(8.0, 1.0, GreeksExitSettings(enabled=True))
    obs = Observation(0, T0, T0.date(), 30.0, 200.0, 500.0, 400.0, vix, {}, {})
    fires = stop.evaluate(_tracked(-8.0 * scale - 0.01), _quote(delta=delta), obs)
    holds = stop.evaluate(_tracked(-8.0 * scale + 0.01), _quote(delta=delta), obs)
    assert fires is not None and holds is None


def test_straddle_is_one_position_and_its_pnl_is_the_sum_of_its_legs() -> None:
    legs = [Position(CALL, 2, 1.5, T0, 1.3, "s.C", "s"), Position(PUT, 2, 1.2, T0, 1.3, "s.P", "s")]
    quotes = [_quote(delta=0.55), OptionQuote(PUT, T0, 1.0, 1.05, 500.0, delta=-0.45, theta=-0.02)]
    pos, quote = combine_legs(legs, quotes, "s")
    assert pos.avg_price == pytest.approx(2.7) and pos.entry_fees == pytest.approx(2.6)
    assert (
        quote is not None and quote.bid == pytest.approx(3.0) and quote.delta == pytest.approx(0.1)
    )
    assert combine_legs(legs, [quotes[0], None], "s")[1] is None
    # the ledger books each leg; the group's P&L is the sum and equals the change in cash
    broker = PaperBroker(10_000.0, build_execution_model(CostsSettings(), tick=0.01))
    ledger = broker.ledger
    day = T0.date()
    for contract, price in ((CALL, 1.5), (PUT, 1.2)):
        ledger.apply(
            Fill(f"s.{contract.right.value}", contract, Side.BUY, 2, price, 1.3, T0, group="s"), day
        )
    assert {p.group for p in ledger.positions()} == {"s"}
    later = T0 + pd.Timedelta(minutes=10)
    ledger.apply(Fill("s.C:x1", CALL, Side.SELL, 2, 2.4, 1.3, later), day)
    ledger.apply(Fill("s.P:x1", PUT, Side.SELL, 2, 0.6, 1.3, later), day)
    legs_pnl = [t.pnl for t in ledger.closed_trades()]
    assert legs_pnl == pytest.approx([(2.4 - 1.5) * 200 - 2.6, (0.6 - 1.2) * 200 - 2.6])
    assert ledger.group_pnl("s") == pytest.approx(sum(legs_pnl))
    assert ledger.cash - 10_000.0 == pytest.approx(ledger.group_pnl("s"))
    assert Order("s.C", CALL, Side.BUY, 1, group="s").group == "s"
