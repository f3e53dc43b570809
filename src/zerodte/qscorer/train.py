"""Training of the Q-scorer: walk-forward split, weighted MSE, ensemble, calibration.

Procedure (``zerodte q train``):

1. **Walk-forward windows** (never random): rows sorted by time are cut into
   ``train | early_stopping | calibration | validation`` (fractions
   ``qscorer.early_stopping_fraction``, ``calibration_fraction``, ``validation_fraction``;
   the first two may be 0). A row of a window followed by another, starting at ``v``, is
   kept only if ``t < v - embargo`` AND its label is complete before ``v``, with
   ``embargo = max(H, qscorer.embargo_minutes)``. Each window serves one purpose, so the
   reported validation figures are out of sample.
2. **Loss**: masked, bagged MSE over both heads::

       L = sum_i sum_k b_mi * 1[y_ik known] * (f_mk(x_i) - y_ik / s)^2 / sum(b 1)

   with ``s`` the pooled target standard deviation of the training window and ``b_mi``
   Poisson(1) bootstrap weights that differ per ensemble member and are drawn per
   *session* (``qscorer.bagging = "session"``): rows of one session share one weight. The
   minimiser of an unweighted MSE is ``E[y | x]``; a weight that depends on ``y`` (the
   former ``positive_weight``) would make it ``E[w y | x] / E[w | x]``, a value biased
   upwards by the label's dispersion.
3. **Ensemble** of ``ensemble_size`` MLPs (different seeds and bootstrap weights); with an
   early-stopping window the epoch with its lowest loss is kept, else the last epoch.
4. **Calibration** (with a calibration window):
   ``best_offset_k = mean_i (y_ik - mean_m q_mk(x_i))`` over that window.
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
from zerodte.errors import ConfigError, DataError
from zerodte.qscorer.dataset import TARGETS, QDataset
from zerodte.qscorer.model import HEADS, QModel, QScorerModel

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


WINDOWS: tuple[str, ...] = ("train", "early_stopping", "calibration", "validation")
"""The walk-forward windows in time order; ``validation`` is the reporting window."""


@dataclass(frozen=True)
class Split:
    """Positions (into the time-sorted labelled rows) of the four walk-forward windows.

    ``train`` fits the network, ``early_stopping`` picks the epoch, ``calibration`` fits the
    per-head offset and ``validation`` is used only to report; each window is used for one
    purpose. ``early_stopping`` and ``calibration`` may be empty (then the last epoch is
    kept, and the offset is zero).
    """

    train: np.ndarray
    validation: np.ndarray
    train_start: pd.Timestamp
    train_end: pd.Timestamp
    validation_start: pd.Timestamp
    validation_end: pd.Timestamp
    embargo_minutes: int
    early_stopping: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    calibration: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    bounds: dict[str, tuple[pd.Timestamp, pd.Timestamp] | None] = field(default_factory=dict)

    def rows(self, window: str) -> np.ndarray:
        """Positions of ``window`` (one of :data:`WINDOWS`)."""
        return np.asarray(getattr(self, window))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description of the windows (each window's use is named)."""
        out: dict[str, Any] = {
            "train_start": self.train_start.isoformat(),
            "train_end": self.train_end.isoformat(),
            "validation_start": self.validation_start.isoformat(),
            "validation_end": self.validation_end.isoformat(),
            "embargo_minutes": self.embargo_minutes,
            "train_rows": len(self.train),
            "validation_rows": len(self.validation),
            "uses": {
                "train": "fit the network",
                "early_stopping": "choose the epoch",
                "calibration": "fit the per-head offset",
                "validation": "report only (metrics, reliability, anti-selection, OPE)",
            },
        }
        for name in ("early_stopping", "calibration"):
            b = self.bounds.get(name)
            out[f"{name}_rows"] = len(self.rows(name))
            out[f"{name}_start"] = None if b is None else b[0].isoformat()
            out[f"{name}_end"] = None if b is None else b[1].isoformat()
        return out


