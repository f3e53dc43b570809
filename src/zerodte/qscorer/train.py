"""Training of the Q-scorer: walk-forward split, weighted MSE, ensemble, calibration.

Procedure (``zerodte q train``):

1. **Walk-forward split** (never random): rows sorted by time; the last
   ``validation_fraction`` of them (whole minutes) form the validation window starting at
   ``v0``. A row at ``t`` trains only if ``t < v0 - embargo`` AND its label is complete
   before ``v0`` (``label_end < v0``), with ``embargo = max(H, qscorer.embargo_minutes)``.
   :func:`walk_forward_split` asserts both windows are disjoint in time.
2. **Loss**: masked, weighted MSE over both heads::

       L = sum_i sum_k b_mi * w_ik * 1[y_ik known] * (f_mk(x_i) - y_ik / s)^2 / sum(b w 1)
       w_ik = positive_weight if y_ik > 0 else 1

   with ``s`` the pooled target standard deviation of the training window and ``b_mi``
   Poisson(1) bootstrap weights that differ per ensemble member (bagging).
3. **Ensemble** of ``ensemble_size`` MLPs (different seeds and bootstrap weights); the epoch
   with the lowest validation loss is kept.
4. **Calibration**: ``best_offset_k = mean_i (y_ik - mean_m q_mk(x_i))`` on the validation
   window (the constant shift minimising the squared error of the ensemble mean).
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.stats import pearsonr, spearmanr
from torch import nn

from zerodte.config.settings import QScorerSettings
from zerodte.errors import DataError
from zerodte.qscorer.dataset import TARGETS, QDataset
from zerodte.qscorer.model import HEADS, QScorerModel

logger = logging.getLogger(__name__)


class EnsembleMLP(nn.Module):
    """``members`` independent MLPs ``n_in -> hidden... -> 2`` evaluated in one batched pass.

    Weights of layer ``l`` have shape ``(members, in_l, out_l)``; ``forward`` maps a batch
    ``(B, n_in)`` to ``(members, B, 2)``. Initialisation follows PyTorch's ``nn.Linear``
    (Kaiming-uniform bound ``1/sqrt(in)``), drawn per member.
    """

    def __init__(self, n_in: int, hidden: Sequence[int], members: int, n_out: int = 2) -> None:
        super().__init__()
        sizes = [n_in, *hidden, n_out]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for a, b in itertools.pairwise(sizes):
            bound = 1.0 / math.sqrt(a)
            self.weights.append(nn.Parameter(torch.empty(members, a, b).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(members, 1, b).uniform_(-bound, bound)))
        self.members = members

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, n_in) -> (members, B, n_out)``."""
        h = x.unsqueeze(0).expand(self.members, -1, -1).contiguous()
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = torch.relu(h)
        return h

    def numpy_layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Weights and biases as float64 arrays ``(members, in, out)``, ``(members, out)``."""
        return [
            (
                w.detach().cpu().numpy().astype(np.float64),
                b.detach().cpu().numpy().astype(np.float64)[:, 0, :],
            )
            for w, b in zip(self.weights, self.biases, strict=True)
        ]


@dataclass(frozen=True)
class Split:
    """Positions (into the time-sorted labelled rows) of the training and validation rows."""

    train: np.ndarray
    validation: np.ndarray
    train_start: pd.Timestamp
    train_end: pd.Timestamp
    validation_start: pd.Timestamp
    validation_end: pd.Timestamp
    embargo_minutes: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description of the windows."""
        return {
            "train_start": self.train_start.isoformat(),
            "train_end": self.train_end.isoformat(),
            "validation_start": self.validation_start.isoformat(),
            "validation_end": self.validation_end.isoformat(),
            "embargo_minutes": self.embargo_minutes,
            "train_rows": len(self.train),
            "validation_rows": len(self.validation),
        }


