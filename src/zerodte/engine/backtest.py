"""``run_backtest``: the composition the CLI (and the Q-scorer pipeline) use.

Backtest and live differ only in the injected feed (historical replay with a simulated
clock), broker (paper) and decision source; the loop is :class:`~zerodte.engine.engine.Engine`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from zerodte.broker.paper import PaperBroker
from zerodte.config.manifest import settings_hash
from zerodte.config.root import Settings
from zerodte.engine.alignment import AlignmentTracker
from zerodte.engine.build import build_engine, market_quote_books, validate_settings
from zerodte.engine.clock import SimulatedClock
from zerodte.engine.engine import Engine
from zerodte.engine.feed import BoxedTimes, FeedColumns, HistoricalFeed, QuoteBookFactory
from zerodte.engine.finish import FinishedRun, RunInfo, finish_run
from zerodte.engine.memory import release_freed_memory
from zerodte.engine.parts import ContextSource, ContractSelector
from zerodte.engine.recorder import Recorder
from zerodte.engine.rundir import make_run_id
from zerodte.engine.sources import (
    BatchDecisions,
    PieceDecisions,
    StreamDecisions,
    features_to_compute,
)
from zerodte.engine.trades import FEATURE_CONTEXT
from zerodte.errors import ConfigError, ModelError
from zerodte.features import FeatureStream, compute_features, get_feature_set
from zerodte.options.params import apply_model_params
from zerodte.policy.base import EntryController, Gate
from zerodte.policy.controllers import build_controller
from zerodte.regime import OUTPUT_COLUMNS as REGIME_COLUMNS
from zerodte.regime import RegimeConfig, walk_forward_regime
from zerodte.types import Action, features_read

logger = logging.getLogger(__name__)

Path_ = Literal["vectorised", "streaming"]


@dataclass
class PredictorContext:
    """Per-cycle predictions of a trained bundle joined with walk-forward regime values.

    ``values`` has one row per market-frame row: the context columns of
    :func:`~zerodte.models.predict_frame` (each row predicted by a segment trained before
    it; NaN before the first segment) and the regime outputs ``hmm_*`` of
    :func:`~zerodte.regime.walk_forward_regime` (NaN during its first training window).
    """

    values: pd.DataFrame
    manifest: dict[str, Any]

    def source(self) -> ContextSource:
        """``cycle -> {column: value}`` for the engine's observations (NaN omitted)."""
        from zerodte.models import context_source

        return context_source(self.values, list(self.values.columns))


def predictor_context(settings: Settings, frame: pd.DataFrame) -> PredictorContext | None:
    """Load ``models.predictor_bundle`` and predict every cycle of ``frame`` (None if unset).

    Raises
    ------
    ConfigError
        The bundle is missing, corrupt, or was trained on another feature schema than the
        one its feature set computes now (the message says how to fix it).
    """
    path = settings.models.predictor_bundle
    if path is None:
        return None
    # Imported here: the model stack (torch, xgboost) costs ~200 MB and is needed only when
    # a bundle is configured.
    from zerodte.models import embed_frame, load_bundle, predict_frame
    from zerodte.models.bundle import check_schema

    try:
        bundle = load_bundle(path)
        # the schema the feature set computes today, not the version the bundle recorded
        fs = get_feature_set(bundle.feature_set).resolve(frame.columns)
        check_schema(bundle, fs.schema_hash)
        features = compute_features(frame, fs)
        predictions = predict_frame(bundle, frame, features)
        if settings.qscorer.predictor_embedding:
            predictions = predictions.join(embed_frame(bundle, frame, features))
    except (ModelError, KeyError) as exc:
        raise ConfigError(f"models.predictor_bundle={path}: {exc}") from exc
    regime_features = (
        features if bundle.feature_set == "default" else compute_features(frame, "default")
    )
    regime = walk_forward_regime(
        regime_features, config=RegimeConfig.from_settings(settings.models)
    )
    values = pd.concat([predictions, regime.loc[:, list(REGIME_COLUMNS)]], axis=1)
    logger.info(
        "predictor %s (%s) predicts %d of %d cycles; regime known on %d",
        path,
        bundle.kind,
        int(predictions["direction_prob_up"].notna().sum()),
        len(frame),
        int(regime["hmm_trend"].notna().sum()),
    )
    manifest = {
        "path": str(path),
        "kind": bundle.kind,
        "feature_set": bundle.feature_set,
        "schema_hash": bundle.schema_hash,
        "data_hash": bundle.data_hash,
        "code_version": bundle.code_version,
        "training_window": list(bundle.training_window),
        "model_sha256": bundle_sha256(path),
    }
    return PredictorContext(values, manifest)