def walk_forward_split(
    times: pd.Series,
    label_end: pd.Series,
    validation_fraction: float,
    embargo_minutes: int,
    *,
    early_stopping_fraction: float = 0.0,
    calibration_fraction: float = 0.0,
) -> Split:
    """Cut time-sorted rows into train | early stopping | calibration | validation.

    The windows follow each other in time; the last ``validation_fraction`` of the rows
    form the validation (reporting) window, the ``calibration_fraction`` before it the
    calibration window, and the ``early_stopping_fraction`` before that the early-stopping
    window (a fraction of 0 leaves that window empty). A timestamp is never split. Every
    row of a window that is followed by another must have ``t < next_start - embargo`` and
    its label complete before ``next_start`` (purged otherwise), so no window learns from a
    label that overlaps a later one.

    Raises
    ------
    DataError
        Too few rows for the windows after the embargo.
    """
    t = pd.DatetimeIndex(pd.to_datetime(times))
    if not t.is_monotonic_increasing:
        raise DataError("walk_forward_split needs rows sorted by time")
    n = len(t)
    fracs = {
        "early_stopping": float(early_stopping_fraction),
        "calibration": float(calibration_fraction),
        "validation": float(validation_fraction),
    }
    if any(f < 0 for f in fracs.values()) or sum(fracs.values()) >= 1.0:
        raise DataError(
            f"walk-forward fractions {fracs} must be >= 0 and leave rows to train on "
            "(qscorer.validation_fraction + early_stopping_fraction + calibration_fraction < 1)"
        )
    # window start positions, from the end backwards
    starts: dict[str, int] = {}
    acc = 0.0
    for name in ("validation", "calibration", "early_stopping"):
        acc += fracs[name]
        if fracs[name] > 0:
            starts[name] = int(np.floor(n * (1.0 - acc)))
    order = [w for w in WINDOWS[1:] if w in starts]
    cuts = [starts[w] for w in order]
    if not cuts or cuts[0] < 1 or cuts[-1] >= n or any(b <= a for a, b in itertools.pairwise(cuts)):
        raise DataError(f"{n} labelled rows are too few to split into windows {fracs}")
    ends = pd.DatetimeIndex(pd.to_datetime(label_end))
    embargo = pd.Timedelta(minutes=int(embargo_minutes))
    edges = [t[c] for c in cuts]  # start time of each later window
    names = ["train", *order]
    lows = [t[0] - pd.Timedelta(minutes=1), *edges]
    highs: list[pd.Timestamp | None] = [*edges, None]
    pos: dict[str, np.ndarray] = {w: np.zeros(0, dtype=np.int64) for w in WINDOWS}
    bounds: dict[str, tuple[pd.Timestamp, pd.Timestamp] | None] = {}
    for name, lo, hi in zip(names, lows, highs, strict=True):
        mask = t >= lo if name != "train" else np.ones(n, dtype=bool)
        if hi is not None:
            mask &= (t < hi - embargo) & (ends < hi)
        pos[name] = np.flatnonzero(mask)
        if len(pos[name]):
            bounds[name] = (t[pos[name]].min(), t[pos[name]].max())
    small = {w: len(pos[w]) for w in names if len(pos[w]) < 10}
    if small:
        raise DataError(
            f"walk-forward split left too few rows in {small} (embargo {embargo_minutes} min); "
            "use more data (--days/--cycles) or smaller qscorer.validation_fraction / "
            "early_stopping_fraction / calibration_fraction"
        )
    # The invariant the rest of the system relies on: disjoint in time with the embargo.
    for a, b in itertools.pairwise(names):
        assert t[pos[a]].max() + embargo < t[pos[b]].min(), f"windows {a} and {b} overlap"
        assert ends[pos[a]].max() < t[pos[b]].min(), f"a {a} label ends inside {b}"
    return Split(
        train=pos["train"],
        validation=pos["validation"],
        train_start=t[pos["train"]].min(),
        train_end=t[pos["train"]].max(),
        validation_start=t[pos["validation"]].min(),
        validation_end=t[pos["validation"]].max(),
        embargo_minutes=int(embargo_minutes),
        early_stopping=pos["early_stopping"],
        calibration=pos["calibration"],
        bounds=bounds,
    )


