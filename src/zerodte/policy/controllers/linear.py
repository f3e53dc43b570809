"""Per-action ridge regression of net reward on a context vector, with prioritized replay.

The bandit and the threshold learner share it. For each arm ``a``::

    A_a = ridge * I + sum_i x_i x_i^T          b_a = ridge * prior_a * e_0 + sum_i r_i x_i
    theta_a = A_a^{-1} b_a                     value_a(x) = theta_a . x

(``e_0`` is the bias coordinate, so an arm with no data is worth ``prior_a``). Rewards are
dollars per contract net of friction. Learned state (``A_``, ``b_``, ``theta_``, ``n_``)
ends in ``_`` and changes only in :meth:`update`; :meth:`value` is pure.

Prioritized replay (Schaul et al. 2016): every update also stores ``(arm, x, r)`` with
priority ``|r - value_before| ** alpha`` in a bounded buffer, and re-applies ``batch``
samples drawn with probability proportional to priority. Replayed samples count again
(more weight on surprising outcomes), which is the point of the method for a learner that
sees few, noisy rewards; it is off unless asked for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from zerodte.io import atomic_write_text


class LinearArms:
    """Ridge regression per arm; see the module docstring."""

    def __init__(
        self,
        n_arms: int,
        dim: int,
        *,
        ridge: float = 1.0,
        prior: np.ndarray | None = None,
        replay: bool = False,
        replay_size: int = 2000,
        replay_batch: int = 8,
        replay_alpha: float = 0.6,
        random_state: int = 0,
    ) -> None:
        self.n_arms = int(n_arms)
        self.dim = int(dim)
        self.ridge = float(ridge)
        self.prior = np.zeros(n_arms) if prior is None else np.asarray(prior, np.float64)
        self.replay = replay
        self.replay_size = int(replay_size)
        self.replay_batch = int(replay_batch)
        self.replay_alpha = float(replay_alpha)
        self.random_state = int(random_state)
        self.reset()

    def reset(self) -> None:
        """Forget everything learned."""
        eye = np.eye(self.dim) * self.ridge
        self.A_ = np.repeat(eye[None], self.n_arms, axis=0)
        self.b_ = np.zeros((self.n_arms, self.dim))
        self.b_[:, 0] = self.ridge * self.prior
        self.theta_ = np.zeros((self.n_arms, self.dim))
        self.theta_[:, 0] = self.prior
        self.n_ = np.zeros(self.n_arms, dtype=np.int64)
        self.buffer_: list[tuple[int, np.ndarray, float, float]] = []
        self.rng_ = np.random.default_rng(self.random_state)

    def value(self, x: np.ndarray) -> np.ndarray:
        """``(n, n_arms)`` predicted rewards of rows ``x`` (``(n, dim)``).

        Accumulated coordinate by coordinate (not a BLAS product, whose blocking depends on
        ``n``), so one row gives bit-identical values alone or inside a batch.
        """
        x = np.asarray(x, np.float64)
        out = np.zeros((len(x), self.n_arms))
        for k in range(self.dim):
            out += x[:, k : k + 1] * self.theta_[None, :, k]
        return out

    def _apply(self, arm: int, x: np.ndarray, r: float) -> None:
        self.A_[arm] += np.outer(x, x)
        self.b_[arm] += r * x
        self.theta_[arm] = np.linalg.solve(self.A_[arm], self.b_[arm])

    def update(self, arm: int, x: np.ndarray, reward: float) -> None:
        """Learn one outcome (and replay some stored ones when replay is on)."""
        x = np.asarray(x, np.float64)
        if not np.isfinite(reward) or not np.all(np.isfinite(x)):
            return
        surprise = abs(reward - float(self.theta_[arm] @ x))
        self._apply(arm, x, reward)
        self.n_[arm] += 1
        if not self.replay:
            return
        self.buffer_.append((arm, x, float(reward), surprise + 1e-6))
        if len(self.buffer_) > self.replay_size:
            self.buffer_.pop(0)
        pri = np.array([p for *_, p in self.buffer_]) ** self.replay_alpha
        picks = self.rng_.choice(len(self.buffer_), size=self.replay_batch, p=pri / pri.sum())
        for j in picks:
            a, xj, rj, _ = self.buffer_[int(j)]
            self._apply(a, xj, rj)

    def state(self) -> dict[str, Any]:
        """JSON-ready learned state."""
        return {
            "A": self.A_.tolist(),
            "b": self.b_.tolist(),
            "n": self.n_.tolist(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Load :meth:`state` output (the shapes must match this learner's)."""
        A = np.asarray(state["A"], np.float64)
        if A.shape != self.A_.shape:
            raise ValueError(f"saved state has shape {A.shape}, this learner {self.A_.shape}")
        self.A_ = A
        self.b_ = np.asarray(state["b"], np.float64)
        self.n_ = np.asarray(state["n"], np.int64)
        self.theta_ = np.stack([np.linalg.solve(A[k], self.b_[k]) for k in range(self.n_arms)])


def write_learned_state(
    path: Path,
    arms: LinearArms,
    config: Mapping[str, Any],
    provenance: Mapping[str, Any] | None,
    **header: Any,
) -> Path:
    """Write ``arms``' state with the ``config`` that made it, ``provenance`` (data hash,
    data source, code version, window) and ``header`` fields, atomically."""
    payload = {
        **header,
        "config": dict(config),
        "provenance": dict(provenance or {}),
        "state": arms.state(),
    }
    atomic_write_text(Path(path), json.dumps(payload))
    return Path(path)
