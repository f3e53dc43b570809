"""Scenario tables: each consensus signal, the contrarian rules and the straddle trigger."""

from __future__ import annotations

import pandas as pd
import pytest

from zerodte.config.decision_settings import ConsensusSettings
from zerodte.policy.controllers.consensus import ConsensusController
from zerodte.types import Action

from .decision_inputs import observation_of

BULL = {
    "spy_close": 500.0,
    "qqq_close": 400.0,
    "vix_close": 18.0,
    "hmm_trend": 0.8,
    "hmm_volatility": 0.5,
    "hmm_liquidity": 0.5,
    "hmm_confidence": 0.5,
    "direction_prob_up": 0.6,
    "direction_prob_down": 0.2,
    "direction_prob_up_30m": 0.55,
    "direction_prob_down_30m": 0.25,
    "direction_prob_up_60m": 0.5,
    "direction_prob_down_60m": 0.3,
    "momentum_5m": 0.1,
    "momentum_15m": 0.2,
    "jerk_5m": 0.0001,
    "rsi_14": 60.0,
    "volume_spike": 1.5,
    "macd_hist": 0.01,
    "bb_pos_20": 0.6,
    "hma_10_dist": 0.05,
    "hma_20_dist": 0.04,
    "hma_50_dist": -0.01,
    "spy_qqq_agree_5m": 1.0,
    "put_call_ratio": 0.9,
}
BEAR_FLIP = {
    "hmm_trend": 0.2,
    "direction_prob_up": 0.2,
    "direction_prob_down": 0.6,
    "direction_prob_up_30m": 0.25,
    "direction_prob_down_30m": 0.55,
    "direction_prob_up_60m": 0.3,
    "direction_prob_down_60m": 0.5,
    "momentum_5m": -0.1,
    "momentum_15m": -0.2,
    "jerk_5m": -0.0001,
    "rsi_14": 40.0,
    "macd_hist": -0.01,
    "bb_pos_20": 0.4,
    "hma_10_dist": -0.05,
    "hma_20_dist": -0.04,
    "hma_50_dist": 0.01,
    "put_call_ratio": 1.1,
}


def _decide(row: dict[str, float], **config: object):  # type: ignore[no-untyped-def]
    frame = pd.DataFrame(
        [row], index=pd.DatetimeIndex([pd.Timestamp("2024-01-10 10:30", tz="America/New_York")])
    )
    ctrl = ConsensusController(ConsensusSettings(**config))  # type: ignore[arg-type]
    return ctrl.decide(observation_of(frame, 0))


def test_all_six_agree() -> None:
    assert _decide(BULL).action is Action.BUY_CALLS
    d = _decide({**BULL, **BEAR_FLIP})
    assert d.action is Action.BUY_PUTS and d.context["strategy"] == "CONSENSUS"
    assert d.context["prediction_timeframe"] == 15.0


@pytest.mark.parametrize(
    ("change", "veto"),
    [
        # (1) multi-timeframe predictions
        ({"direction_prob_up_60m": 0.2, "direction_prob_down_60m": 0.6}, "horizons_disagree"),
        (
            {
                "direction_prob_up": 0.45,
                "direction_prob_down": 0.4,
                "direction_prob_up_30m": 0.42,
                "direction_prob_down_30m": 0.4,
                "direction_prob_up_60m": 0.41,
                "direction_prob_down_60m": 0.4,
            },
            "weak_prediction",
        ),
        (
            {
                "direction_prob_up": float("nan"),
                "direction_prob_up_30m": float("nan"),
                "direction_prob_up_60m": float("nan"),
            },
            "no_prediction",
        ),
        # (2) HMM
        ({"hmm_trend": 0.2}, "hmm_misaligned"),
        ({"hmm_trend": 0.5}, "hmm_neutral"),
        ({"hmm_confidence": 0.05}, "hmm_low_confidence"),
        ({"hmm_trend": float("nan")}, "hmm_unknown"),
        # (3) momentum
        ({"momentum_5m": -0.1, "momentum_15m": -0.1}, "momentum_not_aligned"),
        ({"jerk_5m": -0.001}, "jerk_opposes"),
        ({"rsi_14": 85.0}, "rsi_extreme"),
        # (4) volatility
        ({"vix_close": 36.0}, "vix_out_of_range"),
        ({"vix_close": 9.5}, "vix_out_of_range"),
        ({"volume_spike": 5.0}, "volume_spike"),
        # (5) technicals
        ({"macd_hist": -0.01}, "macd_not_aligned"),
        ({"bb_pos_20": 0.9}, "bollinger_stretched"),
        ({"hma_20_dist": -0.01}, "hull_not_aligned"),
        ({"spy_qqq_agree_5m": -1.0}, "breadth_opposes"),
        # (6) options flow
        ({"put_call_ratio": 1.6}, "flow_opposes"),
    ],
)
def test_each_failed_signal_is_a_recorded_veto(change: dict[str, float], veto: str) -> None:
    d = _decide({**BULL, **change})
    assert d.action is Action.HOLD
    assert veto in d.vetoes, d.vetoes


