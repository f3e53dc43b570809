"""The structured Q-model: a symmetric cost part and a directional part, ``Q = s ± d``.

A call and a put bought at the same moment share everything but the sign of their delta:
the spread, the fees, the theta of the horizon and the gamma of a large move cost or pay
both alike, while the move itself pays one and costs the other. Writing::

    Q_call(x) = s(x) + d(x)            s = (Q_call + Q_put) / 2    symmetric part
    Q_put(x)  = s(x) - d(x)            d = (Q_call - Q_put) / 2    directional part

turns the two noisy heads into two separate, simpler regressions: ``s`` on the cost and
volatility state (VIX, realised volatility, time of day, relative volume) and ``d`` on the
recent move and its context. The labels' noise splits the same way (the common part of a
call's and a put's outcome falls in ``s``, the directional part in ``d``), so each target
is learnt without the other's noise. With both labels known, the squared error of
``(Q_call, Q_put)`` is exactly twice the squared errors of ``s`` and ``d``: nothing is lost.

* ``d`` is linear in **direction terms**, products of two state features such as
  ``ret_30m*relvol_15m`` (the move times what tells a continuing move from one that
  reverts) or single features, standardised and fitted by ridge regression: an intraday
  directional edge is a context-dependent continuation or reversal of the recent move,
  and a linear model of it has little variance to spend on noise.
* ``s`` is a gradient-boosted tree ensemble (XGBoost, shallow trees, large leaves) on the
  **cost columns**: friction and the option's time value are non-linear in the clock and
  the volatility level.

Each of the ``M`` ensemble members is fitted on its own session-bootstrap resample (see
:mod:`zerodte.qscorer.train_structured`); the members give the same ``mean``, ``std``,
``lcb`` and ``confidence`` as :class:`~zerodte.qscorer.model.QScorerModel`::

    q_m = (s_m + d_m, s_m - d_m) + offset,   mean/std over m,   lcb = mean - z std

A row's result depends only on its own values (fixed-size blocks for the linear part,
per-row trees), so ``decide`` equals the same row of ``decide_batch`` bit for bit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from zerodte.config.settings import DEFAULT_COST_COLUMNS, DEFAULT_DIRECTION_TERMS
from zerodte.errors import ModelError
from zerodte.qscorer.checks import load_boosters, structured_problems
from zerodte.qscorer.model import QPrediction, ensemble_stats

_CHUNK = 64

__all__ = [
    "DEFAULT_COST_COLUMNS",
    "DEFAULT_DIRECTION_TERMS",
    "StructuredQModel",
    "design",
    "parse_terms",
]


def parse_terms(terms: Sequence[str], columns: Sequence[str]) -> tuple[tuple[int, int], ...]:
    """``"a*b"`` / ``"a"`` -> column index pairs (``-1`` for a single column).

    Raises
    ------
    ModelError
        A term names a column the feature list lacks (with the columns it has).
    """
    index = {c: i for i, c in enumerate(columns)}
    out: list[tuple[int, int]] = []
    for term in terms:
        parts = [p.strip() for p in str(term).split("*")]
        if len(parts) not in (1, 2) or any(p not in index for p in parts):
            raise ModelError(
                f"direction term {term!r} names a column outside the state features "
                f"{list(columns)}; write 'a' or 'a*b' with columns of qscorer.feature_set"
            )
        out.append((index[parts[0]], index[parts[1]] if len(parts) == 2 else -1))
    return tuple(out)


def design(x: np.ndarray, terms: Sequence[tuple[int, int]]) -> np.ndarray:
    """The direction design: one column per term (a product or a single feature)."""
    cols = [x[:, i] * x[:, j] if j >= 0 else x[:, i] for i, j in terms]
    return np.column_stack(cols) if cols else np.zeros((len(x), 0))


def _linear_blocks(z: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """``(members, n)`` of ``z @ coef_m + b_m`` on zero-padded blocks of ``_CHUNK`` rows.

    BLAS picks different kernels (and rounding) for one row and for many; evaluating
    every block at one shape makes a row's value independent of the batch it is in.
    """
    n = len(z)
    padded = -(-n // _CHUNK) * _CHUNK
    zz = np.zeros((padded, z.shape[1]))
    zz[:n] = z
    out = np.empty((coef.shape[0], padded))
    for start in range(0, padded, _CHUNK):
        out[:, start : start + _CHUNK] = (zz[start : start + _CHUNK] @ coef.T).T
    return out[:, :n] + intercept[:, None]


@dataclass(frozen=True)
class StructuredQModel:
    """An inference-ready structured Q-scorer (see the module docstring).

    Parameters
    ----------
    feature_columns
        State features in order; ``schema_hash`` identifies the feature set.
    cost_index
        Positions (in ``feature_columns``) of the inputs of ``s``.
    terms, term_names
        Direction terms as index pairs (``-1``: a single column) and as written.
    d_mean, d_std
        Standardisation of the direction design (training window).
    d_coef, d_intercept
        Ridge coefficients ``(members, terms)`` and intercepts ``(members,)`` of ``d``.
    boosters
        One serialised XGBoost model (JSON bytes) of ``s`` per member.
    offset
        Per-head calibration (call, put) in dollars.
    lcb_z, horizon
        ``z`` of the lower bound; label horizon in minutes.
    x_mean, x_std
        Moments of every state feature on the training window (what a live health check
        compares today's features with; the model itself does not use them).
    """

    feature_columns: tuple[str, ...]
    schema_hash: str
    cost_index: tuple[int, ...]
    terms: tuple[tuple[int, int], ...]
    term_names: tuple[str, ...]
    d_mean: np.ndarray
    d_std: np.ndarray
    d_coef: np.ndarray
    d_intercept: np.ndarray
    boosters: tuple[bytes, ...]
    offset: np.ndarray
    lcb_z: float
    horizon: int
    x_mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    x_std: np.ndarray = field(default_factory=lambda: np.zeros(0))
    kind: str = "structured"
    _booster_objs: list[Any] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        problems = structured_problems(self)
        if problems:
            raise ModelError("invalid structured Q-scorer model: " + "; ".join(problems))
        object.__setattr__(self, "_booster_objs", load_boosters(self.boosters))

    @property
    def members(self) -> int:
        """Ensemble size."""
        return int(self.d_coef.shape[0])

    def parts(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(s, d)`` of every member, each ``(members, n)`` (offset not applied)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.feature_columns):
            raise ValueError(
                f"expected a (n, {len(self.feature_columns)}) feature array, got {x.shape}"
            )
        z = (design(x, self.terms) - self.d_mean) / self.d_std
        d = _linear_blocks(z, self.d_coef, self.d_intercept)
        xs = np.ascontiguousarray(x[:, list(self.cost_index)], dtype=np.float32)
        if len(x):
            s = np.stack([b.inplace_predict(xs).astype(np.float64) for b in self._booster_objs])
        else:
            s = np.zeros((self.members, 0))
        return s, d

    def member_outputs(self, x: np.ndarray) -> np.ndarray:
        """Dollar predictions of every member, ``(members, n, 2)`` (offset applied)."""
        s, d = self.parts(x)
        return np.stack([s + d, s - d], axis=-1) + self.offset

    def with_offset(self, offset: np.ndarray) -> StructuredQModel:
        """The same model with another per-head calibration."""
        return replace(self, offset=np.asarray(offset, np.float64))

    def predict(self, x: np.ndarray) -> QPrediction:
        """Ensemble mean, std, lower confidence bound and confidence of every row."""
        return ensemble_stats(self.member_outputs(x), self.lcb_z)

    def describe(self) -> dict[str, Any]:
        """JSON-ready description for the metadata (terms, cost inputs, coefficients)."""
        return {
            "kind": self.kind,
            "cost_columns": [self.feature_columns[i] for i in self.cost_index],
            "direction_terms": list(self.term_names),
            "direction_coef_mean": {
                t: float(c) for t, c in zip(self.term_names, self.d_coef.mean(axis=0), strict=True)
            },
        }

    def to_payload(self) -> dict[str, Any]:
        """Arrays and bytes for the ``.pt`` archive."""
        return {
            "kind": self.kind,
            "feature_columns": list(self.feature_columns),
            "schema_hash": self.schema_hash,
            "cost_index": list(self.cost_index),
            "terms": json.dumps([list(t) for t in self.terms]),
            "term_names": list(self.term_names),
            "d_mean": np.asarray(self.d_mean, np.float64),
            "d_std": np.asarray(self.d_std, np.float64),
            "d_coef": np.asarray(self.d_coef, np.float64),
            "d_intercept": np.asarray(self.d_intercept, np.float64),
            "boosters": [np.frombuffer(b, dtype=np.uint8).copy() for b in self.boosters],
            "offset": np.asarray(self.offset, np.float64),
            "lcb_z": float(self.lcb_z),
            "horizon": int(self.horizon),
            "x_mean": np.asarray(self.x_mean, np.float64),
            "x_std": np.asarray(self.x_std, np.float64),
        }

    @classmethod
    def from_payload(cls, p: dict[str, Any]) -> StructuredQModel:
        """Inverse of :meth:`to_payload` (arrays may arrive as tensors' numpy views)."""
        return cls(
            feature_columns=tuple(p["feature_columns"]),
            schema_hash=str(p["schema_hash"]),
            cost_index=tuple(int(i) for i in p["cost_index"]),
            terms=tuple((int(a), int(b)) for a, b in json.loads(p["terms"])),
            term_names=tuple(p["term_names"]),
            d_mean=np.asarray(p["d_mean"], np.float64),
            d_std=np.asarray(p["d_std"], np.float64),
            d_coef=np.asarray(p["d_coef"], np.float64),
            d_intercept=np.asarray(p["d_intercept"], np.float64),
            boosters=tuple(np.asarray(b, np.uint8).tobytes() for b in p["boosters"]),
            offset=np.asarray(p["offset"], np.float64),
            lcb_z=float(p["lcb_z"]),
            horizon=int(p["horizon"]),
            x_mean=np.asarray(p.get("x_mean", np.zeros(0)), np.float64),
            x_std=np.asarray(p.get("x_std", np.zeros(0)), np.float64),
        )
