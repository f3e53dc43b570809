"""The 3x3x3 hidden-Markov regime model with filtered (forward-only) probabilities.

Three independent 3-state Gaussian HMMs (diagonal covariances), one per axis:

==========  ==============================================  =====================
axis        observation (2-d)                               states (ordered by)
==========  ==============================================  =====================
trend       ``1e4 * ret_15m``, ``1e4 * ret_60m`` (bps)      down / flat / up
volatility  ``log rv_30m``, ``log vix_level``               low / normal / high
liquidity   ``volume_30m_log``, ``log volume_spike``        low / normal / high
==========  ==============================================  =====================

Parameters are fitted with ``hmmlearn`` (Baum–Welch; Rabiner 1989, "A tutorial on hidden
Markov models", Proc. IEEE 77). States are then relabelled so that state means of the first
observation dimension increase: 0 = down/low, 2 = up/high, deterministically.

Only *filtered* probabilities ``P(s_t | x_1..x_t)`` are ever emitted, by our own forward
recursion in log space (``hmmlearn.predict_proba`` is the smoothed posterior, which uses
future observations)::

    log a_t(j) = log b_j(x_t) + logsumexp_i( log a_{t-1}(i) + log A_ij ),  then normalised

A row whose observation is missing (NaN, e.g. in feature warm-up) is a prediction-only step
(``b = 1``), the textbook treatment of a missing observation. The recursion starts from the
stationary distribution of ``A``.

Outputs per row: ``hmm_{axis} = (P(2) - P(0) + 1) / 2 = E[state] / 2`` in [0, 1] (0.5 is
neutral), the nine state probabilities ``hmm_{axis}_p{k}``, and ``hmm_confidence``, the mean
over the axes of the largest state probability (in [1/3, 1]).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zerodte.config.settings import ModelsSettings
from zerodte.errors import DataError, ModelError
from zerodte.io import atomic_write_json

logger = logging.getLogger(__name__)

AXES: tuple[str, ...] = ("trend", "volatility", "liquidity")
INPUTS: dict[str, tuple[str, str]] = {
    "trend": ("ret_15m", "ret_60m"),
    "volatility": ("rv_30m", "vix_level"),
    "liquidity": ("volume_30m_log", "volume_spike"),
}
INPUT_COLUMNS: tuple[str, ...] = tuple(c for axis in AXES for c in INPUTS[axis])
OUTPUT_COLUMNS: tuple[str, ...] = (
    *(f"hmm_{a}" for a in AXES),
    "hmm_confidence",
    *(f"hmm_{a}_p{k}" for a in AXES for k in range(3)),
)
FORMAT = "zerodte.regime.hmm/1"
_TRANSFORM_VERSION = 1
_MIN_PROB = 1e-12  # floor on transitions: no state becomes unreachable forever


def schema_hash() -> str:
    """SHA-256 of the regime model's input columns and transform version."""
    text = json.dumps({"inputs": INPUTS, "transform": _TRANSFORM_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class RegimeConfig:
    """How the regime HMMs are fitted (``train_days``/``refit_days`` drive walk-forward)."""

    train_days: int = 60
    refit_days: int = 20
    n_iter: int = 50
    tol: float = 1e-3
    random_state: int = 0
    min_train_rows: int = 300

    @classmethod
    def from_settings(cls, models: ModelsSettings) -> RegimeConfig:
        """Build from ``settings.models`` (``hmm_train_days``, ``hmm_refit_days``, ``seed``)."""
        return cls(
            train_days=models.hmm_train_days,
            refit_days=models.hmm_refit_days,
            random_state=models.seed,
        )


def observations(features: pd.DataFrame | Mapping[str, float]) -> np.ndarray:
    """The ``(T, 3 axes, 2)`` observation array of a feature frame (or ``(3, 2)`` for a row)."""
    if isinstance(features, pd.DataFrame):
        missing = [c for c in INPUT_COLUMNS if c not in features.columns]
        if missing:
            raise DataError(
                f"regime model needs feature columns {missing}; compute the 'default' "
                "feature set (zerodte.features.compute_features)"
            )
        raw = features.loc[:, list(INPUT_COLUMNS)].to_numpy(dtype=np.float64)
    else:
        try:
            raw = np.array([[float(features[c]) for c in INPUT_COLUMNS]])
        except KeyError as exc:
            raise DataError(f"regime row lacks feature {exc}; needs {INPUT_COLUMNS}") from None
    with np.errstate(divide="ignore", invalid="ignore"):
        obs = np.stack(
            [
                1e4 * raw[:, 0],
                1e4 * raw[:, 1],
                np.log(raw[:, 2]),
                np.log(raw[:, 3]),
                raw[:, 4],
                np.log(raw[:, 5]),
            ],
            axis=1,
        )
    obs[~np.isfinite(obs)] = np.nan  # log(0) is a missing observation, not -inf evidence
    out = obs.reshape(len(raw), 3, 2)
    return out if isinstance(features, pd.DataFrame) else out[0]


@dataclass(frozen=True)
class HMMParams:
    """Ordered parameters of the three HMMs (axis-major arrays)."""

    means: np.ndarray  # (3 axes, 3 states, 2)
    variances: np.ndarray  # (3, 3, 2)
    transmat: np.ndarray  # (3, 3, 3): [axis, from, to]
    init: np.ndarray  # (3, 3): stationary distribution of each transmat

    def to_json(self) -> dict[str, Any]:
        """Plain lists for JSON."""
        return {k: np.asarray(v).tolist() for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HMMParams:
        """Inverse of :meth:`to_json`."""
        return cls(
            **{
                k: np.asarray(data[k], dtype=np.float64)
                for k in ("means", "variances", "transmat", "init")
            }
        )


def _stationary(trans: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eig(trans.T)
    v = np.real(vecs[:, np.argmin(np.abs(vals - 1.0))])
    v = np.abs(v) / np.abs(v).sum()
    v = np.maximum(v, _MIN_PROB)
    return v / v.sum()


def log_emissions(params: HMMParams, obs: np.ndarray) -> np.ndarray:
    """Gaussian log densities ``(T, 3 axes, 3 states)``; 0 where the observation is missing."""
    diff = obs[:, :, None, :] - params.means[None]
    var = params.variances[None]
    ll = -0.5 * (diff * diff / var + np.log(2.0 * np.pi * var)).sum(axis=3)
    return np.where(np.isnan(ll), 0.0, ll)


def forward_step(
    prev: np.ndarray | None, log_trans: np.ndarray, log_init: np.ndarray, ll: np.ndarray
) -> np.ndarray:
    """One filtered step for all three axes at once, in log space; returns log P(s_t | x_1..t).

    ``prev`` is the previous normalised log-probability ``(3, 3)`` (``None`` at the start).
    """
    if prev is None:
        pred = log_init
    else:
        z = prev[:, :, None] + log_trans
        m = z.max(axis=1)
        pred = m + np.log(np.exp(z - m[:, None, :]).sum(axis=1))
    post = pred + ll
    mm = post.max(axis=1, keepdims=True)
    return post - (mm + np.log(np.exp(post - mm).sum(axis=1, keepdims=True)))


def summarize(log_post: np.ndarray) -> np.ndarray:
    """Rows of :data:`OUTPUT_COLUMNS` from ``(T, 3, 3)`` log-probabilities."""
    p = np.exp(log_post)
    value = (p[:, :, 2] - p[:, :, 0] + 1.0) / 2.0
    conf = p.max(axis=2).mean(axis=1)
    return np.concatenate([value, conf[:, None], p.reshape(len(p), 9)], axis=1)


class RegimeModel:
    """Three 3-state Gaussian HMMs (trend, volatility, liquidity) with forward filtering.

    Parameters
    ----------
    config
        A :class:`RegimeConfig`, or ``settings.models`` (converted by
        :meth:`RegimeConfig.from_settings`).
    """

    def __init__(self, config: RegimeConfig | ModelsSettings | None = None) -> None:
        if isinstance(config, ModelsSettings):
            config = RegimeConfig.from_settings(config)
        self.config = config or RegimeConfig()

    def fit(self, features: pd.DataFrame, feature_schema_hash: str | None = None) -> RegimeModel:
        """Fit the three HMMs on every row of ``features`` (a trailing training window)."""
        from hmmlearn.hmm import GaussianHMM

        obs = observations(features)
        means, variances, trans = [], [], []
        for a, axis in enumerate(AXES):
            x = obs[:, a, :]
            x = x[np.isfinite(x).all(axis=1)]
            if len(x) < self.config.min_train_rows:
                raise DataError(
                    f"regime {axis} HMM has {len(x)} complete rows to fit, needs at least "
                    f"{self.config.min_train_rows}; give it more sessions of features"
                )
            hmm = GaussianHMM(
                n_components=3,
                covariance_type="diag",
                n_iter=self.config.n_iter,
                tol=self.config.tol,
                random_state=self.config.random_state,
                init_params="",
            )
            # Deterministic start (no k-means): states at the terciles of the first
            # dimension (already ordered), their own variances, and sticky transitions.
            # A uniform transition start lets EM collapse the states onto one another.
            parts = np.array_split(x[np.argsort(x[:, 0], kind="stable")], 3)
            hmm.startprob_ = np.full(3, 1.0 / 3.0)
            hmm.transmat_ = np.full((3, 3), 0.025) + np.eye(3) * 0.925
            hmm.means_ = np.stack([part.mean(axis=0) for part in parts])
            hmm.covars_ = np.stack([part.var(axis=0) + 1e-4 for part in parts])
            hmm.fit(x)
            order = np.argsort(hmm.means_[:, 0], kind="stable")
            t = np.maximum(hmm.transmat_[np.ix_(order, order)], _MIN_PROB)
            means.append(hmm.means_[order])
            variances.append(np.asarray(hmm._covars_)[order])
            trans.append(t / t.sum(axis=1, keepdims=True))
        tm = np.stack(trans)
        self.params_ = HMMParams(
            means=np.stack(means),
            variances=np.stack(variances),
            transmat=tm,
            init=np.stack([_stationary(t) for t in tm]),
        )
        index = features.index
        self.fit_info_ = {
            "rows": len(features),
            "start": str(index[0]) if len(index) else None,
            "end": str(index[-1]) if len(index) else None,
            "feature_schema_hash": feature_schema_hash,
        }
        return self

    def _checked(self) -> HMMParams:
        params = getattr(self, "params_", None)
        if params is None:
            raise ModelError("RegimeModel is not fitted; call fit() or RegimeModel.load()")
        return params

    def filter_log(self, obs: np.ndarray, prev: np.ndarray | None = None) -> np.ndarray:
        """Filtered log-probabilities ``(T, 3, 3)`` of ``obs``, continuing from ``prev``."""
        params = self._checked()
        ll = log_emissions(params, obs)
        log_trans, log_init = np.log(params.transmat), np.log(params.init)
        out = np.empty_like(ll)
        for t in range(len(ll)):
            prev = forward_step(prev, log_trans, log_init, ll[t])
            out[t] = prev
        return out

    def filter(self, features: pd.DataFrame, prev: np.ndarray | None = None) -> pd.DataFrame:
        """Filtered regime outputs (:data:`OUTPUT_COLUMNS`) for every row of ``features``."""
        log_post = self.filter_log(observations(features), prev)
        return pd.DataFrame(summarize(log_post), index=features.index, columns=OUTPUT_COLUMNS)

    def stream(self, prev: np.ndarray | None = None) -> RegimeStream:
        """A one-bar-at-a-time filter equal to :meth:`filter`."""
        return RegimeStream(self, prev)

    def save(self, path: Path) -> Path:
        """Write params, config and schema hashes as JSON (atomically)."""
        params = self._checked()
        payload = {
            "format": FORMAT,
            "schema_hash": schema_hash(),
            "inputs": INPUTS,
            "config": asdict(self.config),
            "fit_info": self.fit_info_,
            "params": params.to_json(),
        }
        return atomic_write_json(Path(path), payload)

    @classmethod
    def load(cls, path: Path) -> RegimeModel:
        """Read a model written by :meth:`save`; refuses another format or feature schema."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read regime model {path}: {exc}") from exc
        if data.get("format") != FORMAT or data.get("schema_hash") != schema_hash():
            raise ModelError(
                f"regime model {path} has format {data.get('format')!r} and schema hash "
                f"{str(data.get('schema_hash'))[:12]}, this code expects {FORMAT!r} and "
                f"{schema_hash()[:12]}; refit the regime model"
            )
        model = cls(RegimeConfig(**data["config"]))
        model.params_ = HMMParams.from_json(data["params"])
        model.fit_info_ = data.get("fit_info", {})
        return model


class RegimeStream:
    """Streaming forward filter: one :meth:`update` per bar, equal to the batch filter.

    :meth:`switch` replaces the model (a walk-forward refit) and carries the current state
    probabilities over; states mean the same thing in every fit because they are ordered.
    """

    def __init__(self, model: RegimeModel, prev: np.ndarray | None = None) -> None:
        self._prev = prev
        self.switch(model)

    def switch(self, model: RegimeModel) -> None:
        """Continue filtering with ``model`` from the current probabilities."""
        params = model._checked()
        self.model = model
        self._params = params
        self._log_trans = np.log(params.transmat)
        self._log_init = np.log(params.init)

    @property
    def log_probs(self) -> np.ndarray | None:
        """Current filtered log-probabilities ``(3, 3)`` (``None`` before the first bar)."""
        return self._prev

    def update(self, features: Mapping[str, float]) -> dict[str, float]:
        """Filter one bar's features; returns :data:`OUTPUT_COLUMNS`."""
        obs = observations(features)[None]
        ll = log_emissions(self._params, obs)[0]
        self._prev = forward_step(self._prev, self._log_trans, self._log_init, ll)
        row = summarize(self._prev[None])[0]
        return dict(zip(OUTPUT_COLUMNS, row.tolist(), strict=True))