@pytest.mark.parametrize(
    ("change", "passes"),
    [
        ({"momentum_5m": -0.1}, True),  # one of 5m / 15m aligned is enough
        ({"rsi_14": 79.0}, True),  # RSI blocks only beyond 80
        ({"jerk_5m": 0.0}, True),  # a flat jerk does not oppose
        ({"hma_50_dist": -0.05}, True),  # 2 of 3 Hull MAs
        ({"put_call_ratio": float("nan")}, True),  # no flow data: passes
        ({"spy_qqq_agree_5m": float("nan")}, True),  # no QQQ: breadth skipped
    ],
)
def test_tolerances(change: dict[str, float], passes: bool) -> None:
    assert (_decide({**BULL, **change}).action is Action.BUY_CALLS) is passes


@pytest.mark.parametrize(
    ("change", "action", "strategy"),
    [
        # HMM override: a confident up-trend that the predictions oppose: follow the HMM
        ({**BEAR_FLIP, "hmm_trend": 0.9, "hmm_confidence": 0.8}, Action.BUY_CALLS, "HMM_OVERRIDE"),
        # fade exhaustion: overbought, still rising, decelerating: puts
        ({"rsi_14": 82.0, "jerk_5m": -0.001, "hmm_trend": 0.5}, Action.BUY_PUTS, "CONTRARIAN_FADE"),
        (
            {**BEAR_FLIP, "rsi_14": 18.0, "jerk_5m": 0.001, "hmm_trend": 0.5},
            Action.BUY_CALLS,
            "CONTRARIAN_FADE",
        ),
        # disagreement tiebreaker: votes split 3/3, follow the HMM side
        (
            {
                "momentum_5m": -0.1,
                "macd_hist": -0.01,
                "hma_20_dist": -0.01,
                "hma_10_dist": -0.05,
                "spy_qqq_agree_5m": 1.0,
                "hmm_confidence": 0.3,
            },
            Action.BUY_CALLS,
            "DISAGREEMENT_TIEBREAK",
        ),
        # no disagreement, nothing exhausted, consensus fails: hold
        ({"macd_hist": -0.01}, Action.HOLD, "NONE"),
        # the volatility filter stands before every contrarian rule
        (
            {**BEAR_FLIP, "hmm_trend": 0.9, "hmm_confidence": 0.8, "vix_close": 40.0},
            Action.HOLD,
            "NONE",
        ),
    ],
)
def test_contrarian_rules(change: dict[str, float], action: Action, strategy: str) -> None:
    d = _decide({**BULL, **change}, contrarian=True)
    assert d.action is action and d.context["strategy"] == strategy, (d.action, d.context, d.vetoes)


UNCLEAR = {
    "direction_prob_up": 0.4,
    "direction_prob_down": 0.38,
    "direction_prob_up_30m": 0.4,
    "direction_prob_down_30m": 0.4,
    "direction_prob_up_60m": 0.39,
    "direction_prob_down_60m": 0.4,
    "vix_close": 25.0,
    "hmm_volatility": 0.7,
}


@pytest.mark.parametrize(
    ("change", "straddle"),
    [
        ({}, True),
        ({"vix_close": 19.0}, False),
        ({"vix_close": 41.0}, False),
        ({"hmm_volatility": 0.5}, False),
        ({"direction_prob_up": 0.7, "direction_prob_down": 0.1}, False),  # direction is clear
        ({"volume_spike": 6.0}, False),
    ],
)
def test_straddle_trigger(change: dict[str, float], straddle: bool) -> None:
    d = _decide({**BULL, **UNCLEAR, **change}, straddle=True)
    assert (d.action is Action.BUY_STRADDLE) is straddle, (d.action, d.vetoes)
    assert len(d.probs) == 4 and sum(d.probs) == 1.0
    if straddle:
        assert d.context["strategy"] == "VOLATILITY_EXPANSION"
    assert _decide({**BULL, **UNCLEAR, **change}).action is not Action.BUY_STRADDLE
