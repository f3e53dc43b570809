"""The contextual bandit: HOLD / BUY_CALLS / BUY_PUTS from the HMM regime and predictors.

Context vector ``x`` (unknown predictor values are 0 = no evidence; they are centred)::

    hmm_strict: [1, hmm_trend - .5, hmm_volatility - .5, hmm_liquidity - .5, hmm_confidence]
    full:       hmm_strict + [p_up - p_down, predicted_return, momentum_5m,
                              (vix - 15) / 10, volume_spike - 1]

Values: ``v_call, v_put`` from :class:`~.linear.LinearArms` (ridge regression of the net
dollar reward per contract), ``v_hold = 0``. Eligible entries ``E``: in ``hmm_strict`` (the
predecessor's default) a call only when ``hmm_trend > trend_high`` and a put only when
``hmm_trend < trend_low``, both with ``hmm_confidence >= min_hmm_confidence``, and an
untried arm is worth ``+1`` $ (so aligned signals are taken until trades say otherwise);
in ``full`` both, with prior 0. Without HMM outputs nothing is eligible (HOLD).

Policy (epsilon-greedy over ``K = {HOLD} + E``)::

    greedy = argmax over K of v (HOLD unless some v_a > min_value)
    pi(a)  = (1 - eps) [a = greedy] + eps / |K|       for a in K, else 0

The draw is ``u = SplitMix64(seed, bar time)``: explore when ``u < eps`` and then take
``K[floor(u / eps * |K|)]``. The recorded ``probs`` are exactly ``pi`` (they sum to 1),
and ``decide`` and ``decide_batch`` run the same vectorised rule.

Learning (state ends in ``_``, changes only in :meth:`observe_trade` and
:meth:`observe_ghosts`): each closed trade updates its arm with ``pnl / qty`` at the entry
context recorded on the trade; each MissedOpportunityRecord updates both arms with their
ghost rewards (counterfactual rewards of actions not taken). In a vectorised backtest the
decisions are computed before the run, so what it learns there serves later runs;
streaming runs learn online.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zerodte.config.decision_settings import BanditSettings
from zerodte.errors import ConfigError
from zerodte.policy.base import decision_frame
from zerodte.policy.controllers.inputs import (
    bar_keys,
    frame_values,
    nan_to_zero,
    observation_key,
    observation_values,
)
from zerodte.policy.controllers.linear import LinearArms, write_learned_state
from zerodte.policy.controllers.random import splitmix_uniform
from zerodte.types import Action, Decision, Observation

HMM = ("hmm_trend", "hmm_volatility", "hmm_liquidity", "hmm_confidence")
EXTRA = ("direction_prob_up", "direction_prob_down", "predicted_return", "momentum_5m")
INPUTS = (*HMM, *EXTRA, "vix", "volume_spike")
TRADE_INPUTS = {"vix": "vix_level"}  # trade-row column of an input, where it differs


def context_matrix(v: Mapping[str, np.ndarray], profile: str) -> np.ndarray:
    """``(n, d)`` context vectors (see the module docstring)."""
    n = len(v["hmm_trend"])
    cols = [
        np.ones(n),
        v["hmm_trend"] - 0.5,
        v["hmm_volatility"] - 0.5,
        v["hmm_liquidity"] - 0.5,
        v["hmm_confidence"],
    ]
    if profile == "full":
        cols += [
            nan_to_zero(v["direction_prob_up"] - v["direction_prob_down"]),
            nan_to_zero(v["predicted_return"]),
            nan_to_zero(v["momentum_5m"]),
            nan_to_zero((v["vix"] - 15.0) / 10.0),
            nan_to_zero(v["volume_spike"] - 1.0),
        ]
    return np.column_stack(cols)


class BanditController:
    """Epsilon-greedy linear contextual bandit; see the module docstring."""

    name = "bandit"

    def __init__(self, config: BanditSettings) -> None:
        self.config = config
        prior = 1.0 if config.profile == "hmm_strict" else 0.0
        self.dim = 5 if config.profile == "hmm_strict" else 10
        self.arms_ = LinearArms(
            2,
            self.dim,
            ridge=config.ridge,
            prior=np.array([prior, prior]),
            replay=config.replay,
            replay_size=config.replay_size,
            replay_batch=config.replay_batch,
            replay_alpha=config.replay_alpha,
            random_state=config.seed,
        )

    @classmethod
    def from_settings(cls, config: BanditSettings) -> BanditController:
        """A bandit with ``entry.bandit``; restores ``state_path`` when set."""
        ctrl = cls(config)
        if config.state_path is not None:
            ctrl.load_state(config.state_path)
        return ctrl

    # -- the rule (one vectorised function behind both paths) ---------------------------
    def _rule(self, v: Mapping[str, np.ndarray], keys: np.ndarray) -> dict[str, np.ndarray]:
        c = self.config
        n = len(keys)
        trend, conf = v["hmm_trend"], v["hmm_confidence"]
        known = ~(np.isnan(trend) | np.isnan(conf) | np.isnan(v["hmm_volatility"]))
        known &= ~np.isnan(v["hmm_liquidity"])
        x = np.where(known[:, None], context_matrix(v, c.profile), 0.0)
        values = self.arms_.value(x)  # (n, 2): call, put
        eligible = np.zeros((n, 3), dtype=bool)
        eligible[:, 0] = True
        with np.errstate(invalid="ignore"):
            if c.profile == "hmm_strict":
                sure = known & (conf >= c.min_hmm_confidence)
                eligible[:, 1] = sure & (trend > c.trend_high)
                eligible[:, 2] = sure & (trend < c.trend_low)
            else:
                eligible[:, 1:] = known[:, None]
        scores = np.column_stack([np.zeros(n), values])
        masked = np.where(eligible, scores, -np.inf)
        masked[:, 0] = c.min_value  # an entry must beat min_value to be greedy
        greedy = np.argmax(masked, axis=1)
        k = eligible.sum(axis=1)
        eps = c.epsilon
        probs = eligible * (eps / k)[:, None]
        probs[np.arange(n), greedy] += 1.0 - eps
        u = splitmix_uniform(c.seed, keys)
        explore = u < eps
        pick = np.minimum((u / eps * k).astype(np.int64) if eps > 0 else 0, k - 1)
        # the pick-th eligible action, in action order
        rank = np.cumsum(eligible, axis=1) - 1
        explored = np.argmax(eligible & (rank == pick[:, None]), axis=1)
        action = np.where(explore, explored, greedy).astype(np.int8)
        return {"action": action, "scores": scores, "probs": probs, "known": known, "u": u}

    def _reason(self, a: int, known: bool, explored: bool, sc: np.ndarray) -> str:
        if not known:
            return "no HMM regime yet"
        how = "explore" if explored else "greedy"
        return f"{how} {('hold', 'call', 'put')[a]}: value call {sc[1]:+.2f} put {sc[2]:+.2f}"

    def _strategy(self, a: int) -> str:
        return (
            "NONE" if a == 0 else ("HMM_TREND" if self.config.profile == "hmm_strict" else "BANDIT")
        )

    def decide(self, observation: Observation) -> Decision:
        """The bandit's decision for one observation (pure: learned state is only read)."""
        r = self._rule(observation_values(observation, INPUTS), observation_key(observation))
        a = int(r["action"][0])
        explored = bool(r["u"][0] < self.config.epsilon)
        return Decision(
            Action(a),
            scores=tuple(r["scores"][0].tolist()),
            probs=tuple(r["probs"][0].tolist()),
            reasons=(self._reason(a, bool(r["known"][0]), explored, r["scores"][0]),),
            context={"strategy": self._strategy(a)},
        )

    def decide_batch(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The same rule over every row."""
        r = self._rule(frame_values(frame, INPUTS), bar_keys(frame))
        eps = self.config.epsilon
        reasons = [
            self._reason(int(a), bool(k), bool(u < eps), sc)
            for a, k, u, sc in zip(r["action"], r["known"], r["u"], r["scores"], strict=True)
        ]
        strategy = np.array([self._strategy(int(a)) for a in r["action"]], dtype=object)
        return decision_frame(
            frame.index,
            r["action"],
            r["scores"],
            r["probs"],
            reasons,
            context={"strategy": strategy},
        )

    # -- learning ------------------------------------------------------------------------
    def _row_x(self, row: Mapping[str, Any]) -> np.ndarray | None:
        v = {}
        for name in INPUTS:
            value = row.get(TRADE_INPUTS.get(name, name))
            v[name] = np.array([np.nan if value is None else float(value)])
        if any(np.isnan(v[h][0]) for h in HMM):
            return None
        return context_matrix(v, self.config.profile)[0]

    def observe_trade(self, row: Mapping[str, Any]) -> None:
        """Learn from a closed trade (its entry context and ``pnl / qty``)."""
        x = self._row_x(row)
        qty = float(row.get("qty") or 0)
        if (
            x is None
            or qty <= 0
            or row.get("right") not in ("C", "P")
            or (row.get("legs") or 1) > 1
        ):
            return
        self.arms_.update(0 if row["right"] == "C" else 1, x, float(row["pnl"]) / qty)

    def observe_ghosts(self, rows: pd.DataFrame, horizon: int) -> int:
        """Learn both arms from ghost rewards at ``horizon`` (rows hold the context columns
        of the decisions and ``ghost_call_{h}m`` / ``ghost_put_{h}m``); returns updates."""
        if not self.config.learn_from_ghosts:
            return 0
        done = 0
        for record in rows.to_dict("records"):
            row = {str(k): v for k, v in record.items()}
            x = self._row_x(row)
            if x is None:
                continue
            for arm, right in ((0, "call"), (1, "put")):
                g = row.get(f"ghost_{right}_{horizon}m")
                if g is not None and np.isfinite(g):
                    self.arms_.update(arm, x, float(g))
                    done += 1
        return done

    # -- persistence ---------------------------------------------------------------------
    def save_state(self, path: Path, provenance: Mapping[str, Any] | None = None) -> Path:
        """Write the learned state with the config that made it (atomic); ``provenance``
        (data hash, data source, code version, window) is stored beside it."""
        return write_learned_state(
            path,
            self.arms_,
            self.config.model_dump(mode="json"),
            provenance,
            controller=self.name,
        )

    def load_state(self, path: Path) -> None:
        """Restore state saved by :meth:`save_state` for the same profile."""
        try:
            payload = json.loads(Path(path).read_text(encoding="utf-8"))
            saved = payload["config"]["profile"]
            if saved != self.config.profile:
                raise ConfigError(
                    f"bandit state {path} was learned with profile {saved!r}, this bandit "
                    f"uses {self.config.profile!r}; set entry.bandit.profile or relearn"
                )
            self.arms_.restore(payload["state"])
        except (OSError, KeyError, ValueError) as exc:
            raise ConfigError(
                f"entry.bandit.state_path={path}: cannot restore bandit state ({exc}); "
                "relearn it or unset the path"
            ) from exc