@dataclass
class TrainResult:
    """A trained model, its split and validation metrics.

    ``model`` is the model to deploy; ``report_model`` the one the validation figures
    describe, fitted without the validation window. They are the same object unless
    ``qscorer.refit`` refitted the deployed model on every labelled row.
    """

    model: QModel
    split: Split
    metrics: dict[str, Any]
    config: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)
    report_model: QModel | None = None

    @property
    def evaluation_model(self) -> QModel:
        """The model whose predictions on the validation window are out of sample."""
        return self.report_model if self.report_model is not None else self.model


def _masked_loss(
    pred: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, w: torch.Tensor
) -> torch.Tensor:
    """Bootstrap-weighted MSE; ``pred`` (M, B, 2), ``y``/``mask`` (B, 2), ``w`` (M, B, 1)."""
    err = (pred - y.unsqueeze(0)) ** 2
    ww = w * mask.unsqueeze(0)
    return (ww * err).sum() / ww.sum().clamp_min(1e-12)


def _corr(a: np.ndarray, b: np.ndarray) -> tuple[float | None, float | None]:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return None, None
    return float(pearsonr(a[ok], b[ok])[0]), float(spearmanr(a[ok], b[ok])[0])


def session_bootstrap_weights(
    sessions: np.ndarray, members: int, rng: np.random.Generator
) -> np.ndarray:
    """Poisson(1) bagging weights drawn per session, ``(members, rows)``.

    Labels of one session overlap in time and share its regime: a row-wise bootstrap
    treats them as independent draws and makes the members agree more than the data
    allows (a narrow ensemble spread, so an optimistic LCB and confidence). Every row of
    a session gets its session's weight. A member whose draw holds no session is drawn
    again (a bootstrap replicate has data).
    """
    codes, uniq = pd.factorize(pd.Series(sessions), sort=True)
    if len(uniq) == 0:
        raise DataError("no training rows to draw bagging weights for")
    per_session = rng.poisson(1.0, size=(members, len(uniq))).astype(np.float64)
    # A member that drew no session at all would train on nothing (xgboost refuses it, an
    # MLP's loss is 0/0): such a member draws again, so each one is a bootstrap of the data.
    empty = per_session.sum(axis=1) == 0
    while empty.any():
        per_session[empty] = rng.poisson(1.0, size=(int(empty.sum()), len(uniq)))
        empty = per_session.sum(axis=1) == 0
    return per_session[:, np.asarray(codes)]