def walk_forward_split(
    times: pd.Series,
    label_end: pd.Series,
    validation_fraction: float,
    embargo_minutes: int,
) -> Split:
    """Split time-sorted rows into an earlier training and a later validation window.

    Raises
    ------
    DataError
        Too few rows for both windows after the embargo.
    """
    t = pd.DatetimeIndex(pd.to_datetime(times))
    if not t.is_monotonic_increasing:
        raise DataError("walk_forward_split needs rows sorted by time")
    n = len(t)
    cut = int(np.floor(n * (1.0 - validation_fraction)))
    if cut < 1 or cut >= n:
        raise DataError(
            f"{n} labelled rows are too few to split (validation {validation_fraction})"
        )
    v0 = t[cut]
    # All rows at v0's timestamp go to validation (a timestamp is never split).
    val = np.flatnonzero(t >= v0)
    ends = pd.DatetimeIndex(pd.to_datetime(label_end))
    embargo = pd.Timedelta(minutes=int(embargo_minutes))
    train = np.flatnonzero((t < v0 - embargo) & (ends < v0))
    if len(train) < 10 or len(val) < 10:
        raise DataError(
            f"walk-forward split left {len(train)} training and {len(val)} validation rows "
            f"(embargo {embargo_minutes} min); use more data (--days/--cycles) or a smaller "
            "qscorer.validation_fraction"
        )
    # The invariant the rest of the system relies on: disjoint in time with the embargo.
    assert t[train].max() + embargo < t[val].min(), "walk-forward windows overlap"
    assert ends[train].max() < t[val].min(), "a training label ends inside validation"
    return Split(
        train=train,
        validation=val,
        train_start=t[train].min(),
        train_end=t[train].max(),
        validation_start=t[val].min(),
        validation_end=t[val].max(),
        embargo_minutes=int(embargo_minutes),
    )


@dataclass
class TrainResult:
    """A trained model, its split and validation metrics."""

    model: QScorerModel
    split: Split
    metrics: dict[str, Any]
    config: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)


def _masked_loss(
    pred: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, w: torch.Tensor
) -> torch.Tensor:
    """Weighted MSE; ``pred`` (M, B, 2), ``y``/``mask`` (B, 2), ``w`` (M, B, 2)."""
    err = (pred - y.unsqueeze(0)) ** 2
    ww = w * mask.unsqueeze(0)
    return (ww * err).sum() / ww.sum().clamp_min(1e-12)


def _corr(a: np.ndarray, b: np.ndarray) -> tuple[float | None, float | None]:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return None, None
    return float(pearsonr(a[ok], b[ok])[0]), float(spearmanr(a[ok], b[ok])[0])


