"""Predictor ablation of the Q-scorer state: scalars only, + predictor outputs, + embedding.

Per seed, one synthetic market of ``predictor_sessions + days`` sessions::

    [ predictor window ][ Q dataset window (logged) ][ out-of-sample window ]
      Gaussian predictor   the pipeline of zerodte q power, three times:
      trained here only    A  state = qscorer.feature_set (scalars)
                           B  A + the predictor's calibrated outputs
                           C  B + the predictor's embedding (emb_*)

The predictor bundle is trained walk-forward on the predictor window alone (its deployable
segment is valid from the window's end), so every prediction in the Q windows comes from
data before them. B and C record the bundle's hash in the Q model's metadata; the
comparisons run on the same out-of-sample sessions with the same exits as A.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zerodte.config.overrides import with_overrides
from zerodte.config.root import Settings
from zerodte.types import SESSION_MINUTES

logger = logging.getLogger(__name__)

VARIANTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("scalars", {}),
    ("outputs", {"qscorer.predictor_outputs": True}),
    ("embedding", {"qscorer.predictor_outputs": True, "qscorer.predictor_embedding": True}),
)
"""The three states compared (names and the settings each adds)."""


@dataclass(frozen=True)
class AblationTask:
    """One seed of the ablation (picklable)."""

    settings: Settings
    seed: int
    edge: float
    predictor_sessions: int
    days: int
    cycles: int
    feature_set: str
    out_dir: Path
    n_boot: int
    code_version: str


def run_ablation_task(task: AblationTask) -> list[dict[str, Any]]:
    """Train the predictor on the first window, then run the three pipelines."""
    from zerodte.market.loading import load_market
    from zerodte.models.training import train_bundle
    from zerodte.qscorer.compare import slice_market
    from zerodte.qscorer.power import pipeline_row

    total = task.predictor_sessions + task.days
    md = load_market(task.settings, days=total, seed=task.seed, edge=task.edge)
    sessions = list(md.sessions)
    pre = slice_market(md, sessions[: task.predictor_sessions])
    rest = slice_market(md, sessions[task.predictor_sessions :])
    # the sliced markets keep the synthetic config for the oracle; its hidden state covers
    # the whole generated year, so the oracle reads the same bars
    bundle_dir = task.out_dir / "predictor"
    train_bundle(
        task.settings,
        pre,
        "predictor",
        1,
        task.feature_set,
        bundle_dir,
        code_version=task.code_version,
    )
    rows = []
    for name, extra in VARIANTS:
        over = dict(extra)
        if extra:
            over["models.predictor_bundle"] = str(bundle_dir)
        settings = with_overrides(task.settings, over) if over else task.settings
        row = pipeline_row(
            settings,
            rest,
            task.cycles,
            None,
            "momentum",
            task.out_dir / name,
            task.n_boot,
            task.code_version,
        )
        row.update(seed=task.seed, edge=task.edge, variant=name)
        rows.append(row)
    return rows


def predictor_ablation(
    settings: Settings,
    seeds: Sequence[int],
    edges: Sequence[float],
    *,
    out_dir: Path,
    predictor_sessions: int = 100,
    days: int = 250,
    cycles: int = 100 * SESSION_MINUTES,
    feature_set: str = "flow",
    workers: int = 2,
    n_boot: int = 1000,
    code_version: str = "unknown",
) -> dict[str, Any]:
    """Rows per seed x edge x variant and, per variant, power and false-positive rate."""
    from zerodte.qscorer.power import map_tasks, totals

    tasks = [
        AblationTask(
            settings,
            int(s),
            float(e),
            predictor_sessions,
            days,
            cycles,
            feature_set,
            Path(out_dir) / f"edge{e:g}_seed{s}",
            n_boot,
            code_version,
        )
        for e in edges
        for s in seeds
    ]
    rows = [r for group in map_tasks(run_ablation_task, tasks, "local", workers) for r in group]
    return {
        "seeds": [int(s) for s in seeds],
        "edges": [float(e) for e in edges],
        "predictor_sessions": predictor_sessions,
        "days": days,
        "predictor_feature_set": feature_set,
        "rows": rows,
        "totals": {name: totals([r for r in rows if r["variant"] == name]) for name, _ in VARIANTS},
    }
