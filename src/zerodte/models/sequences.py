"""Shared pieces of the sequence models: standardisation, window gathering, training loop."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import numpy as np
import torch

logger = logging.getLogger(__name__)


class Standardizer:
    """Column means and deviations of finite training values (``z = (x - mu) / sd``)."""

    def fit(self, x: np.ndarray) -> Standardizer:
        """Fit on ``x`` ignoring NaN; returns self."""
        self.mean_ = np.nanmean(x, axis=0)
        sd = np.nanstd(x, axis=0)
        self.scale_ = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
        self.mean_ = np.where(np.isfinite(self.mean_), self.mean_, 0.0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Standardised float32 copy (NaN stays NaN)."""
        return ((x - self.mean_) / self.scale_).astype(np.float32)


def valid_windows(x: np.ndarray, length: int) -> np.ndarray:
    """Boolean per row: the ``length`` rows ending at it exist and are all finite."""
    bad = (~np.isfinite(x)).any(axis=1).astype(np.int64)
    csum = np.concatenate([[0], np.cumsum(bad)])
    rows = np.arange(len(x))
    start = rows - length + 1
    ok = start >= 0
    count = np.where(ok, csum[rows + 1] - csum[np.maximum(start, 0)], 1)
    return ok & (count == 0)


def gather(x: torch.Tensor, rows: torch.Tensor, length: int) -> torch.Tensor:
    """``(B, length, C)`` windows ending at ``rows`` (inclusive): only past and present."""
    offsets = torch.arange(-length + 1, 1)
    return x[rows[:, None] + offsets[None, :]]


def batches(n: int, batch_size: int, rng: np.random.Generator | None) -> Iterator[np.ndarray]:
    """Index batches (shuffled within the training window when ``rng`` is given)."""
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for i in range(0, n, batch_size):
        yield order[i : i + batch_size]


def train_loop(
    model: torch.nn.Module,
    step_loss: Callable[[np.ndarray], dict[str, torch.Tensor]],
    n: int,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
) -> list[dict[str, float]]:
    """Adam over shuffled batches; returns per-epoch mean of every loss term.

    Shuffling happens only *within* the training window the caller passes (walk-forward
    splitting is done before this), so the order of batches never leaks the test period.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=learning_rate)
    history: list[dict[str, float]] = []
    for epoch in range(epochs):
        model.train()
        sums: dict[str, float] = {}
        count = 0
        for idx in batches(n, batch_size, rng):
            losses = step_loss(idx)
            opt.zero_grad()
            losses["total"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach()) * len(idx)
            count += len(idx)
        history.append({k: v / max(count, 1) for k, v in sums.items()})
        logger.debug("epoch %d: %s", epoch, history[-1])
    return history