def train_q_scorer(ds: QDataset, q: QScorerSettings, horizon: int | None = None) -> TrainResult:
    """Train the Q-scorer ensemble on ``ds`` with the parameters of ``q``.

    Deterministic for a given dataset and ``q.seed`` (a fixed number of CPU threads is used
    for the duration of the call).
    """
    h = int(horizon or ds.horizon)
    rows = ds.labelled.sort_values("timestamp", kind="stable").reset_index(drop=True)
    embargo = max(h, int(q.embargo_minutes or 0))
    split = walk_forward_split(rows["timestamp"], rows["label_end"], q.validation_fraction, embargo)
    x = ds.features(rows)
    y = rows[list(TARGETS)].to_numpy(np.float64)
    xt, yt = x[split.train], y[split.train]
    xv, yv = x[split.validation], y[split.validation]
    mu = xt.mean(axis=0)
    sd = xt.std(axis=0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    scale = float(np.nanstd(yt))
    if not np.isfinite(scale) or scale <= 0:
        scale = 1.0

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        net, history, best_epoch = _fit(q, (xt - mu) / sd, yt / scale, (xv - mu) / sd, yv / scale)
    finally:
        torch.set_num_threads(threads)
    layers = tuple(net.numpy_layers())
    base = QScorerModel(
        layers=layers,
        feature_columns=ds.feature_columns,
        schema_hash=ds.schema_hash,
        x_mean=mu,
        x_std=sd,
        target_scale=scale,
        offset=np.zeros(2),
        lcb_z=float(q.lcb_z),
        horizon=h,
    )
    raw = base.predict(xv).mean
    offset = np.array(
        [np.nanmean(yv[:, k] - raw[:, k]) if np.isfinite(yv[:, k]).any() else 0.0 for k in range(2)]
    )
    model = replace(base, offset=offset)
    metrics = _metrics(model, xv, yv, raw)
    metrics.update(
        {
            "train_rows": len(split.train),
            "validation_rows": len(split.validation),
            "best_epoch": best_epoch,
            "target_scale": scale,
            "best_offset": {HEADS[k]: float(offset[k]) for k in range(2)},
        }
    )
    config = q.model_dump(mode="json")
    return TrainResult(model, split, metrics, config, history)


def _fit(
    q: QScorerSettings, xt: np.ndarray, yt: np.ndarray, xv: np.ndarray, yv: np.ndarray
) -> tuple[EnsembleMLP, list[dict[str, float]], int]:
    torch.manual_seed(q.seed)
    rng = np.random.default_rng(q.seed)
    members = q.ensemble_size
    net = EnsembleMLP(xt.shape[1], q.hidden, members)
    opt = torch.optim.Adam(net.parameters(), lr=q.learning_rate, weight_decay=1e-4)
    x_t = torch.as_tensor(xt, dtype=torch.float32)
    y_np = np.nan_to_num(yt, nan=0.0)  # masked below; never reaches the loss
    y_t = torch.as_tensor(y_np, dtype=torch.float32)
    mask_t = torch.as_tensor(np.isfinite(yt), dtype=torch.float32)
    pos_w = np.where(y_np > 0, q.positive_weight, 1.0)
    boot = rng.poisson(1.0, size=(members, len(xt))).astype(np.float64)
    w_t = torch.as_tensor(boot[:, :, None] * pos_w[None], dtype=torch.float32)
    x_v = torch.as_tensor(xv, dtype=torch.float32)
    y_v = torch.as_tensor(np.nan_to_num(yv, nan=0.0), dtype=torch.float32)
    m_v = torch.as_tensor(np.isfinite(yv), dtype=torch.float32)
    w_v = torch.as_tensor(
        np.where(np.nan_to_num(yv) > 0, q.positive_weight, 1.0), dtype=torch.float32
    )
    w_v = w_v.unsqueeze(0).expand(members, -1, -1)
    best = (float("inf"), -1, [p.detach().clone() for p in net.parameters()])
    history: list[dict[str, float]] = []
    n = len(xt)
    t0 = time.perf_counter()
    for epoch in range(q.epochs):
        net.train()
        perm = torch.as_tensor(rng.permutation(n))
        total = 0.0
        for start in range(0, n, q.batch_size):
            idx = perm[start : start + q.batch_size]
            pred = net(x_t[idx])
            loss = _masked_loss(pred, y_t[idx], mask_t[idx], w_t[:, idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        net.eval()
        with torch.no_grad():
            val = float(_masked_loss(net(x_v), y_v, m_v, w_v))
        history.append({"epoch": epoch, "train_loss": total / n, "validation_loss": val})
        if val < best[0]:
            best = (val, epoch, [p.detach().clone() for p in net.parameters()])
    with torch.no_grad():
        for p, saved in zip(net.parameters(), best[2], strict=True):
            p.copy_(saved)
    logger.info(
        "trained %d epochs in %.1f s; best epoch %d", q.epochs, time.perf_counter() - t0, best[1]
    )
    return net, history, best[1]


def _metrics(
    model: QScorerModel, xv: np.ndarray, yv: np.ndarray, raw: np.ndarray
) -> dict[str, Any]:
    pred = model.predict(xv)
    out: dict[str, Any] = {}
    for k, head in enumerate(HEADS):
        y = yv[:, k]
        ok = np.isfinite(y)
        p = pred.mean[:, k]
        pear, spear = _corr(p, y)
        out[head] = {
            "validation_n": int(ok.sum()),
            "mse_raw": float(np.mean((raw[ok, k] - y[ok]) ** 2)) if ok.any() else None,
            "mse": float(np.mean((p[ok] - y[ok]) ** 2)) if ok.any() else None,
            "mean_target": float(y[ok].mean()) if ok.any() else None,
            "mean_prediction": float(p[ok].mean()) if ok.any() else None,
            "pearson": pear,
            "spearman": spear,
            "mean_std": float(pred.std[ok, k].mean()) if ok.any() else None,
        }
    return out