def train_q_scorer(ds: QDataset, q: QScorerSettings, horizon: int | None = None) -> TrainResult:
    """Train the Q-scorer ensemble on ``ds`` with the parameters of ``q``.

    The network fits E[reward | state] by unweighted (bagged) MSE; the windows and their
    uses are those of :func:`walk_forward_split`. Deterministic for a given dataset and
    ``q.seed`` (a fixed number of CPU threads is used for the duration of the call).
    """
    h = int(ds.horizon if horizon is None else horizon)
    if h < 1:
        raise ConfigError(f"the label horizon must be at least 1 minute, got {h}")
    rows = ds.labelled.sort_values("timestamp", kind="stable").reset_index(drop=True)
    embargo = max(h, int(q.embargo_minutes or 0))
    try:
        split = walk_forward_split(
            rows["timestamp"],
            rows["label_end"],
            q.validation_fraction,
            embargo,
            early_stopping_fraction=q.early_stopping_fraction,
            calibration_fraction=q.calibration_fraction,
        )
    except DataError as exc:  # the dataset's own counts say why its rows are few
        raise DataError(
            f"{exc}. The dataset: {'; '.join(line.strip() for line in ds.report.lines())}. "
            "Use more sessions (--days, or --cycles for the logged part)"
        ) from exc
    x = ds.features(rows)
    y = rows[list(TARGETS)].to_numpy(np.float64)
    es = split.early_stopping
    sessions = rows["session"].to_numpy()
    base, facts, history, best_epoch = _fit_any(q, ds, x, y, sessions, split, h)
    cal = split.calibration
    offset = np.zeros(2)
    if len(cal):
        raw_cal = base.predict(x[cal]).mean
        yc = y[cal]
        offset = np.array(
            [
                np.nanmean(yc[:, k] - raw_cal[:, k]) if np.isfinite(yc[:, k]).any() else 0.0
                for k in range(2)
            ]
        )
    model = base.with_offset(offset)
    xv, yv = x[split.validation], y[split.validation]
    metrics = _metrics(model, xv, yv, base.predict(xv).mean)
    metrics.update(facts)
    metrics.update(
        {
            "train_rows": len(split.train),
            "early_stopping_rows": len(es),
            "calibration_rows": len(cal),
            "validation_rows": len(split.validation),
            "best_epoch": best_epoch,
            "best_offset": {HEADS[k]: float(offset[k]) for k in range(2)},
            "metrics_window": "validation (used for nothing else)",
        }
    )
    config = q.model_dump(mode="json")
    if not q.refit:
        return TrainResult(model, split, metrics, config, history)
    # The deployed model learns from every labelled row, with the epochs / rounds the
    # early-stopping window chose and the calibration window's offset; the figures above
    # stay those of the model that never saw the validation window.
    everything = replace(
        split,
        train=np.arange(len(rows)),
        early_stopping=np.zeros(0, dtype=np.int64),
        calibration=np.zeros(0, dtype=np.int64),
    )
    q_all = _fixed_length(q, facts, best_epoch)
    full, full_facts, _, _ = _fit_any(q_all, ds, x, y, sessions, everything, h)
    metrics["refit"] = {
        "rows": len(rows),
        "epochs": q_all.epochs if q.model == "mlp" else None,
        "cost_trees": q_all.cost_trees if q.model == "structured" else None,
        "note": "deployed model refitted on every labelled row; validation figures are of "
        "the model fitted without the validation window",
        **{k: v for k, v in full_facts.items() if k.startswith("direction_coef")},
    }
    return TrainResult(
        full.with_offset(offset), split, metrics, config, history, report_model=model
    )


def _fixed_length(q: QScorerSettings, facts: dict[str, Any], best_epoch: int | None):  # type: ignore[no-untyped-def]
    """``q`` with the training length the early-stopping window chose (if it chose one)."""
    if q.model == "mlp" and best_epoch is not None and q.early_stopping_fraction > 0:
        return q.model_copy(update={"epochs": best_epoch + 1, "early_stopping_fraction": 0.0})
    rounds = facts.get("cost_rounds")
    if q.model == "structured" and rounds and q.early_stopping_fraction > 0:
        return q.model_copy(
            update={"cost_trees": int(np.median(rounds)), "early_stopping_fraction": 0.0}
        )
    return q


def _fit_any(  # noqa: PLR0917 (private step of train_q_scorer)
    q: QScorerSettings,
    ds: QDataset,
    x: np.ndarray,
    y: np.ndarray,
    sessions: np.ndarray,
    split: Split,
    h: int,
) -> tuple[QModel, dict[str, Any], list[dict[str, float]], int | None]:
    """Fit the model ``qscorer.model`` names on ``split``'s windows (offset zero)."""
    if q.model == "structured":
        from zerodte.qscorer.train_structured import fit_structured

        model, facts, history = fit_structured(
            q, ds.feature_columns, ds.schema_hash, x, y, sessions, split, h
        )
        return model, facts, history, None
    mlp, history, best_epoch = _fit_mlp(q, ds, x, y, sessions, split, h)
    return mlp, {"model": "mlp"}, history, best_epoch


