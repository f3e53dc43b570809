"""Rebuild a run's recorded inputs from its run directory, for the assessment.

The run directory holds the trades and DecisionRecords; the market it ran on is named by
the manifest's ``data_source``. A backtest's is rebuilt the way the run built it (the same
synthetic seed and edge, or the same stored window); a live or paper session's is the bars
its feed delivered, kept in the run directory (``kind = "session"``,
:mod:`zerodte.engine.session_bars`, checked by SHA-256). Either frame gives the same
features and context (:func:`zerodte.engine.backtest.observation_context`). Ghost rewards
are computed for the bars around each entry with the paper broker's own friction
(:class:`zerodte.qscorer.ghosts.GhostTradeEvaluator`, option quotes from the option model
on the frame's bars, for a session as for a backtest); open interest is the documented
synthetic model (:mod:`zerodte.options.open_interest`), prior day only, so a one-session
frame has none and its pin regrets stay NaN.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from zerodte.config.fields import field_specs
from zerodte.config.loader import explain_validation
from zerodte.config.root import Settings
from zerodte.engine.backtest import observation_context
from zerodte.engine.rundir import (
    DECISIONS,
    MANIFEST,
    TRADES,
    read_run_json,
    read_run_parquet,
)
from zerodte.engine.session_bars import SESSION_KIND, read_session_bars
from zerodte.errors import DataError
from zerodte.features import compute_features
from zerodte.learning.assess import RunRecords, decision_times
from zerodte.learning.path import MarketPath
from zerodte.learning.regret import RegretConfig
from zerodte.market.loading import load_market
from zerodte.options.open_interest import synthetic_chains
from zerodte.qscorer.ghosts import GhostTradeEvaluator

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedRun:
    """A run's settings, manifest and recorded inputs."""

    run_dir: Path
    manifest: dict[str, Any]
    settings: Settings
    records: RunRecords
    frame: pd.DataFrame


def settings_of(manifest: dict[str, Any]) -> Settings:
    """The run's settings from its manifest (masked secrets dropped).

    Raises
    ------
    DataError
        The manifest has no config object, or its values are not valid settings of this
        version (each problem named by key).
    """
    config = manifest.get("config")
    if not isinstance(config, dict):
        raise DataError(
            f"the run's {MANIFEST} has no config object (config = {config!r}); the assessment "
            "rebuilds the run's settings from it, so run it again with this version"
        )
    tree = json.loads(json.dumps(config))
    given: dict[str, str] = {}
    for key, spec in field_specs().items():
        node: Any = tree
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and leaf in node:
            given[key] = f"the run's {MANIFEST}"
            if spec.secret:
                node[leaf] = None
    try:
        return Settings.model_validate(tree)
    except ValidationError as exc:
        # `from None`: the pydantic error echoes raw inputs (explain_validation masks secrets)
        raise DataError(
            f"the run's {MANIFEST} config is not valid settings for this version "
            f"({explain_validation(exc, given)}); run it again with this version"
        ) from None


def frame_of(settings: Settings, manifest: dict[str, Any], run_dir: Path) -> pd.DataFrame:
    """The market frame the run was made on (see the module docstring)."""
    src = manifest.get("data_source")
    if isinstance(src, dict) and src.get("kind") == SESSION_KIND:
        return read_session_bars(run_dir, src)
    return market_of(settings, manifest).frame


def market_of(settings: Settings, manifest: dict[str, Any]) -> Any:
    """The market a backtest was made on (see the module docstring)."""
    src = manifest.get("data_source")
    if not isinstance(src, dict):
        raise DataError(
            f"the manifest's data_source is {src!r}; the assessment needs the structured "
            "data_source of a run made by this version (a backtest's market, or a live "
            "session's kept bars)"
        )
    start = date.fromisoformat(str(src.get("first_day") or manifest["start"]))
    end = date.fromisoformat(str(src.get("last_day") or manifest["end"]))
    if src.get("kind") == "synthetic":
        md = load_market(
            settings,
            days=int(src["sessions"]),
            start=date.fromisoformat(str(src.get("start") or start)),
            seed=int(src["seed"]),
            edge=float(src["edge"]),
        )
    else:
        md = load_market(settings, start=start, end=end)
    if md.data_hash != manifest.get("data_hash"):
        raise DataError(
            f"the rebuilt market's hash {md.data_hash[:12]} differs from the run's "
            f"{str(manifest.get('data_hash'))[:12]}; the data changed since the run"
        )
    return md


def ghost_rows(path: MarketPath, times: pd.DatetimeIndex, window: int) -> np.ndarray:
    """Rows of the bars within ``window`` minutes of each decision (same session)."""
    rows: set[int] = set()
    for t in times:
        rows.update(path.window(path.position(t), window, window).tolist())
    return np.array(sorted(rows), np.int64)


def records_from_frame(
    settings: Settings,
    frame: pd.DataFrame,
    trades: pd.DataFrame,
    decisions: pd.DataFrame,
    *,
    feature_set: str = "default",
    config: RegretConfig | None = None,
) -> RunRecords:
    """The assessment's inputs from a market frame and a run's trades and decisions.

    Everything is computed from ``frame`` alone (features, context, ghosts, prior-day open
    interest), so a frame cut at time ``T`` gives the inputs as they were known at ``T``.
    """
    cfg = config or RegretConfig()
    features = compute_features(frame, feature_set)
    parts = [frame, features[[c for c in features.columns if c not in frame.columns]]]
    ctx = observation_context(settings, frame)
    if ctx is not None:
        parts.append(ctx.drop(columns=[c for c in ctx.columns if c in frame.columns]))
    observations = pd.concat(parts, axis=1)
    observations = observations.loc[:, ~observations.columns.duplicated()]
    ghosts = None
    if not trades.empty:
        path = MarketPath.from_frame(frame)
        t0 = pd.DatetimeIndex(decision_times(trades, decisions))
        rows = ghost_rows(path, t0, cfg.entry_window)
        evaluator = GhostTradeEvaluator(settings, horizons=(cfg.ghost_horizon,))
        ghosts = evaluator.rewards(frame, rows)
        logger.info("ghost rewards for %d bars around %d entries", len(rows), len(trades))
    return RunRecords(trades, decisions, observations, ghosts, synthetic_chains(frame))


def load_run(run_dir: Path, config: RegretConfig | None = None) -> LoadedRun:
    """Everything :func:`~zerodte.learning.assess.assess_run` needs for ``run_dir``."""
    cfg = config or RegretConfig()
    run_dir = Path(run_dir)
    manifest_path = run_dir / MANIFEST
    if not manifest_path.exists():
        raise DataError(f"{run_dir} has no {MANIFEST}; pass a run directory (runs/<run_id>)")
    manifest = read_run_json(manifest_path)
    settings = settings_of(manifest)
    trades = read_run_parquet(run_dir / TRADES)
    decisions_file = run_dir / DECISIONS
    if not decisions_file.exists():
        raise DataError(f"{run_dir} has no {DECISIONS}; rerun the backtest with its records")
    decisions = read_run_parquet(decisions_file)
    frame = frame_of(settings, manifest, run_dir)
    records = records_from_frame(
        settings,
        frame,
        trades,
        decisions,
        feature_set=str(manifest.get("feature_set") or "default"),
        config=cfg,
    )
    return LoadedRun(run_dir, manifest, settings, records, frame)
