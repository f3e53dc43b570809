"""A seeded random entry controller: the null hypothesis every strategy must beat.

Each bar draws ``u`` uniform in [0, 1) from a counter-based hash of ``(seed, bar
timestamp)`` (SplitMix64, Steele et al. 2014), not from a sequential generator: the draw
for a bar depends only on the seed and that bar's time, so ``decide`` and ``decide_batch``
agree, and deleting later bars never changes an earlier draw (no look-ahead, by design).

Action: HOLD when ``u < p_hold``, BUY_CALLS when ``u < p_hold + p_call``, else BUY_PUTS,
with ``p_hold = 1 - p_call - p_put``; the recorded propensities are exactly
``(p_hold, p_call, p_put)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from zerodte.policy.base import decision_frame
from zerodte.types import Action, Decision, Observation

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def splitmix_uniform(seed: int, keys: np.ndarray) -> np.ndarray:
    """Uniform draws in [0, 1) from ``(seed, key)`` pairs by the SplitMix64 finaliser.

    ``keys`` are int64 (nanosecond timestamps); the result has the same shape. Uses the top
    53 bits so every value is an exact float64.
    """
    with np.errstate(over="ignore"):
        z = keys.astype(np.int64).view(np.uint64) + np.uint64(seed % 2**64) * _GOLDEN + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(2**53)


class RandomController:
    """Enter at random with fixed probabilities (seeded, reproducible, look-ahead free)."""

    name = "random"
    feature_inputs: tuple[str, ...] = ()

    def __init__(self, p_call: float, p_put: float, seed: int) -> None:
        if p_call < 0 or p_put < 0 or p_call + p_put > 1:
            raise ValueError(
                f"need p_call, p_put >= 0 and p_call + p_put <= 1, got {p_call}, {p_put}"
            )
        self.p_call = float(p_call)
        self.p_put = float(p_put)
        self.seed = int(seed)
        self.p_hold = 1.0 - self.p_call - self.p_put
        self._probs = (self.p_hold, self.p_call, self.p_put)
        self._reason = (
            f"random draw (p_call={self.p_call:g}, p_put={self.p_put:g}, seed={self.seed})"
        )

    def _actions(self, keys: np.ndarray) -> np.ndarray:
        u = splitmix_uniform(self.seed, keys)
        out = np.full(u.shape, int(Action.BUY_PUTS), dtype=np.int8)
        out[u < self.p_hold + self.p_call] = int(Action.BUY_CALLS)
        out[u < self.p_hold] = int(Action.HOLD)
        return out

    def decide(self, observation: Observation) -> Decision:
        """Draw the action for the observation's bar."""
        key = np.array([pd.Timestamp(observation.time).value], dtype=np.int64)
        action = Action(int(self._actions(key)[0]))
        return Decision(action=action, probs=self._probs, reasons=(self._reason,))

    def decide_batch(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Draw the action of every row (index: bar timestamps)."""
        keys = pd.DatetimeIndex(frame.index).as_unit("ns").asi8
        n = len(frame)
        return decision_frame(
            frame.index,
            self._actions(keys),
            None,
            np.tile(self._probs, (n, 1)),
            np.full(n, self._reason, dtype=object),
        )
