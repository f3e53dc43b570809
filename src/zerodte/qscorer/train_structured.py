"""Fitting the structured Q-model ``Q = s ± d`` (:mod:`zerodte.qscorer.structured`).

On the training window's rows with both labels::

    s_i = (y_call_i + y_put_i) / 2        d_i = (y_call_i - y_put_i) / 2

Member ``m`` of the ensemble gets Poisson(1) weights ``w_mi`` drawn per session (rows of
one session share a weight) and fits

* ``d``: weighted ridge regression on the standardised direction design ``Z``
  (intercept unpenalised)::

      beta_m = argmin sum_i w_mi (d_i - b - z_i beta)^2 + lambda sum_i w_mi |beta|^2
      lambda = qscorer.direction_ridge  (a penalty per unit of weight, so it does not
               depend on the dataset size)

  solved exactly (centred normal equations).
* ``s``: XGBoost regression trees on the cost columns with the same weights
  (``qscorer.cost_trees`` rounds of depth ``cost_depth``, learning rate
  ``cost_learning_rate``, at least ``cost_min_leaf`` rows of weight per leaf); with an
  early-stopping window the round with its lowest squared error is kept.

Rows with a single label (a realised trade: the other right was not bought) carry no
``s``/``d`` pair and are left out (counted in the metrics).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from zerodte.config.settings import QScorerSettings
from zerodte.errors import ModelError
from zerodte.qscorer.structured import StructuredQModel, design, parse_terms
from zerodte.qscorer.train import Split, session_bootstrap_weights

logger = logging.getLogger(__name__)


PREDICTOR_TERMS: tuple[str, ...] = (
    "predicted_return",
    "risk_adjusted_return",
    "direction_prob_up",
    "direction_prob_down",
)
"""Predictor outputs added to the direction terms with ``qscorer.predictor_outputs``."""
PREDICTOR_COST: tuple[str, ...] = ("return_std",)
"""Predictor outputs added to the cost columns with ``qscorer.predictor_outputs``."""


def state_parts(
    q: QScorerSettings, columns: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Cost columns and direction terms, with the predictor's columns when asked for.

    ``predictor_outputs`` adds :data:`PREDICTOR_TERMS` (linear, to ``d``) and
    :data:`PREDICTOR_COST` (to ``s``); ``predictor_embedding`` adds every ``emb_*`` column of
    the state as a linear term of ``d``.
    """
    cost = tuple(q.cost_columns)
    terms = tuple(q.direction_terms)
    if q.predictor_outputs:
        cost += PREDICTOR_COST
        terms += PREDICTOR_TERMS
    if q.predictor_embedding:
        terms += tuple(c for c in columns if c.startswith("emb_"))
    return cost, terms


def _ridge(z: np.ndarray, y: np.ndarray, w: np.ndarray, lam: float) -> tuple[np.ndarray, float]:
    """Weighted ridge with an unpenalised intercept: ``(beta, b)``."""
    sw = w.sum()
    if sw <= 0:
        return np.zeros(z.shape[1]), 0.0
    zm = (w[:, None] * z).sum(axis=0) / sw
    ym = float((w * y).sum() / sw)
    zc = z - zm
    a = zc.T @ (w[:, None] * zc) + lam * sw * np.eye(z.shape[1])
    beta = np.linalg.solve(a, zc.T @ (w * (y - ym)))
    return beta, ym - float(zm @ beta)


