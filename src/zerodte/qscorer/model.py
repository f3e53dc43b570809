"""The Q-regression model: an ensemble of small MLPs predicting ``Q_call`` and ``Q_put``.

Training uses a vectorised PyTorch ensemble (:class:`zerodte.qscorer.train.EnsembleMLP`,
all members in one batched matmul); this module stays free of torch so that the
controller imports fast. Inference uses :class:`QScorerModel`, a NumPy float64 copy of the
weights whose forward pass is written so that a row's result does not depend on how many
other rows are evaluated with it (see :func:`_forward_block`): ``decide`` and ``decide_batch``
therefore agree bit for bit.

Prediction for a state ``x`` (features normalised with the training mean and std)::

    q_m(x)   = scale * f_m((x - mu) / sd) + offset        m = 1..M ensemble members
    mean(x)  = (1/M) sum_m q_m(x)
    std(x)   = sqrt((1/M) sum_m (q_m(x) - mean(x))^2)
    lcb(x)   = mean(x) - z * std(x)                          (conservative estimate)
    conf(x)  = Phi(mean(x) / max(std(x), eps))               (P[Q > 0] under N(mean, std^2))

``offset`` is the per-head calibration ``best_offset`` fitted on the validation window.
The ensemble's spread is an epistemic-uncertainty proxy (Lakshminarayanan et al. 2017,
"Simple and Scalable Predictive Uncertainty Estimation using Deep Ensembles").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
from scipy.special import ndtr

HEADS: tuple[str, str] = ("call", "put")
_CHUNK = 64
_EPS = 1e-9


def _forward_block(z: np.ndarray, layers: tuple[tuple[np.ndarray, np.ndarray], ...]) -> np.ndarray:
    """Forward pass of every member on one block of exactly ``_CHUNK`` rows.

    BLAS picks different kernels (and so different rounding) for one row and for many, so
    every evaluation is done on zero-padded blocks of the same shape: a row's result then
    depends only on its own values, and a single decision equals the same row of a batch
    bit for bit.
    """
    h = z[None, :, :]
    last = len(layers) - 1
    for i, (w, b) in enumerate(layers):
        h = np.matmul(h, w) + b[:, None, :]
        if i < last:
            h = np.maximum(h, 0.0)
    return h


@dataclass(frozen=True)
class QPrediction:
    """Per-row ensemble statistics, each of shape ``(n, 2)`` (columns: call, put)."""

    mean: np.ndarray
    std: np.ndarray
    lcb: np.ndarray
    confidence: np.ndarray


def ensemble_stats(outs: np.ndarray, lcb_z: float) -> QPrediction:
    """Mean, std, ``lcb = mean - z std`` and ``Phi(mean / std)`` over members (axis 0)."""
    mean = outs.mean(axis=0)
    std = outs.std(axis=0)
    return QPrediction(mean, std, mean - lcb_z * std, ndtr(mean / np.maximum(std, _EPS)))


class QModel(Protocol):
    """What the controller, the evaluation and the artifacts need of a Q-model.

    Implemented by :class:`QScorerModel` (two-head ensemble MLP) and
    :class:`~zerodte.qscorer.structured.StructuredQModel` (``Q = s ± d``).
    """

    @property
    def feature_columns(self) -> tuple[str, ...]:
        """State features in order."""
        ...

    @property
    def schema_hash(self) -> str:
        """Hash of the feature set the model was trained on."""
        ...

    @property
    def offset(self) -> np.ndarray:
        """Per-head calibration (call, put), dollars."""
        ...

    @property
    def horizon(self) -> int:
        """Label horizon in minutes."""
        ...

    @property
    def lcb_z(self) -> float:
        """``z`` of the lower confidence bound."""
        ...

    @property
    def x_mean(self) -> np.ndarray:
        """Training-window mean of every state feature."""
        ...

    @property
    def x_std(self) -> np.ndarray:
        """Training-window standard deviation of every state feature."""
        ...

    @property
    def kind(self) -> str:
        """``"mlp"`` or ``"structured"``."""
        ...

    @property
    def members(self) -> int:
        """Ensemble size."""
        ...

    def member_outputs(self, x: np.ndarray) -> np.ndarray:
        """``(members, n, 2)`` dollar predictions."""
        ...

    def with_offset(self, offset: np.ndarray) -> QModel:
        """The same model with another per-head calibration."""
        ...

    def predict(self, x: np.ndarray) -> QPrediction:
        """Ensemble statistics of every row."""
        ...


@dataclass(frozen=True)
class QScorerModel:
    """An inference-ready Q-scorer (NumPy float64).

    Parameters
    ----------
    layers
        Per layer ``(W, b)`` with ``W`` of shape ``(members, in, out)``.
    feature_columns
        Input columns in order; ``schema_hash`` identifies the feature set they came from.
    x_mean, x_std
        Normalisation of the inputs (training-window statistics).
    target_scale
        Dollars per unit of network output.
    offset
        ``best_offset`` per head (call, put), in dollars.
    lcb_z
        ``z`` of the lower confidence bound ``mean - z * std``.
    horizon
        Label horizon in minutes.
    """

    layers: tuple[tuple[np.ndarray, np.ndarray], ...]
    feature_columns: tuple[str, ...]
    schema_hash: str
    x_mean: np.ndarray
    x_std: np.ndarray
    target_scale: float
    offset: np.ndarray
    lcb_z: float
    horizon: int
    kind: str = "mlp"

    @property
    def members(self) -> int:
        """Ensemble size."""
        return int(self.layers[0][0].shape[0])

    def member_outputs(self, x: np.ndarray) -> np.ndarray:
        """Raw dollar predictions of every member, ``(members, n, 2)`` (offset applied)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.feature_columns):
            raise ValueError(
                f"expected a (n, {len(self.feature_columns)}) feature array, got {x.shape}"
            )
        z = (x - self.x_mean) / self.x_std
        n = z.shape[0]
        padded = -(-n // _CHUNK) * _CHUNK
        zz = np.zeros((padded, z.shape[1]))
        zz[:n] = z
        out = np.empty((self.members, padded, 2))
        for start in range(0, padded, _CHUNK):
            out[:, start : start + _CHUNK] = _forward_block(zz[start : start + _CHUNK], self.layers)
        return out[:, :n] * self.target_scale + self.offset

    def with_offset(self, offset: np.ndarray) -> QScorerModel:
        """The same model with another per-head calibration."""
        return replace(self, offset=np.asarray(offset, np.float64))

    def predict(self, x: np.ndarray) -> QPrediction:
        """Ensemble mean, std, lower confidence bound and confidence of every row."""
        return ensemble_stats(self.member_outputs(x), self.lcb_z)
