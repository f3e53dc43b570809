"""kNN retrieval: the outcomes of the ``k`` most similar past moments.

Features are standardised with training means and deviations (``z = (x - mu) / sd``); the
``k`` nearest training rows in Euclidean distance give::

    knn_mean_return = mean(fwd_ret of neighbours)        knn_std_return = their std
    direction_prob_c = (count_c + 1) / (k + 3)           (Laplace smoothing over 3 classes)

Training rows are subsampled to ``max_train_rows`` (evenly in time, deterministic) so a
query stays cheap. Rows with any missing feature get NaN outputs (never a filled value).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from zerodte.errors import ModelError

CLASSES = ("down", "neutral", "up")


@dataclass(frozen=True)
class RetrievalConfig:
    """Configuration of :class:`KNNRetrieval`."""

    k: int = 50
    max_train_rows: int = 20_000
    random_state: int = 0
    columns: tuple[str, ...] | None = None

    def build(self) -> KNNRetrieval:
        """A new unfitted :class:`KNNRetrieval`."""
        return KNNRetrieval(**asdict(self))


class KNNRetrieval:
    """Nearest-neighbour outcome statistics over standardised features."""

    def __init__(
        self,
        k: int = 50,
        max_train_rows: int = 20_000,
        random_state: int = 0,
        columns: Sequence[str] | None = None,
    ) -> None:
        self.k = k
        self.max_train_rows = max_train_rows
        self.random_state = random_state
        self.columns = tuple(columns) if columns is not None else None

    def _z(self, X: pd.DataFrame) -> np.ndarray:
        return (X.loc[:, list(self.columns_)].to_numpy(np.float64) - self.mean_) / self.scale_

    def fit(self, X: pd.DataFrame, y: pd.DataFrame) -> KNNRetrieval:
        """Index the training rows with known features and labels; returns self."""
        self.columns_ = self.columns if self.columns is not None else tuple(X.columns)
        x = X.loc[:, list(self.columns_)].to_numpy(np.float64)
        ret = y["fwd_ret"].to_numpy(np.float64)
        lab = y["direction"].to_numpy(np.float64)
        ok = ~(np.isnan(x).any(axis=1) | np.isnan(ret) | np.isnan(lab))
        idx = np.flatnonzero(ok)
        if len(idx) < self.k:
            raise ModelError(f"kNN needs at least k={self.k} complete rows, saw {len(idx)}")
        if len(idx) > self.max_train_rows:
            idx = idx[np.linspace(0, len(idx) - 1, self.max_train_rows).astype(np.int64)]
        self.mean_ = x[idx].mean(axis=0)
        sd = x[idx].std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        self.index_ = NearestNeighbors(n_neighbors=self.k).fit((x[idx] - self.mean_) / self.scale_)
        self.returns_ = ret[idx]
        self.labels_ = lab[idx].astype(np.int64)
        return self

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """Neighbour statistics per row (see the module docstring)."""
        z = self._z(X)
        ok = ~np.isnan(z).any(axis=1)
        n = len(X)
        out = {c: np.full(n, np.nan) for c in ("knn_mean_return", "knn_std_return", "knn_distance")}
        for c in CLASSES:
            out[f"direction_prob_{c}"] = np.full(n, np.nan)
        if ok.any():
            dist, nb = self.index_.kneighbors(z[ok])
            r = self.returns_[nb]
            out["knn_mean_return"][ok] = r.mean(axis=1)
            out["knn_std_return"][ok] = r.std(axis=1, ddof=1)
            out["knn_distance"][ok] = dist.mean(axis=1)
            lab = self.labels_[nb]
            for k, c in enumerate(CLASSES):
                out[f"direction_prob_{c}"][ok] = ((lab == k).sum(axis=1) + 1) / (self.k + 3)
        return pd.DataFrame(out, index=X.index)


def ensemble_direction(
    tree: pd.DataFrame, knn: pd.DataFrame, knn_weight: float = 0.3
) -> pd.DataFrame:
    """Weighted average of tree and kNN ``direction_prob_*`` (kNN NaN -> trees alone)."""
    out = tree.copy()
    for c in CLASSES:
        col = f"direction_prob_{c}"
        k = knn[col]
        out[col] = np.where(k.isna(), tree[col], (1 - knn_weight) * tree[col] + knn_weight * k)
    return out