def fit_structured(  # noqa: PLR0917 (the pieces of one fit)
    q: QScorerSettings,
    columns: tuple[str, ...],
    schema_hash: str,
    x: np.ndarray,
    y: np.ndarray,
    sessions: np.ndarray,
    split: Split,
    horizon: int,
) -> tuple[StructuredQModel, dict[str, Any], list[dict[str, float]]]:
    """Fit every member on ``split.train`` (see the module docstring).

    Returns the model (offset zero), fit facts for the metrics, and the early-stopping
    history (empty without an early-stopping window).
    """
    import xgboost as xgb

    missing = [c for c in state_parts(q, columns)[0] if c not in columns]
    if missing:
        raise ModelError(
            f"cost columns {missing} are not in the state features {list(columns)}; choose "
            "columns of qscorer.feature_set (predictor columns need models.predictor_bundle)"
        )
    cost_names, term_names = state_parts(q, columns)
    cost_index = tuple(columns.index(c) for c in cost_names)
    terms = parse_terms(term_names, columns)
    tr = split.train
    both = np.isfinite(y[tr]).all(axis=1)
    rows = tr[both]
    if len(rows) < 100:
        raise ModelError(
            f"{len(rows)} training rows carry both a call and a put label; the structured "
            "Q-model needs more (use more --days/--cycles, or qscorer.model = 'mlp')"
        )
    s_t = y[rows].mean(axis=1)
    d_t = (y[rows, 0] - y[rows, 1]) / 2.0
    raw = design(x[rows], terms)
    d_mean = raw.mean(axis=0)
    d_std = raw.std(axis=0)
    d_std = np.where(d_std > 1e-12, d_std, 1.0)
    z = (raw - d_mean) / d_std
    xs = x[rows][:, list(cost_index)].astype(np.float32)
    rng = np.random.default_rng(q.seed)
    if q.bagging == "session":
        weights = session_bootstrap_weights(sessions[rows], q.ensemble_size, rng)
    else:
        weights = rng.poisson(1.0, size=(q.ensemble_size, len(rows))).astype(np.float64)
    es = split.early_stopping
    es_rows = es[np.isfinite(y[es]).all(axis=1)] if len(es) else es
    d_es = None
    if len(es_rows):
        d_es = xgb.DMatrix(
            x[es_rows][:, list(cost_index)].astype(np.float32), label=y[es_rows].mean(axis=1)
        )
    params = {
        "objective": "reg:squarederror",
        "max_depth": int(q.cost_depth),
        "eta": float(q.cost_learning_rate),
        "min_child_weight": float(q.cost_min_leaf),
        "tree_method": "hist",
        "nthread": 1,
        "verbosity": 0,
    }
    coefs, intercepts, boosters = [], [], []
    history: list[dict[str, float]] = []
    rounds: list[int] = []
    for m in range(q.ensemble_size):
        w = weights[m]
        beta, b = _ridge(z, d_t, w, float(q.direction_ridge))
        coefs.append(beta)
        intercepts.append(b)
        dtrain = xgb.DMatrix(xs, label=s_t, weight=w)
        evals_result: dict[str, Any] = {}
        booster = xgb.train(
            {**params, "seed": int(q.seed) + m},
            dtrain,
            num_boost_round=int(q.cost_trees),
            evals=[(d_es, "early_stopping")] if d_es is not None else [],
            early_stopping_rounds=max(10, q.cost_trees // 10) if d_es is not None else None,
            evals_result=evals_result,
            verbose_eval=False,
        )
        if d_es is not None:
            best = int(booster.best_iteration)
            booster = booster[: best + 1]
            rounds.append(best + 1)
            curve = evals_result["early_stopping"]["rmse"]
            history += [
                {"member": float(m), "round": float(k), "early_stopping_loss": float(v) ** 2}
                for k, v in enumerate(curve)
            ]
        else:
            rounds.append(int(q.cost_trees))
        boosters.append(bytes(booster.save_raw("json")))
    model = StructuredQModel(
        feature_columns=columns,
        schema_hash=schema_hash,
        cost_index=cost_index,
        terms=terms,
        term_names=term_names,
        d_mean=d_mean,
        d_std=d_std,
        d_coef=np.vstack(coefs),
        d_intercept=np.asarray(intercepts, np.float64),
        boosters=tuple(boosters),
        offset=np.zeros(2),
        lcb_z=float(q.lcb_z),
        horizon=int(horizon),
        x_mean=x[rows].mean(axis=0),
        x_std=np.where(x[rows].std(axis=0) > 1e-12, x[rows].std(axis=0), 1.0),
    )
    facts = {
        "model": "structured",
        "rows_with_both_labels": len(rows),
        "rows_with_one_label_left_out": int((~both).sum()),
        "cost_rounds": rounds,
        **model.describe(),
    }
    logger.info(
        "structured Q-model: %d members on %d rows, cost rounds %s",
        q.ensemble_size,
        len(rows),
        rounds,
    )
    return model, facts, history
