"""The consensus controller's six signals as scored agents, and the QThink quality rule.

Every agent gets a score ``s in [-1, 1]`` per row, signed toward calls (+1) or puts (-1),
except ``volatility``, which is non-directional (+1: the volatility filter passes, -1: it
fails). NaN means the agent had nothing to say (not involved)::

    predictions  s = wconf (the weighted multi-horizon p_up - p_down of the consensus rule)
    hmm          s = 2 (hmm_trend - 0.5)                      (NaN without a regime)
    momentum     s = tanh(momentum_5m / 0.1)                  (momentum_5m in percent)
    volatility   s = +1 if vix_min <= VIX <= vix_max and volume_spike < max, else -1
                 (NaN while either is unknown)
    technicals   s = mean(sign(macd_hist), sign(hma_10/20/50_dist))
    flow         s = -tanh(ln(put_call_ratio))                (NaN without flow data)
    q_scorer     s = tanh((q_call - q_put) / 10)              (when the Q-scorer's values exist)

The predictor and the HMM are the first two agents (their outputs are the signals).

For an entry in direction ``d`` an agent's **aligned score** is ``a = d s`` (``a = s`` for
``volatility``). With reinforcement weights ``w_a`` (versioned QThink state), the
**QThink quality** of the entry is the weighted mean aligned score over involved agents::

    quality = sum_a w_a a / sum_a w_a

and QThink (``entry.consensus.qthink.enabled``) vetoes the entry (``qthink_low_quality``)
when ``quality < min_quality * (1 + P_b / 100)``, with ``P_b`` the penalty points of the
time block ``b`` of the bar (the state's penalties). The state in force at bar ``t`` is the
last version published before ``t`` (``zerodte.policy.qthink_state``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from zerodte.config.decision_settings import ConsensusSettings

AGENTS: tuple[str, ...] = (
    "predictions",
    "hmm",
    "momentum",
    "volatility",
    "technicals",
    "flow",
    "q_scorer",
)
DIRECTIONLESS = frozenset({"volatility"})
AGENT_INPUTS: tuple[str, ...] = ("q_call", "q_put")


def agent_scores(
    v: Mapping[str, np.ndarray], wconf: np.ndarray, config: ConsensusSettings
) -> dict[str, np.ndarray]:
    """``agent -> (n,)`` scores in [-1, 1] (NaN: not involved); see the module docstring."""
    with np.errstate(invalid="ignore", divide="ignore"):
        vol_ok = (
            (v["vix"] >= config.vix_min)
            & (v["vix"] <= config.vix_max)
            & (v["volume_spike"] < config.max_volume_spike)
        )
        unknown = np.isnan(v["vix"]) | np.isnan(v["volume_spike"])
        vol = np.where(unknown, np.nan, np.where(vol_ok, 1.0, -1.0))
        tech_parts = np.column_stack(
            [np.sign(v["macd_hist"]), *(np.sign(v[f"hma_{k}_dist"]) for k in (10, 20, 50))]
        )
        tech = np.where(
            np.all(np.isnan(tech_parts), axis=1), np.nan, np.nanmean(_nan_ok(tech_parts), axis=1)
        )
        pcr = v["put_call_ratio"]
        flow = np.where(pcr > 0, -np.tanh(np.log(np.where(pcr > 0, pcr, 1.0))), np.nan)
        return {
            "predictions": np.clip(wconf, -1.0, 1.0),
            "hmm": np.clip(2.0 * (v["hmm_trend"] - 0.5), -1.0, 1.0),
            "momentum": np.tanh(v["momentum_5m"] / 0.1),
            "volatility": vol,
            "technicals": tech,
            "flow": flow,
            "q_scorer": np.tanh((v["q_call"] - v["q_put"]) / 10.0),
        }


def _nan_ok(parts: np.ndarray) -> np.ndarray:
    """Rows that are all NaN get one 0 so ``nanmean`` does not warn (masked afterwards)."""
    out = parts.copy()
    empty = np.all(np.isnan(out), axis=1)
    out[empty, 0] = 0.0
    return out


def aligned_scores(scores: Mapping[str, np.ndarray], direction: np.ndarray) -> np.ndarray:
    """``(n, agents)`` aligned scores ``a = d s`` (``s`` for directionless agents)."""
    cols = [
        scores[a] if a in DIRECTIONLESS else direction * scores[a] for a in AGENTS if a in scores
    ]
    return np.column_stack(cols)


def quality(aligned: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean aligned score over involved agents (NaN when none is involved).

    ``weights`` is ``(n, agents)`` or ``(agents,)``.
    """
    w = np.broadcast_to(np.asarray(weights, np.float64), aligned.shape)
    ok = ~np.isnan(aligned)
    num = np.where(ok, w * np.nan_to_num(aligned), 0.0).sum(axis=1)
    den = np.where(ok, w, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
