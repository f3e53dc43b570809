"""The PPO state, its action masks and the numpy policy network (pure, no ``rl`` import).

State (18 values, plus ``sentiment`` and ``sentiment_change_15m`` when the features have
them); every value is scaled to about unit size and an unknown one is 0::

    position   is_in_trade, is_call, pnl_pct / 10, drawdown / 10           (as of last mark)
    time       minutes_held / 60, minutes_to_close / 390
    prediction predicted_direction (p_up - p_down), confidence, momentum_5m
    market     (vix - 15) / 10, volume_spike - 1
    regime     hmm_trend - .5, hmm_volatility - .5, hmm_liquidity - .5, hmm_confidence
    greeks     theta_decay = 1 / sqrt(minutes_to_close + 1) (the ATM decay rate's shape),
               delta of the open position (0 when flat)
    bias       1

Actions: 0 HOLD, 1 BUY_CALL, 2 BUY_PUT, 3 EXIT. Masks: flat -> HOLD, BUY_CALL, BUY_PUT; in a
trade -> HOLD (and EXIT when ``allow_exit``). The same masks apply in training and at
inference. The position values come from the observation's context
(:func:`zerodte.engine.trades.position_context`), so the engine gives the environment and a
backtest the same state.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence

import numpy as np

from zerodte.types import SESSION_MINUTES, Observation

BASE_FEATURES: tuple[str, ...] = (
    "is_in_trade",
    "is_call",
    "pnl_pct",
    "drawdown",
    "minutes_held",
    "minutes_to_expiry",
    "predicted_direction",
    "confidence",
    "momentum_5m",
    "vix_level",
    "volume_spike",
    "hmm_trend",
    "hmm_volatility",
    "hmm_liquidity",
    "hmm_confidence",
    "theta_decay",
    "delta",
    "bias",
)
SENTIMENT_FEATURES: tuple[str, ...] = ("sentiment", "sentiment_change_15m")
N_ACTIONS = 4
HOLD, BUY_CALL, BUY_PUT, EXIT = range(N_ACTIONS)


def state_features(features: Sequence[str]) -> tuple[str, ...]:
    """The state's names given the available feature columns."""
    extra = tuple(f for f in SENTIMENT_FEATURES if f in features)
    return (*BASE_FEATURES, *extra)


def state_schema_hash(names: Sequence[str]) -> str:
    """SHA-256 of the state's names (an artifact must match the state it is fed)."""
    return hashlib.sha256(json.dumps(list(names)).encode()).hexdigest()


def _f(mapping: object, key: str) -> float:
    value = getattr(mapping, "get", lambda _k, _d=None: None)(key, None)
    if value is None:
        return 0.0
    value = float(value)
    return 0.0 if math.isnan(value) else value


def state_vector(observation: Observation, names: Sequence[str]) -> np.ndarray:
    """The state of ``observation`` (module docstring), float32 as the network expects."""
    ctx, feats = observation.context, observation.features
    in_trade = 1.0 if observation.positions else 0.0
    mtc = max(float(observation.minutes_to_close), 0.0)
    conf = ctx.get("calibrated_confidence", ctx.get("ml_confidence"))
    values = {
        "is_in_trade": in_trade,
        "is_call": _f(ctx, "position_is_call") * in_trade,
        "pnl_pct": _f(ctx, "position_pnl_pct") / 10.0,
        "drawdown": _f(ctx, "position_max_drawdown_pct") / 10.0,
        "minutes_held": _f(ctx, "position_minutes_held") / 60.0,
        "minutes_to_expiry": mtc / SESSION_MINUTES,
        "predicted_direction": _f(ctx, "direction_prob_up") - _f(ctx, "direction_prob_down"),
        "confidence": 0.0 if conf is None or math.isnan(float(conf)) else float(conf),
        "momentum_5m": _f(feats, "momentum_5m"),
        "vix_level": (observation.vix - 15.0) / 10.0 if math.isfinite(observation.vix) else 0.0,
        "volume_spike": _f(feats, "volume_spike") - 1.0 if "volume_spike" in feats else 0.0,
        "hmm_trend": _f(ctx, "hmm_trend") - 0.5 if "hmm_trend" in ctx else 0.0,
        "hmm_volatility": _f(ctx, "hmm_volatility") - 0.5 if "hmm_volatility" in ctx else 0.0,
        "hmm_liquidity": _f(ctx, "hmm_liquidity") - 0.5 if "hmm_liquidity" in ctx else 0.0,
        "hmm_confidence": _f(ctx, "hmm_confidence"),
        "theta_decay": 1.0 / math.sqrt(mtc + 1.0),
        "delta": _f(ctx, "position_delta") * in_trade,
        "bias": 1.0,
        "sentiment": _f(feats, "sentiment"),
        "sentiment_change_15m": _f(feats, "sentiment_change_15m"),
    }
    out = np.array([values[n] for n in names], dtype=np.float32)
    return np.clip(np.nan_to_num(out, nan=0.0), -10.0, 10.0)


def action_mask(in_trade: bool, allow_exit: bool) -> np.ndarray:
    """Which of HOLD, BUY_CALL, BUY_PUT, EXIT are allowed."""
    if in_trade:
        return np.array([True, False, False, allow_exit])
    return np.array([True, True, True, False])


class NumpyPolicy:
    """The actor of an MLP policy (``tanh`` hidden layers, linear logits) in numpy.

    ``layers`` are ``(W, b)`` pairs with ``W`` of shape ``(out, in)`` as torch stores them.
    """

    def __init__(self, layers: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        self.layers = [(np.asarray(w, np.float64), np.asarray(b, np.float64)) for w, b in layers]

    def probs(self, state: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Masked action probabilities for one state."""
        h = np.asarray(state, np.float64)
        for w, b in self.layers[:-1]:
            h = np.tanh(w @ h + b)
        w, b = self.layers[-1]
        logits = np.where(mask, w @ h + b, -np.inf)
        z = np.exp(logits - logits.max())
        return z / z.sum()