def bundle_sha256(path: Path) -> str:
    """The ``model_sha256`` a bundle directory's ``bundle.json`` records (its identity)."""
    import json

    try:
        return str(json.loads((Path(path) / "bundle.json").read_text())["model_sha256"])
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(
            f"models.predictor_bundle={path}: unreadable bundle.json ({exc})"
        ) from exc


def regime_context(settings: Settings, frame: pd.DataFrame) -> PredictorContext:
    """The walk-forward HMM regime (``hmm_*``) of every cycle, without a predictor."""
    regime = walk_forward_regime(
        compute_features(frame, "default"), config=RegimeConfig.from_settings(settings.models)
    )
    values = regime.loc[:, list(REGIME_COLUMNS)]
    logger.info(
        "regime known on %d of %d cycles", int(values["hmm_trend"].notna().sum()), len(frame)
    )
    return PredictorContext(values, {"regime_only": True})


def market_context(settings: Settings, frame: pd.DataFrame) -> PredictorContext | None:
    """The predictor bundle's context (:func:`predictor_context`), else the regime alone when
    ``models.regime_context``, else ``None``; with ``models.horizon_bundles`` their
    ``direction_prob_{up,down}_{h}m`` joined (:func:`horizon_context`)."""
    predictor = predictor_context(settings, frame)
    if predictor is None and settings.models.regime_context:
        predictor = regime_context(settings, frame)
    return horizon_context(settings, frame, predictor)


def horizon_context(
    settings: Settings, frame: pd.DataFrame, base: PredictorContext | None
) -> PredictorContext | None:
    """``base`` plus the predictions of ``models.horizon_bundles`` (``base`` when unset).

    Raises
    ------
    ConfigError
        A horizon bundle is missing, corrupt, of another feature schema, or repeats a
        horizon.
    """
    paths = settings.models.horizon_bundles
    if not paths:
        return base
    from zerodte.models.horizons import (
        horizon_manifest,
        horizon_predictions,
        load_horizon_bundles,
    )

    try:
        bundles = load_horizon_bundles(paths)
        values = horizon_predictions(bundles, frame)
    except (ModelError, KeyError) as exc:
        raise ConfigError(f"models.horizon_bundles: {exc}") from exc
    manifest = [
        {**m, "model_sha256": bundle_sha256(Path(m["path"]))} for m in horizon_manifest(bundles)
    ]
    if base is None:
        return PredictorContext(values, {"horizon_bundles": manifest})
    clash = [c for c in values.columns if c in base.values.columns]
    if clash:
        raise ConfigError(f"models.horizon_bundles: columns {clash} are already in the context")
    return PredictorContext(
        pd.concat([base.values, values], axis=1), {**base.manifest, "horizon_bundles": manifest}
    )


def observation_context(settings: Settings, frame: pd.DataFrame) -> pd.DataFrame | None:
    """Per-row context values of :func:`market_context` (``None`` when there are none)."""
    ctx = market_context(settings, frame)
    return None if ctx is None else ctx.values


