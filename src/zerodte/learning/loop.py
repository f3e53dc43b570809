"""The QThink loop's package calls behind ``zerodte learn regret | apply | report``.

``assess_run_dir`` rebuilds a run's inputs, assesses every closed trade and writes the
journals (run directory and, when a store is given, the SQL tables); ``apply_run_dir``
turns the assessment into a new version chain of the QThink state; ``report`` aggregates
the assessed trades of every run in the store with each run's memory triggers.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from zerodte.io import atomic_write_json
from zerodte.learning.assess import Assessment, assess_run
from zerodte.learning.journal import (
    memory_triggers,
    read_assessment,
    summary,
    write_journals,
)
from zerodte.learning.regret import REGRET_KINDS, RegretConfig
from zerodte.learning.reinforce import ReinforceConfig, reinforce
from zerodte.learning.run_inputs import load_run
from zerodte.policy.qthink_state import QThinkState, load_state
from zerodte.store.qthink import SqlQThinkJournal

logger = logging.getLogger(__name__)

STATE_FILE = "qthink_state.json"


def assess_run_dir(
    run_dir: Path,
    journal: SqlQThinkJournal | None = None,
    config: RegretConfig | None = None,
    state: QThinkState | None = None,
) -> tuple[Assessment, dict[str, Any]]:
    """Assess ``run_dir``'s trades, write its journals; returns the assessment and a result."""
    loaded = load_run(run_dir, config)
    s = loaded.settings
    if state is None and s.entry.consensus.qthink.enabled:
        path = s.entry.consensus.qthink.state_path
        state = load_state(path) if path is not None else None
    a = assess_run(loaded.records, s.entry.consensus, s.options, config, state)
    paths = write_journals(loaded.run_dir, a)
    run_id = str(loaded.manifest.get("run_id") or loaded.run_dir.name)
    stored = journal.record(run_id, a.outcomes, a.agents) if journal is not None else None
    result = {
        "run_id": run_id,
        "run_dir": str(loaded.run_dir),
        "data_source": loaded.manifest.get("data_source"),
        "summary": summary(a),
        "files": {k: str(v) for k, v in paths.items()},
        "stored_rows": stored,
    }
    return a, result


def apply_run_dir(
    run_dir: Path,
    out: Path | None = None,
    start: Path | None = None,
    config: ReinforceConfig | None = None,
) -> dict[str, Any]:
    """Reinforce from ``run_dir``'s assessment (``learn regret`` first) and write the state."""
    a = read_assessment(run_dir)
    base = load_state(start) if start is not None else None
    state = reinforce(a, base, config, source=[str(run_dir)])
    target = Path(out) if out is not None else Path(run_dir) / STATE_FILE
    atomic_write_json(target, state.to_json())
    last = state.versions[-1]
    return {
        "state": str(target),
        "versions": len(state.versions),
        "trades": last.trades,
        "published_at": None if last.published_at is None else last.published_at.isoformat(),
        "weights": dict(last.weights),
        "penalties": dict(last.penalties),
    }


def report(journal: SqlQThinkJournal, runs: list[Path] | None = None) -> dict[str, Any]:
    """Assessed trades across the store's runs, with the memory triggers of ``runs``."""
    o = journal.outcomes()
    out: dict[str, Any] = {"runs": int(o["run_id"].nunique()) if len(o) else 0, "trades": len(o)}
    if len(o):
        out["labels"] = o["label"].value_counts().sort_index().to_dict()
        out["archetypes"] = {
            str(k): {"trades": len(g), "mean_pnl": float(g["pnl"].mean())}
            for k, g in o.groupby("archetype", sort=True)
        }
        out["time_blocks"] = {
            str(k): {"trades": len(g), "mean_regret_sum": float(g["regret_sum"].mean())}
            for k, g in o.groupby("time_block", sort=True)
        }
        out["mean_regrets"] = {
            k: None if pd.isna(o[k].mean()) else float(o[k].mean()) for k in REGRET_KINDS
        }
    triggers = {}
    for run in runs or []:
        a = read_assessment(run)
        triggers[str(run)] = memory_triggers(a)
    out["memory_triggers"] = triggers
    return out
