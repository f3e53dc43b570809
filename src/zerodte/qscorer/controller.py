"""The ``q_scorer`` entry controller: act on the conservative Q estimate, hold otherwise.

For an observation with state ``x`` the model gives, per right ``k`` in (call, put), the
ensemble mean, std, lower confidence bound ``LCB_k = mean_k - z * std_k`` (dollars per
contract, calibrated with ``best_offset``) and the confidence
``conf_k = Phi(mean_k / std_k)``: the probability that the action's expected reward is
positive if the ensemble spread is read as a normal posterior. Then::

    k*   = argmax_k LCB_k                        (ties: call)
    veto q_min_conf     if conf_{k*} < entry.q_min_conf
    veto q_min_abs_ret  if |LCB_{k*}| < entry.q_min_abs_ret
    HOLD                if LCB_{k*} <= entry.q_threshold
    else BUY_CALLS / BUY_PUTS

``Decision.scores = (0, LCB_call, LCB_put)`` (``Q_hold = 0``); the policy is deterministic,
so ``probs`` is one-hot: off-policy evaluation of this controller uses the propensities
logged by the exploratory policy that generated the data, never these. Engine gates still
apply after the controller.

Hot reload: the model pair in ``qscorer.model_dir`` is re-checked at most every
``qscorer.reload_sec`` seconds of the injected time source (default: the observation's bar
time, so a backtest is deterministic). A changed pair is loaded only when the ``.pt``
matches the metadata's SHA-256, passes the checks of :mod:`zerodte.qscorer.checks` and has
the feature schema; otherwise the previous model stays in use. A refused pair is logged
once, with the reason, and not retried until its files change; model files that vanish
are logged once too, and the model in use is kept.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from zerodte.config.root import Settings
from zerodte.errors import ModelError
from zerodte.policy.base import VETO_SEPARATOR, clean_context, decision_frame, one_hot
from zerodte.qscorer.artifacts import METADATA_FILE, MODEL_FILE, LoadedModel, load_model
from zerodte.qscorer.registration import register
from zerodte.types import Action, Decision, Observation

logger = logging.getLogger(__name__)

_ONE_HOT: dict[int, tuple[float, float, float]] = {
    0: (1.0, 0.0, 0.0),
    1: (0.0, 1.0, 0.0),
    2: (0.0, 0.0, 1.0),
}


def expected_schema_hash(settings: Settings) -> str:
    """Schema hash of the feature set ``qscorer.feature_set``."""
    from zerodte.features import get_feature_set

    return get_feature_set(settings.qscorer.feature_set).schema_hash


def check_schema(loaded: LoadedModel, expected: str | None, where: Path) -> None:
    """Refuse a model trained on another feature schema."""
    if expected is not None and loaded.model.schema_hash != expected:
        raise ModelError(
            f"Q-scorer model in {where} was trained on feature schema "
            f"{loaded.model.schema_hash[:16]} but qscorer.feature_set gives {expected[:16]}; "
            "retrain with `zerodte q train` on the current feature set, or set "
            "qscorer.feature_set to the set the model was trained on "
            f"({loaded.metadata.get('feature_set', 'unknown')!r})"
        )


def check_predictor(loaded: LoadedModel, settings: Settings) -> None:
    """Refuse a model trained with another predictor bundle than ``models.predictor_bundle``.

    A model whose state includes predictor columns learnt them from one bundle; the same
    columns from another bundle (or none) mean something else.
    """
    meta = loaded.metadata.get("predictor")
    if not meta:
        return
    configured = settings.models.predictor_bundle
    want = str(meta.get("model_sha256", ""))
    if configured is None:
        raise ModelError(
            f"the Q-scorer model was trained with predictor bundle {meta.get('path')} "
            f"(sha256 {want[:12]}); set models.predictor_bundle to it or retrain without "
            "qscorer.predictor_outputs / predictor_embedding"
        )
    from zerodte.engine.backtest import bundle_sha256

    have = bundle_sha256(Path(configured))
    if have != want:
        raise ModelError(
            f"the Q-scorer model was trained with predictor bundle sha256 {want[:12]} "
            f"({meta.get('path')}) but models.predictor_bundle={configured} is {have[:12]}; "
            "pair the model with its own bundle or retrain the Q-scorer on this one"
        )


Signature = tuple[int, int, int, int]
"""``(mtime_ns, size)`` of the ``.pt`` and of the metadata: changes when either is rewritten."""


def _signature(model_dir: Path) -> Signature | None:
    try:
        a = (model_dir / MODEL_FILE).stat()
        b = (model_dir / METADATA_FILE).stat()
    except OSError:
        return None
    return (a.st_mtime_ns, a.st_size, b.st_mtime_ns, b.st_size)


class PairWatch:
    """A model directory as a hot reload sees it: a new verified pair, a refused one, or none.

    Shared by :meth:`QScorerController.maybe_reload` (backtests) and
    :class:`~zerodte.qscorer.watcher.ModelWatcher` (live runs). A pair is tried once per
    version of its files (their :data:`Signature`): a refused pair is logged once, with the
    reason, and not tried again until a file changes; files that vanish are logged once.
    The caller keeps the model it has in both cases.

    Parameters
    ----------
    model_dir
        The directory holding the pair.
    """

    def __init__(self, model_dir: Path) -> None:
        self.model_dir = Path(model_dir)
        self.signature = _signature(self.model_dir)
        self.refused = 0
        self._refused: Signature | None = None
        self._vanished = False

    def poll(self, in_use: LoadedModel, check: Callable[[LoadedModel], None]) -> LoadedModel | None:
        """The pair in the directory when its files changed and it loads and passes
        ``check`` (which raises :class:`~zerodte.errors.ModelError`); else None."""
        sig = _signature(self.model_dir)
        if sig is None:
            if not self._vanished:
                self._vanished = True
                logger.warning(
                    "Q-scorer model files in %s vanished; keeping the model in use (sha256 %s)",
                    self.model_dir,
                    in_use.sha256[:12],
                )
            return None
        self._vanished = False
        if sig in (self.signature, self._refused):
            return None
        try:
            loaded = load_model(self.model_dir)
            check(loaded)
        except ModelError as exc:
            # Keep trading on the verified model; files that change are tried again.
            self.refused += 1
            self._refused = sig
            logger.warning(
                "Q-scorer reload refused, keeping the model in use (sha256 %s): %s",
                in_use.sha256[:12],
                exc,
            )
            return None
        self.signature = sig
        return loaded


class QScorerController:
    """Entry controller acting on the Q-scorer's conservative estimates.

    Parameters
    ----------
    loaded
        The initial verified model pair.
    q_threshold, q_min_conf, q_min_abs_ret
        ``entry.q_threshold`` (dollars), ``entry.q_min_conf`` (0..1) and
        ``entry.q_min_abs_ret`` (dollars).
    model_dir
        Directory to watch for a new pair (``None``: no hot reload).
    reload_sec
        Minimum seconds between two checks of ``model_dir``.
    expected_schema
        Feature schema hash a model must have (``None``: accept the loaded model's).
    time_source
        Seconds as a float; defaults to the observation's bar time.
    """

    name = "q_scorer"

    def __init__(
        self,
        loaded: LoadedModel,
        *,
        q_threshold: float = 0.0,
        q_min_conf: float = 0.0,
        q_min_abs_ret: float = 0.0,
        model_dir: Path | None = None,
        reload_sec: float = 30.0,
        expected_schema: str | None = None,
        time_source: Callable[[], float] | None = None,
    ) -> None:
        self.expected_schema = expected_schema
        check_schema(loaded, expected_schema, model_dir or Path("."))
        self._loaded = loaded
        self.q_threshold = float(q_threshold)
        self.q_min_conf = float(q_min_conf)
        self.q_min_abs_ret = float(q_min_abs_ret)
        self.model_dir = Path(model_dir) if model_dir is not None else None
        self.reload_sec = float(reload_sec)
        self._time_source = time_source
        self._last_check: float | None = None
        self._watch = PairWatch(self.model_dir) if self.model_dir is not None else None
        self._lock = threading.Lock()
        self.reloads = 0

    @classmethod
    def for_model(
        cls,
        loaded: LoadedModel,
        settings: Settings,
        *,
        model_dir: Path | None = None,
        time_source: Callable[[], float] | None = None,
    ) -> QScorerController:
        """A controller of the model pair ``loaded`` with the ``entry`` thresholds, checked
        against the feature schema of ``settings``. With ``model_dir`` it takes a new pair
        there when one is deployed (checked every ``qscorer.reload_sec``)."""
        e = settings.entry
        return cls(
            loaded,
            q_threshold=e.q_threshold,
            q_min_conf=e.q_min_conf,
            q_min_abs_ret=e.q_min_abs_ret,
            model_dir=model_dir,
            reload_sec=settings.qscorer.reload_sec,
            expected_schema=expected_schema_hash(settings),
            time_source=time_source,
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, time_source: Callable[[], float] | None = None
    ) -> QScorerController:
        """Load the pair in ``qscorer.model_dir`` with the ``entry`` thresholds."""
        model_dir = Path(settings.qscorer.model_dir)
        loaded = load_model(model_dir, fallback=True)  # an interrupted deploy: the previous
        check_predictor(loaded, settings)
        return cls.for_model(loaded, settings, model_dir=model_dir, time_source=time_source)

    # -- model management ----------------------------------------------------------------
    @property
    def loaded(self) -> LoadedModel:
        """The model pair in use."""
        return self._loaded

    @property
    def feature_columns(self) -> tuple[str, ...]:
        """Features the model needs, in order."""
        return self._loaded.model.feature_columns

    def maybe_reload(self, now: float) -> bool:
        """Reload the pair if ``reload_sec`` passed since the last check and it changed.

        Returns ``True`` when a new model was installed. A half-written, mismatched or
        invalid pair, or one with another feature schema, is refused and the current model
        kept; the refusal is logged once and the same files are not tried again. Vanished
        files are logged once.
        """
        if self.model_dir is None:
            return False
        if self._last_check is not None and now - self._last_check < self.reload_sec:
            return False
        self._last_check = now
        if self._watch is None or self._watch.model_dir != self.model_dir:
            self._watch = PairWatch(self.model_dir)
        with self._lock:
            loaded = self._watch.poll(self._loaded, self.check_pair)
            if loaded is None or loaded.sha256 == self._loaded.sha256:
                return False
            self._loaded = loaded
            self.reloads += 1
            logger.info("Q-scorer reloaded from %s (sha256 %s)", self.model_dir, loaded.sha256[:12])
            return True

    @property
    def refused_reloads(self) -> int:
        """Pairs refused by the hot reload so far."""
        return 0 if self._watch is None else self._watch.refused

    def check_pair(self, loaded: LoadedModel) -> None:
        """Raise :class:`~zerodte.errors.ModelError` when ``loaded`` has another schema."""
        check_schema(loaded, self.expected_schema, self.model_dir or Path("."))

    def install(self, loaded: LoadedModel) -> bool:
        """Use ``loaded`` from now on (a :class:`~zerodte.qscorer.watcher.ModelWatcher`
        found it); refused with ``ModelError`` when its feature schema is another.
        Returns ``False`` when it is the model already in use."""
        self.check_pair(loaded)
        with self._lock:
            if loaded.sha256 == self._loaded.sha256:
                return False
            self._loaded = loaded
            self.reloads += 1
        logger.info("Q-scorer model %s installed", loaded.sha256[:12])
        return True

    # -- decisions -----------------------------------------------------------------------
    def _evaluate(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Vectorised decision rule on a feature matrix (shared by decide and decide_batch)."""
        model = self._loaded.model
        n = len(x)
        known = np.isfinite(x).all(axis=1)
        lcb = np.full((n, 2), np.nan)
        mean = np.full((n, 2), np.nan)
        std = np.full((n, 2), np.nan)
        conf = np.full((n, 2), np.nan)
        if known.any():
            pred = model.predict(x[known])
            lcb[known], mean[known], std[known], conf[known] = (
                pred.lcb,
                pred.mean,
                pred.std,
                pred.confidence,
            )
        best = np.where(lcb[:, 1] > lcb[:, 0], 1, 0)
        rows = np.arange(n)
        q_best = lcb[rows, best]
        c_best = conf[rows, best]
        low_conf = known & (c_best < self.q_min_conf)
        low_ret = known & (np.abs(q_best) < self.q_min_abs_ret)
        above = known & (q_best > self.q_threshold)
        act = above & ~low_conf & ~low_ret
        action = np.where(act, best + 1, 0).astype(np.int8)
        return {
            "known": known,
            "lcb": lcb,
            "mean": mean,
            "std": std,
            "conf": conf,
            "best": best,
            "q_best": q_best,
            "c_best": c_best,
            "low_conf": low_conf,
            "low_ret": low_ret,
            "above": above,
            "action": action,
        }

    def _texts(self, r: dict[str, np.ndarray], i: int) -> tuple[str, tuple[str, ...]]:
        """Reason and veto texts of row ``i`` (identical for both paths)."""
        if not r["known"][i]:
            return "q_scorer: state features unavailable", ()
        right = "call" if r["best"][i] == 0 else "put"
        q = float(r["q_best"][i])
        c = float(r["c_best"][i])
        vetoes: list[str] = []
        if r["low_conf"][i]:
            vetoes.append(f"q_min_conf: confidence {c:.3f} < {self.q_min_conf:g}")
        if r["low_ret"][i]:
            vetoes.append(f"q_min_abs_ret: |Q_{right}| {abs(q):.2f} < {self.q_min_abs_ret:g}")
        lc, lp = float(r["lcb"][i, 0]), float(r["lcb"][i, 1])
        base = f"Q_call {lc:+.2f} Q_put {lp:+.2f} best {right} conf {c:.3f}"
        if not r["above"][i]:
            base += f"; Q_{right} {q:+.2f} <= threshold {self.q_threshold:g}"
        return "; ".join([base, *vetoes]), tuple(vetoes)

    def _features(self, observation: Observation) -> np.ndarray:
        """The state: features, then predictor columns from the context (NaN if unknown)."""
        cols = self.feature_columns
        feats = observation.features
        ctx = observation.context
        missing = [c for c in cols if c not in feats and c not in self._context_columns]
        if missing:
            raise ModelError(
                f"Q-scorer needs features {missing[:6]} (of {len(cols)}) that the observation "
                f"lacks; the engine must compute qscorer.feature_set "
                f"({self._loaded.metadata.get('feature_set', '?')!r}) for this controller"
            )
        return np.array(
            [[float(feats[c]) if c in feats else float(ctx.get(c, np.nan)) for c in cols]],
            dtype=np.float64,
        )

    @property
    def _context_columns(self) -> frozenset[str]:
        """State columns the engine's context supplies (predictor outputs, ``emb_*``)."""
        meta = self._loaded.metadata.get("predictor") or {}
        return frozenset(str(c) for c in meta.get("columns", ()))

    def decide(self, observation: Observation) -> Decision:
        """Decide one observation (the model pair may be hot-reloaded first)."""
        now = (
            self._time_source()
            if self._time_source is not None
            else pd.Timestamp(observation.time).timestamp()
        )
        self.maybe_reload(now)
        r = self._evaluate(self._features(observation))
        reason, vetoes = self._texts(r, 0)
        action = int(r["action"][0])
        known = bool(r["known"][0])
        return Decision(
            action=Action(action),
            scores=(0.0, float(r["lcb"][0, 0]), float(r["lcb"][0, 1])),
            probs=_ONE_HOT[action],
            reasons=(reason,),
            vetoes=vetoes,
            confidence=float(r["c_best"][0]) if known else None,
            context=clean_context({k: float(v[0]) for k, v in self._context(r).items()})
            | {"q_model_sha256": self._loaded.sha256[:12]},
        )

    def _context(self, r: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per-row context values (``q_hold`` ... the ensemble means and stds)."""
        return {
            "q_hold": np.zeros(len(r["known"])),
            "q_call": r["lcb"][:, 0],
            "q_put": r["lcb"][:, 1],
            "q_call_mean": r["mean"][:, 0],
            "q_put_mean": r["mean"][:, 1],
            "q_call_std": r["std"][:, 0],
            "q_put_std": r["std"][:, 1],
        }

    def decide_batch(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Decide every row of ``frame`` (must hold the model's feature columns)."""
        cols = list(self.feature_columns)
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ModelError(
                f"Q-scorer needs feature columns {missing[:6]} (of {len(cols)}) missing from "
                "the frame; join the features of qscorer.feature_set before decide_batch"
            )
        r = self._evaluate(frame.loc[:, cols].to_numpy(np.float64))
        n = len(frame)
        action = r["action"]
        reason = np.empty(n, dtype=object)
        vetoes = np.empty(n, dtype=object)
        for i in range(n):
            text, v = self._texts(r, i)
            reason[i] = text
            vetoes[i] = VETO_SEPARATOR.join(v)
        context: dict[str, np.ndarray] = {
            **self._context(r),
            "q_model_sha256": np.full(n, self._loaded.sha256[:12], dtype=object),
        }
        return decision_frame(
            frame.index,
            action,
            np.column_stack([np.zeros(n), r["lcb"]]),
            one_hot(action),
            reason,
            confidence=np.where(r["known"], r["c_best"], np.nan),
            vetoes=vetoes,
            context=context,
        )


register()
