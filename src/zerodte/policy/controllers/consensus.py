"""Multi-signal consensus: all six signals must agree; contrarian and straddle modes.

Direction ``d`` (+1 calls, -1 puts) comes from the predictions at the horizons
``h in entry.consensus.horizons`` (context ``direction_prob_{up,down}_{h}m``; the predictor
bundle's own ``direction_prob_*`` stand for its horizon, 15 minutes by default)::

    s_h = p_up_h - p_down_h;  wconf = sum_h w_h s_h / sum_h w_h   (available horizons)
    d = sign(wconf)

The six checks for an entry in direction ``d`` (each failure is a recorded veto):

1. predictions: every available horizon has ``sign(s_h) = d`` and ``|wconf| >= 0.15``;
2. HMM: ``hmm_confidence >= 0.10`` and the trend on ``d``'s side (``hmm_trend > 0.55`` for
   calls, ``< 0.45`` for puts); a trend on the other side is a hard veto;
3. momentum: ``momentum_5m`` or ``momentum_15m`` has sign ``d``; ``jerk_5m`` does not
   oppose; RSI blocks calls above 80 and puts below 20 only;
4. volatility: ``10 <= VIX <= 35`` and ``volume_spike < 5``;
5. technicals: ``macd_hist`` sign ``d``; ``bb_pos_20 < 0.85`` for calls, ``> 0.15`` for puts;
   at least 2 of ``hma_{10,20,50}_dist`` with sign ``d``; SPY/QQQ breadth
   (``spy_qqq_agree_5m``) not opposed, when QQQ exists;
6. options flow: ``put_call_ratio`` (from chain volume) above ``flow_veto_ratio`` vetoes
   calls, below its inverse vetoes puts; without flow data the check passes (recorded).

**Contrarian** (``contrarian``, or the ``contrarian`` controller name), checked in order
and always behind the volatility filter:
HMM override (a trend beyond 0.45/0.55 with ``hmm_confidence >= hmm_override_confidence``
that the predictions oppose: follow the HMM); fade exhaustion (``rsi_14 >
exhaustion_rsi_high`` with positive momentum and negative jerk: puts; the mirror: calls);
disagreement tiebreaker (at least ``min_disagreement`` of the directional votes on each
side: follow the HMM side when ``hmm_confidence >= min_hmm_confidence``).

**Straddle** (``straddle``): BUY_STRADDLE when ``straddle_vix_min <= VIX <=
straddle_vix_max``, ``hmm_volatility >= straddle_min_hmm_volatility`` and ``|wconf| <
straddle_max_direction_confidence`` (direction unclear). With straddles on, decisions carry
four scores and propensities. Every decision is deterministic (one-hot propensities).

**QThink** (``entry.consensus.qthink.enabled``, off by default): a last check,
``qthink_low_quality``, vetoes a call or put entry (consensus or contrarian; straddles are
non-directional and pass) whose weighted agent quality toward the entry's own direction
falls below the penalised threshold (formulas in
:mod:`~zerodte.policy.controllers.consensus_agents`); the weights and penalties are the
version of the state in force at the bar
(:mod:`~zerodte.policy.qthink_state`), so both paths read the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from zerodte.config.decision_settings import ConsensusSettings
from zerodte.policy.base import VETO_SEPARATOR, decision_frame, one_hot
from zerodte.policy.controllers.consensus_agents import (
    AGENT_INPUTS,
    AGENTS,
    agent_scores,
    aligned_scores,
    quality,
)
from zerodte.policy.controllers.inputs import (
    frame_values,
    nan_to_zero,
    observation_values,
    sign0,
)
from zerodte.policy.qthink_state import QThinkState, load_state
from zerodte.types import Action, Decision, Observation

MARKET_INPUTS = (
    "hmm_trend",
    "hmm_volatility",
    "hmm_confidence",
    "momentum_5m",
    "momentum_15m",
    "jerk_5m",
    "rsi_14",
    "vix",
    "volume_spike",
    "macd_hist",
    "bb_pos_20",
    "hma_10_dist",
    "hma_20_dist",
    "hma_50_dist",
    "spy_qqq_agree_5m",
    "put_call_ratio",
    "direction_prob_up",
    "direction_prob_down",
)


def horizon_inputs(horizons: tuple[int, ...]) -> tuple[str, ...]:
    """Context names of the multi-horizon predictions."""
    return tuple(f"direction_prob_{s}_{h}m" for h in horizons for s in ("up", "down"))


_sign = sign0


class ConsensusController:
    """Six-signal consensus (see the module docstring)."""

    def __init__(
        self,
        config: ConsensusSettings,
        name: str = "consensus",
        qthink_state: QThinkState | None = None,
    ) -> None:
        self.config = config
        self.name = name
        self.contrarian = config.contrarian or name == "contrarian"
        self.n_actions = 4 if config.straddle else 3
        self.inputs = (*MARKET_INPUTS, *horizon_inputs(config.horizons), *AGENT_INPUTS)
        self._weights = np.asarray(config.horizon_weights, np.float64)
        self._horizons = np.asarray(config.horizons, np.float64)
        q = config.qthink
        if qthink_state is None and q.enabled and q.state_path is not None:
            qthink_state = load_state(q.state_path)
        self.qthink_state = qthink_state if q.enabled else None

    def agent_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per-row agent scores (:data:`AGENTS`), the direction ``d`` and ``wconf``."""
        v = frame_values(frame, self.inputs)
        wconf, d, _, _ = self._direction(v)
        out = pd.DataFrame(agent_scores(v, wconf, self.config), index=frame.index)
        out["direction"] = d
        out["wconf"] = wconf
        return out

    def _qthink(
        self, v: Mapping[str, np.ndarray], wconf: np.ndarray, d: np.ndarray, times: pd.DatetimeIndex
    ) -> tuple[np.ndarray, np.ndarray]:
        """(quality, failing rows) of the QThink check; see consensus_agents."""
        state = self.qthink_state
        assert state is not None
        aligned = aligned_scores(agent_scores(v, wconf, self.config), d)
        q = quality(aligned, state.weight_matrix(times, AGENTS))
        need = self.config.qthink.min_quality * (1.0 + state.penalty_points(times) / 100.0)
        with np.errstate(invalid="ignore"):
            return q, ~(q >= need)

    # -- signals -------------------------------------------------------------------------
    def _direction(self, v: Mapping[str, np.ndarray]) -> tuple[np.ndarray, ...]:
        # All horizons at once as (n, H) matrices: a handful of array operations per
        # decision whatever the number of horizons (the streaming path decides one row).
        c = self.config
        up = np.column_stack([v[f"direction_prob_up_{h}m"] for h in c.horizons])
        dn = np.column_stack([v[f"direction_prob_down_{h}m"] for h in c.horizons])
        # the bundle's own outputs stand for the first horizon
        up[:, 0] = np.where(np.isnan(up[:, 0]), v["direction_prob_up"], up[:, 0])
        dn[:, 0] = np.where(np.isnan(dn[:, 0]), v["direction_prob_down"], dn[:, 0])
        s = up - dn
        ok = ~np.isnan(s)
        w = self._weights
        ws = np.where(ok, w * s, 0.0)
        num, den = ws.sum(axis=1), np.where(ok, w, 0.0).sum(axis=1)
        contrib = np.where(ok, np.abs(ws), -1.0)
        first_best = np.argmax(contrib, axis=1)  # the first horizon of the largest |w s|
        best_h = np.where(contrib.max(axis=1) > 0, self._horizons[first_best], np.nan)
        wconf = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        d = _sign(wconf)
        sg = np.where(ok, sign0(s), np.nan)
        agree = np.all(np.isnan(sg) | (sg == d[:, None]), axis=1) & (den > 0)
        return wconf, d, agree, best_h

    def _checks(self, v: Mapping[str, np.ndarray], d: np.ndarray) -> dict[str, np.ndarray]:
        """``veto name -> bool (n,)`` failing rows for an entry in direction ``d``."""
        c = self.config
        call, put = d > 0, d < 0
        trend, hconf = v["hmm_trend"], v["hmm_confidence"]
        with np.errstate(invalid="ignore"):
            hmm_side = np.where(trend > c.trend_high, 1.0, np.where(trend < c.trend_low, -1.0, 0.0))
            rsi = v["rsi_14"]
            hull = sum((_sign(v[f"hma_{k}_dist"]) == d).astype(int) for k in (10, 20, 50))
            pcr = v["put_call_ratio"]
            return {
                "hmm_unknown": np.isnan(trend) | np.isnan(hconf),
                "hmm_low_confidence": ~(hconf >= c.min_hmm_confidence),
                "hmm_misaligned": hmm_side == -d,
                "hmm_neutral": hmm_side == 0,
                "momentum_not_aligned": ~(
                    (_sign(v["momentum_5m"]) == d) | (_sign(v["momentum_15m"]) == d)
                ),
                "jerk_opposes": _sign(v["jerk_5m"]) == -d,
                "rsi_extreme": (call & (rsi > c.rsi_overbought)) | (put & (rsi < c.rsi_oversold)),
                "vix_out_of_range": ~((v["vix"] >= c.vix_min) & (v["vix"] <= c.vix_max)),
                "volume_spike": ~(v["volume_spike"] < c.max_volume_spike),
                "macd_not_aligned": _sign(v["macd_hist"]) != d,
                "bollinger_stretched": (call & ~(v["bb_pos_20"] < c.bb_call_max))
                | (put & ~(v["bb_pos_20"] > c.bb_put_min)),
                "hull_not_aligned": hull < c.hull_min_aligned,
                "breadth_opposes": v["spy_qqq_agree_5m"] < 0,
                "flow_opposes": (call & (pcr > c.flow_veto_ratio))
                | (put & (pcr < 1.0 / c.flow_veto_ratio)),
            }

    def _votes(self, v: Mapping[str, np.ndarray], wconf: np.ndarray) -> tuple[np.ndarray, ...]:
        c = self.config
        trend = v["hmm_trend"]
        with np.errstate(invalid="ignore"):
            hmm = np.where(trend > c.trend_high, 1.0, np.where(trend < c.trend_low, -1.0, 0.0))
        votes = np.column_stack(
            [
                _sign(wconf),
                hmm,
                _sign(v["momentum_5m"]),
                _sign(v["macd_hist"]),
                _sign(v["hma_20_dist"]),
                _sign(v["spy_qqq_agree_5m"] * v["momentum_5m"]),
            ]
        )
        return (votes > 0).sum(axis=1), (votes < 0).sum(axis=1), hmm

    # -- the rule ------------------------------------------------------------------------
    def _rule(self, v: Mapping[str, np.ndarray], times: pd.DatetimeIndex) -> dict[str, np.ndarray]:
        c = self.config
        n = len(v["vix"])
        wconf, d, agree, best_h = self._direction(v)
        checks = self._checks(v, d)
        with np.errstate(invalid="ignore"):
            weak = ~(np.abs(wconf) >= c.min_weighted_confidence)
        checks = {
            "no_prediction": np.isnan(wconf),
            "horizons_disagree": ~agree,
            "weak_prediction": weak,
            **checks,
        }
        failed = np.column_stack(list(checks.values()))
        action = np.where(failed.any(axis=1), 0, np.where(d > 0, 1, np.where(d < 0, 2, 0)))
        strategy = np.where(action > 0, "CONSENSUS", "NONE").astype(object)
        vol_ok = ~(checks["vix_out_of_range"] | checks["volume_spike"])
        if self.contrarian:
            bulls, bears, hmm = self._votes(v, wconf)
            hconf = v["hmm_confidence"]
            rsi, mom, jerk = v["rsi_14"], _sign(v["momentum_5m"]), _sign(v["jerk_5m"])
            with np.errstate(invalid="ignore"):
                override = (hmm != 0) & (hconf >= c.hmm_override_confidence) & (d == -hmm)
                fade_put = (rsi > c.exhaustion_rsi_high) & (mom > 0) & (jerk < 0)
                fade_call = (rsi < c.exhaustion_rsi_low) & (mom < 0) & (jerk > 0)
                split = (bulls >= c.min_disagreement) & (bears >= c.min_disagreement)
                tiebreak = split & (hmm != 0) & (hconf >= c.min_hmm_confidence)
            side = np.where(hmm > 0, 1, 2)
            rules = (
                (override, side, "HMM_OVERRIDE"),
                (fade_put & ~override, np.full(n, 2), "CONTRARIAN_FADE"),
                (fade_call & ~override, np.full(n, 1), "CONTRARIAN_FADE"),
                (tiebreak & ~override & ~fade_put & ~fade_call, side, "DISAGREEMENT_TIEBREAK"),
            )
            taken = np.zeros(n, dtype=bool)
            for fire, act, label in rules:
                go = fire & vol_ok & ~taken & (action == 0)
                action = np.where(go, act, action)
                strategy = np.where(go, label, strategy)
                taken |= go
        if c.straddle:
            with np.errstate(invalid="ignore"):
                unclear = ~(np.abs(wconf) >= c.straddle_max_direction_confidence)
                fire = (
                    (v["vix"] >= c.straddle_vix_min)
                    & (v["vix"] <= c.straddle_vix_max)
                    & (v["hmm_volatility"] >= c.straddle_min_hmm_volatility)
                    & unclear
                    & (action == 0)
                    & ~checks["volume_spike"]
                )
            action = np.where(fire, int(Action.BUY_STRADDLE), action)
            strategy = np.where(fire, "VOLATILITY_EXPANSION", strategy)
        q_quality = np.full(n, np.nan)
        if self.qthink_state is not None:
            side = np.where(action == 1, 1.0, np.where(action == 2, -1.0, d))
            q_quality, low = self._qthink(v, wconf, side, times)
            directional = (action == 1) | (action == 2)
            action = np.where(low & directional, 0, action)
            strategy = np.where(low & directional, "NONE", strategy)
            checks["qthink_low_quality"] = low
            failed = np.column_stack([failed, low])
        names = np.array(list(checks), dtype=object)
        return {
            "action": action.astype(np.int8),
            "wconf": wconf,
            "failed": failed,
            "names": names,
            "strategy": strategy,
            "timeframe": best_h,
            "quality": q_quality,
        }

    def _texts(self, r: Mapping[str, np.ndarray], i: int) -> tuple[str, str]:
        a, w = int(r["action"][i]), float(r["wconf"][i])
        vetoes = "" if a else VETO_SEPARATOR.join(r["names"][r["failed"][i]].tolist())
        label = ("hold", "call", "put", "straddle")[a]
        return f"{label} ({r['strategy'][i]}): weighted confidence {w:+.3f}", vetoes

    def _frame_parts(self, r: Mapping[str, np.ndarray]) -> tuple[np.ndarray, ...]:
        n = len(r["action"])
        scores = np.zeros((n, self.n_actions))
        w = nan_to_zero(r["wconf"])
        scores[:, 1], scores[:, 2] = w, -w
        return scores, one_hot(r["action"], self.n_actions)

    def decide(self, observation: Observation) -> Decision:
        """The consensus decision for one observation."""
        times = pd.DatetimeIndex([pd.Timestamp(observation.time)])
        r = self._rule(observation_values(observation, self.inputs), times)
        scores, probs = self._frame_parts(r)
        reason, vetoes = self._texts(r, 0)
        ctx: dict[str, float | str] = {"strategy": str(r["strategy"][0])}
        if not np.isnan(r["timeframe"][0]):
            ctx["prediction_timeframe"] = float(r["timeframe"][0])
        if self.qthink_state is not None and not np.isnan(r["quality"][0]):
            ctx["qthink_quality"] = float(r["quality"][0])
        w = float(r["wconf"][0])
        return Decision(
            Action(int(r["action"][0])),
            scores=tuple(scores[0].tolist()),
            probs=tuple(probs[0].tolist()),
            reasons=(reason,),
            vetoes=tuple(vetoes.split(VETO_SEPARATOR)) if vetoes else (),
            confidence=None if np.isnan(w) else abs(w),
            context=ctx,
        )

    def decide_batch(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The same rule over every row."""
        r = self._rule(frame_values(frame, self.inputs), pd.DatetimeIndex(frame.index))
        scores, probs = self._frame_parts(r)
        texts = [self._texts(r, i) for i in range(len(frame))]
        context: dict[str, np.ndarray] = {
            "strategy": r["strategy"],
            "prediction_timeframe": r["timeframe"],
        }
        if self.qthink_state is not None:
            context["qthink_quality"] = r["quality"]
        return decision_frame(
            frame.index,
            r["action"],
            scores,
            probs,
            [t[0] for t in texts],
            confidence=np.abs(r["wconf"]),
            vetoes=[t[1] for t in texts],
            context=context,
        )