def with_observation_columns(decisions: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """DecisionRecords plus the per-cycle observation ``values`` (predictions, regime).

    Cycle ``i`` observed market-frame row ``i``; a column already in the records is not
    duplicated. Missing values stay null (never filled).
    """
    extra = [c for c in values.columns if c not in decisions.columns]
    cycles = decisions["cycle"].to_numpy()
    added = values.iloc[cycles][extra].reset_index(drop=True)
    return pd.concat([decisions.reset_index(drop=True), added], axis=1)


def _combined(first: ContextSource, second: ContextSource | None) -> ContextSource:
    """``first``'s values updated by ``second``'s (an explicit source overrides)."""
    if second is None:
        return first
    return lambda i: {**first(i), **second(i)}


def _batch_source(
    frame: pd.DataFrame,
    feature_set: str,
    predictor: PredictorContext | None,
    ctrl: EntryController,
    decide_batch: Callable[[pd.DataFrame], pd.DataFrame],
    *,
    columns: FeedColumns,
    reads: frozenset[str] | None,
) -> BatchDecisions | PieceDecisions:
    """``decide_batch`` over the frame joined with its features (and predictor context).

    Only the features the run's parts read are computed (``reads``, from
    :func:`_features_read`; all of them for ``None``).

    A controller whose ``decide_batch`` decides each row alone (``batch_rows_independent``)
    is asked a piece of sessions at a time as the loop reaches it (:class:`PieceDecisions`:
    the same decisions, while a longer replay holds no more features than a shorter one).

    The joined frame (a copy of the market and the features) lives only in here. Every
    entry attempt's observation carries its bar's Timestamp, so those of the cycles whose
    decision is not HOLD are boxed here at once (``columns.prime_times``).
    """
    if getattr(ctrl, "batch_rows_independent", False):
        extra = None if predictor is None else predictor.values
        return PieceDecisions(
            frame,
            feature_set,
            decide_batch,
            controller=ctrl,
            columns=columns,
            extra=extra,
            reads=reads,
        )
    computed, left_out = features_to_compute(frame, feature_set, reads)
    features = compute_features(frame, computed)
    new = [c for c in features.columns if c not in frame.columns]
    # all of them, as a rule: then no copy of the features (tens of MB a year) is made
    parts = [frame, features if len(new) == features.shape[1] else features[new]]
    if predictor is not None:
        parts.append(predictor.values.drop(columns=[*frame.columns, *new], errors="ignore"))
    decided = decide_batch(pd.concat(parts, axis=1))
    source = BatchDecisions(decided, features, controller=ctrl, left_out=left_out)
    actions = decided["action"].to_numpy(dtype=np.int64)
    columns.prime_times(np.flatnonzero(actions != int(Action.HOLD)))
    return source


def _features_read(engine: Engine, ctrl: EntryController) -> frozenset[str] | None:
    """The features a run reads: those its parts say they read
    (:func:`~zerodte.types.features_read`) and the entry features of every trade row;
    ``None`` (all) when a part does not say."""
    parts = [*engine.gates, engine.sizer, engine.selector, engine.exits, engine.hooks, ctrl]
    read = features_read(parts)
    return None if read is None else read | frozenset(FEATURE_CONTEXT)


BacktestResult = FinishedRun
"""Everything one backtest produced (the records, summary and manifest of the run)."""


def run_backtest(
    settings: Settings,
    market_data: Any,
    *,
    controller: EntryController | None = None,
    run_dir: Path | None = None,
    path: Path_ = "vectorised",
    code_version: str = "unknown",
    write: bool = True,
    record: bool = True,
    run_id: str | None = None,
    created_at: pd.Timestamp | None = None,
    feature_set: str = "default",
    quote_books: QuoteBookFactory | None = None,
    selector: ContractSelector | None = None,
    context: ContextSource | None = None,
    n_boot: int = 2000,
    progress: Callable[[int, int], None] | None = None,
    probe_gates: bool = False,
    summary_extra: Mapping[str, Any] | None = None,
    gates: Sequence[Gate] | None = None,
    plots: bool = True,
) -> BacktestResult:
    """Run one backtest over ``market_data`` and (optionally) write its run directory.

    Parameters
    ----------
    settings
        Effective settings; re-validated first (:class:`~zerodte.errors.ConfigError`).
    market_data
        A :class:`zerodte.market.loading.MarketData` (``frame``, ``data_hash``, ``source``).
    controller
        Entry controller (default: :func:`build_controller` of ``settings``).
    run_dir
        Directory to write (default ``settings.engine.runs_dir / run_id``).
    path
        ``"vectorised"`` (features and ``decide_batch`` for the whole frame) or
        ``"streaming"`` (``FeatureStream`` and ``decide`` per cycle, as live).
    code_version
        Package version and git commit, read once by the caller.
    write, record
        Write the run directory; add the run to the SQL store.
    run_id
        Fixed id (default: derived from config hash, data hash, controller and seed).
    created_at
        Creation time for the manifest (the caller's clock); never in ``summary.json``.
    feature_set, quote_books, selector, context
        Overrides of the features, the option quotes, contract selection, and the
        per-cycle context. With ``models.predictor_bundle`` set, the bundle's predictions
        and the walk-forward regime (:func:`predictor_context`) are the context (``context``
        entries override them) and are joined to the frame ``decide_batch`` reads.
    n_boot
        Bootstrap replicas of the summary's confidence intervals.
    progress
        ``(cycle, total)`` callback, called every few thousand cycles.
    probe_gates
        Record every cycle's gate state in the DecisionRecords (``gate_call``,
        ``gate_put``), not only on attempted entries: what off-policy evaluation needs.
    summary_extra
        Keys added to the summary (and so to the store's run row), e.g. the off-policy
        values a Q pipeline computed for the controller this run replays.
    gates
        The gates (default :func:`~zerodte.policy.gates.build_gates` of ``settings``): a
        caller that keeps a learning gate (the threshold learner) reads it afterwards.
    plots
        Draw ``equity.png`` in the run directory (nothing else depends on it).
    """
    settings, option_model = apply_model_params(validate_settings(settings))
    if path not in ("vectorised", "streaming"):
        raise ConfigError(f"path must be 'vectorised' or 'streaming', got {path!r}")
    ctrl = controller if controller is not None else build_controller(settings)
    release_freed_memory()  # what loading the market left behind (the CLI's bars)
    frame: pd.DataFrame = market_data.frame
    starts = BoxedTimes(pd.DatetimeIndex(frame.index))  # boxed once for feed and quotes
    feed = HistoricalFeed(
        frame,
        quote_books
        if quote_books is not None
        else market_quote_books(settings, market_data, starts),
        SimulatedClock(),
        starts=starts,
    )
    broker = PaperBroker.from_settings(settings)
    recorder = Recorder(feed.columns.times, feed.columns.sessions)
    predictor = market_context(settings, frame)
    if predictor is not None:
        context = _combined(predictor.source(), context)
    config_hash = settings_hash(settings)
    rid = run_id or make_run_id(config_hash, market_data.data_hash, ctrl.name, settings.engine.seed)
    alignment = AlignmentTracker(settings.alignment, feed.columns.data_lag_s)
    alignment.check(len(frame))  # all lags are known up front: fail fast before the loop
    engine = build_engine(
        settings,
        feed=feed,
        broker=broker,
        recorder=recorder,
        controller_name=ctrl.name,
        run_id=rid,
        selector=selector,
        context=context,
        alignment=alignment,
        probe_gates=probe_gates,
        gates=gates,
    )
    decide_batch = getattr(ctrl, "decide_batch", None)
    if path == "vectorised" and decide_batch is not None:
        source: BatchDecisions | PieceDecisions | StreamDecisions = _batch_source(
            frame,
            feature_set,
            predictor,
            ctrl,
            decide_batch,
            columns=feed.columns,
            reads=_features_read(engine, ctrl),
        )
    else:
        if path == "vectorised":
            logger.info("controller %s has no decide_batch; running the streaming path", ctrl.name)
        source = StreamDecisions(ctrl, FeatureStream(feature_set), feed)
    total = len(frame)
    tick = None if progress is None else (lambda i: progress(i, total))
    run = engine.run(source, tick)
    mode = f"backtest:{source.name}"
    info = RunInfo(
        run_id=rid,
        controller=ctrl.name,
        mode=mode,
        data_hash=market_data.data_hash,
        data_source=dict(getattr(market_data, "data_source", None) or {})
        or str(getattr(market_data, "source", "unknown")),
        code_version=code_version,
        created_at=created_at,
        feature_set=feature_set,
    )
    # Finishing reads the cycles' times and sessions only. The market frame, the features
    # and precomputed decisions, the feed's quote books and bar blocks go before the records
    # are framed and written (the frame with them when the caller holds no other reference
    # to it, as the CLI does not).
    columns = FeedColumns(feed.columns.times, feed.columns.sessions)
    del engine, source, feed, frame, market_data
    release_freed_memory()

    def decisions() -> pd.DataFrame:
        made = recorder.decisions_frame()
        return made if predictor is None else with_observation_columns(made, predictor.values)

    done: BacktestResult = finish_run(
        settings,
        run,
        columns,
        info,
        execution=broker.execution.describe(),
        decisions=decisions,
        extra_summary={
            "alignment": alignment.summary(run.cycles),
            **({} if option_model is None else {"option_model": option_model}),
            **(summary_extra or {}),
        },
        extra_manifest={"predictor": None if predictor is None else predictor.manifest},
        run_dir=run_dir,
        write=write,
        record=record,
        n_boot=n_boot,
        plots=plots,
    )
    return done