def _fit_mlp(  # noqa: PLR0917 (private step of train_q_scorer)
    q: QScorerSettings,
    ds: QDataset,
    x: np.ndarray,
    y: np.ndarray,
    sessions: np.ndarray,
    split: Split,
    h: int,
) -> tuple[QScorerModel, list[dict[str, float]], int]:
    """The two-head ensemble MLP (``qscorer.model = "mlp"``), offset zero."""
    xt, yt = x[split.train], y[split.train]
    mu = xt.mean(axis=0)
    sd = xt.std(axis=0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    scale = float(np.nanstd(yt))
    if not np.isfinite(scale) or scale <= 0:
        scale = 1.0
    es = split.early_stopping
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        net, history, best_epoch = _fit(
            q,
            (xt - mu) / sd,
            yt / scale,
            (x[es] - mu) / sd if len(es) else None,
            y[es] / scale if len(es) else None,
            sessions[split.train],
        )
    finally:
        torch.set_num_threads(threads)
    model = QScorerModel(
        layers=tuple(net.numpy_layers()),
        feature_columns=ds.feature_columns,
        schema_hash=ds.schema_hash,
        x_mean=mu,
        x_std=sd,
        target_scale=scale,
        offset=np.zeros(2),
        lcb_z=float(q.lcb_z),
        horizon=h,
    )
    return model, history, best_epoch


def _fit(  # noqa: PLR0917 (private step of train_q_scorer)
    q: QScorerSettings,
    xt: np.ndarray,
    yt: np.ndarray,
    xv: np.ndarray | None,
    yv: np.ndarray | None,
    sessions: np.ndarray,
) -> tuple[EnsembleMLP, list[dict[str, float]], int]:
    """Train the ensemble; with an early-stopping window keep its best epoch, else the last."""
    torch.manual_seed(q.seed)
    rng = np.random.default_rng(q.seed)
    members = q.ensemble_size
    net = EnsembleMLP(xt.shape[1], q.hidden, members)
    opt = torch.optim.Adam(net.parameters(), lr=q.learning_rate, weight_decay=q.weight_decay)
    x_t = torch.as_tensor(xt, dtype=torch.float32)
    y_t = torch.as_tensor(np.nan_to_num(yt, nan=0.0), dtype=torch.float32)  # masked below
    mask_t = torch.as_tensor(np.isfinite(yt), dtype=torch.float32)
    if q.bagging == "session":
        boot = session_bootstrap_weights(sessions, members, rng)
    else:
        boot = rng.poisson(1.0, size=(members, len(xt))).astype(np.float64)
    w_t = torch.as_tensor(boot[:, :, None], dtype=torch.float32)
    stop = False
    if xv is not None and yv is not None and len(xv) > 0:
        stop = True
        x_v = torch.as_tensor(xv, dtype=torch.float32)
        y_v = torch.as_tensor(np.nan_to_num(yv, nan=0.0), dtype=torch.float32)
        m_v = torch.as_tensor(np.isfinite(yv), dtype=torch.float32)
        w_v = torch.ones((members, len(xv), 1))
    best = (float("inf"), q.epochs - 1, [p.detach().clone() for p in net.parameters()])
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
        record = {"epoch": float(epoch), "train_loss": total / n}
        if stop:
            net.eval()
            with torch.no_grad():
                val = float(_masked_loss(net(x_v), y_v, m_v, w_v))
            record["early_stopping_loss"] = val
            if val < best[0]:
                best = (val, epoch, [p.detach().clone() for p in net.parameters()])
        history.append(record)
    if stop:
        with torch.no_grad():
            for p, saved in zip(net.parameters(), best[2], strict=True):
                p.copy_(saved)
    logger.info(
        "trained %d epochs in %.1f s; kept epoch %d",
        q.epochs,
        time.perf_counter() - t0,
        best[1],
    )
    return net, history, best[1]


def _metrics(model: QModel, xv: np.ndarray, yv: np.ndarray, raw: np.ndarray) -> dict[str, Any]:
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
