"""The RL threshold learner: a per-signal accept/reject filter in front of any controller.

Every entry signal (a non-HOLD decision of whatever controller) is described by 16
features, ``x = [1, f_1 .. f_16]``::

    hmm_trend, hmm_volatility, hmm_liquidity, hmm_confidence, p_up - p_down,
    predicted_return, momentum_5m, momentum_15m, rsi_14 / 100, macd_hist, bb_pos_20,
    (vix - 15) / 10, volume_spike, minute_of_session / 390, direction (+1 call, -1 put),
    the controller's confidence (0 when it has none)

(unknown values are 0 = no evidence; the regime and predictor values are centred). A
ridge regression (:class:`~.controllers.linear.LinearArms`) predicts the net dollar reward
per contract of accepting. The gate accepts while fewer than ``warmup_signals`` outcomes
have been learned, and then when the predicted value exceeds ``min_value``; a rejected
signal is still accepted with probability ``epsilon`` (``u = SplitMix64(seed, bar time) <
epsilon``), so rejected contexts keep producing realised outcomes. Every veto states the
predicted value and the acceptance probability.

Learning (state ends in ``_``): :meth:`observe_trade` learns realised outcomes of accepted
signals at the features remembered at the check; :meth:`observe_ghosts` learns the ghost
outcomes of the signals it rejected (MissedOpportunityRecords of the run, after it).
Prioritized replay (``replay``) fits this learner: it is off-policy regression.

Persistence: :meth:`~ThresholdLearnerGate.save_state` writes the regression's state with
the config that made it, the feature names and provenance (data, window, code);
``entry.threshold.state_path`` (``--threshold-model``) restores it, refusing a state of
other features. ``zerodte train threshold`` learns it from a logging run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zerodte.config.decision_settings import ThresholdSettings
from zerodte.errors import ConfigError
from zerodte.policy.controllers.inputs import observation_key, observation_values
from zerodte.policy.controllers.linear import LinearArms, write_learned_state
from zerodte.policy.controllers.random import splitmix_uniform
from zerodte.policy.memory import EntryMemory
from zerodte.types import SESSION_MINUTES, Action, Decision, Observation, Veto

INPUTS = (
    "hmm_trend",
    "hmm_volatility",
    "hmm_liquidity",
    "hmm_confidence",
    "direction_prob_up",
    "direction_prob_down",
    "predicted_return",
    "momentum_5m",
    "momentum_15m",
    "rsi_14",
    "macd_hist",
    "bb_pos_20",
    "vix",
    "volume_spike",
    "minute_of_session",
)
N_FEATURES = 16
FEATURE_NAMES = (*INPUTS, "direction", "confidence")
"""What a saved state records of its features (a state of other features is refused)."""


def signal_features(v: Mapping[str, float], direction: float, confidence: float) -> np.ndarray:
    """``[1, f_1 .. f_16]`` (see the module docstring)."""

    def g(name: str, centre: float = 0.0, scale: float = 1.0) -> float:
        x = v.get(name, math.nan)
        return 0.0 if x is None or math.isnan(x) else (float(x) - centre) / scale

    f = [
        1.0,
        g("hmm_trend", 0.5),
        g("hmm_volatility", 0.5),
        g("hmm_liquidity", 0.5),
        g("hmm_confidence"),
        g("direction_prob_up") - g("direction_prob_down"),
        g("predicted_return"),
        g("momentum_5m"),
        g("momentum_15m"),
        g("rsi_14", 50.0, 100.0),
        g("macd_hist"),
        g("bb_pos_20", 0.5),
        g("vix", 15.0, 10.0),
        g("volume_spike", 1.0),
        g("minute_of_session", 0.0, SESSION_MINUTES),
        direction,
        confidence,
    ]
    return np.asarray(f, np.float64)


@dataclass
class ThresholdLearnerGate:
    """Accept/reject filter over entry signals; see the module docstring."""

    config: ThresholdSettings
    name: str = "threshold_learner"
    model_: LinearArms = field(init=False)
    memory_: EntryMemory = field(init=False)
    rejected_: list[tuple[pd.Timestamp, np.ndarray, int]] = field(init=False)
    counts_: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        c = self.config
        self.model_ = LinearArms(
            1,
            N_FEATURES + 1,
            ridge=c.ridge,
            replay=c.replay,
            replay_size=c.replay_size,
            replay_batch=c.replay_batch,
            replay_alpha=c.replay_alpha,
            random_state=c.seed,
        )
        self.memory_ = EntryMemory()
        self.rejected_ = []
        self.counts_ = {"accepted": 0, "rejected": 0}

    @classmethod
    def from_settings(cls, config: ThresholdSettings) -> ThresholdLearnerGate:
        """A learner with ``entry.threshold``; restores ``state_path`` when set."""
        gate = cls(config)
        if config.state_path is not None:
            gate.load_state(config.state_path)
        return gate

    def save_state(self, path: Path, provenance: Mapping[str, Any] | None = None) -> Path:
        """Write the learned state with its config, feature names and ``provenance``
        (atomic)."""
        return write_learned_state(
            path,
            self.model_,
            self.config.model_dump(mode="json", exclude={"state_path"}),
            provenance,
            learner=self.name,
            features=list(FEATURE_NAMES),
            counts=dict(self.counts_),
        )

    def load_state(self, path: Path) -> None:
        """Restore what :meth:`save_state` wrote (learned on the same 16 features)."""
        try:
            payload = json.loads(Path(path).read_text(encoding="utf-8"))
            features = payload["features"]
            if features != list(FEATURE_NAMES):
                raise ConfigError(
                    f"threshold state {path} was learned on features {features}, this learner "
                    f"uses {list(FEATURE_NAMES)}; relearn it with "
                    "`zerodte train threshold`"
                )
            self.model_.restore(payload["state"])
            self.counts_ = {k: int(payload["counts"].get(k, 0)) for k in self.counts_}
        except (OSError, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"entry.threshold.state_path={path}: cannot restore the threshold learner "
                f"({exc}); relearn it with `zerodte train threshold` or unset the path"
            ) from exc

    def _x(self, observation: Observation, decision: Decision) -> np.ndarray:
        raw = observation_values(observation, INPUTS)
        v = {k: float(a[0]) for k, a in raw.items()}
        direction = 1.0 if decision.action == Action.BUY_CALLS else -1.0
        if decision.action == Action.BUY_STRADDLE:
            direction = 0.0
        conf = 0.0 if decision.confidence is None else float(decision.confidence)
        return signal_features(v, direction, conf)

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        """Accept (``None``) or reject the entry signal."""
        if decision.action == Action.HOLD:
            return None
        x = self._x(observation, decision)
        learned = int(self.model_.n_[0])
        value = float(self.model_.value(x[None])[0, 0])
        u = float(splitmix_uniform(self.config.seed, observation_key(observation))[0])
        if (
            learned < self.config.warmup_signals
            or value > self.config.min_value
            or u < self.config.epsilon
        ):
            self.memory_.remember(observation.time, x)
            self.counts_["accepted"] += 1
            return None
        self.counts_["rejected"] += 1
        self.rejected_.append((observation.time, x, int(decision.action)))
        return Veto(
            self.name,
            f"predicted ${value:+.2f}/contract <= {self.config.min_value:g} after {learned} "
            f"outcomes (accepted with probability {self.config.epsilon:g})",
        )

    def observe_trade(self, row: Mapping[str, Any]) -> None:
        """Learn the realised outcome of an accepted signal."""
        x = self.memory_.find(row.get("entry_time"))
        qty = float(row.get("qty") or 0)
        if x is None or qty <= 0:
            return
        self.model_.update(0, x, float(row["pnl"]) / qty)

    def observe_ghosts(self, missed: pd.DataFrame, horizon: int) -> int:
        """Learn the ghost outcomes of the rejected signals (``missed`` indexed by its
        ``timestamp``, with ``ghost_call_{h}m`` / ``ghost_put_{h}m``); returns updates."""
        if not self.config.learn_from_ghosts or missed.empty:
            return 0
        by_time = missed.set_index(pd.DatetimeIndex(missed["timestamp"]))
        done = 0
        for time, x, action in self.rejected_:
            if time not in by_time.index:
                continue
            row = by_time.loc[time]
            if isinstance(row, pd.DataFrame):
                row = row.iloc[0]
            if action == Action.BUY_STRADDLE:
                g = row.get(f"ghost_call_{horizon}m", np.nan) + row.get(
                    f"ghost_put_{horizon}m", np.nan
                )
            else:
                right = "call" if action == Action.BUY_CALLS else "put"
                g = row.get(f"ghost_{right}_{horizon}m", np.nan)
            if g is not None and np.isfinite(g):
                self.model_.update(0, x, float(g))
                done += 1
        self.rejected_ = []
        return done

    @property
    def acceptance(self) -> float | None:
        """Share of checked signals accepted so far (``None`` before any)."""
        total = self.counts_["accepted"] + self.counts_["rejected"]
        return self.counts_["accepted"] / total if total else None
