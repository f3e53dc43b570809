"""Layer 2: patterns over every experiment, and new ideas queued with their provenance.

Reads every idea, its decisions and the trades of its run directories, and reports:

* **inverted confidence**: the share of runs whose upper-confidence half wins less often
  than the lower half (:func:`zerodte.experiments.analysis.calibration_check`), with its
  Wilson 95 % interval;
* **losing signal strategies**: per strategy, the share of runs (with >= 5 of its trades)
  in which it lost money, with its Wilson interval; reported when the share is above 1/2;
* **settings values and results**: per override key, the runs grouped by value, each with
  the mean per-trade P&L of its best available stage (validation if run, else quick), the
  number of runs and a bootstrap 95 % interval over runs (``None`` below 3 runs);
* **damaged runs**: run directories whose records cannot be read are left out of the
  patterns and listed (``damaged_runs``: idea, stage and the reason), never dropped silently.

New ideas: when the best value of a numeric key is the largest (or smallest) value tried
and at least two values have results, one step further in that direction is queued in the
same family (``source="meta"``, ``provenance`` naming the pattern, the evidence and the
ideas it came from). Submission is idempotent, so a pattern seen again queues nothing new.
Every new idea is one more trial of its family, and the promotion rule counts it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from zerodte.config import Settings
from zerodte.errors import ConfigError, DataError
from zerodte.experiments.analysis import calibration_check, losing_strategies, read_run
from zerodte.experiments.family import FamilyConfig
from zerodte.experiments.ideas import submit_idea
from zerodte.experiments.worker import experiment_dir
from zerodte.qscorer.power import wilson
from zerodte.research.bootstrap import bootstrap_ci
from zerodte.store.experiments import ExperimentStore

logger = logging.getLogger(__name__)

MIN_RUNS_FOR_CI = 3


def _best_stage(result: dict[str, Any] | None) -> tuple[str, dict[str, Any]] | None:
    for stage in ("validation", "quick"):
        r = (result or {}).get(stage)
        if r and r.get("per_trade_pnl") is not None:
            return stage, r
    return None


def _runs(
    store: ExperimentStore, runs_dir: Path
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every experiment run's trades, and the damaged run directories (not read, named)."""
    out, damaged = [], []
    for idea in store.ideas():
        for stage in ("quick", "validation"):
            d = experiment_dir(runs_dir, idea["family"], idea["id"], stage)
            if not (d / "trades.parquet").exists():
                continue
            try:
                trades, _summary, _exp = read_run(d)
            except DataError as exc:
                logger.warning("experiment run left out of the patterns: %s", exc)
                damaged.append({"idea": idea["id"], "stage": stage, "reason": str(exc)})
                continue
            out.append({"idea": idea["id"], "stage": stage, "trades": trades})
    return out, damaged


def _value_table(ideas: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_key: dict[str, dict[Any, list[tuple[int, float, str]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for idea in ideas:
        best = _best_stage(idea.get("result"))
        if best is None:
            continue
        stage, r = best
        for key, value in (idea["overrides"] or {}).items():
            by_key[key][_hashable(value)].append((idea["id"], float(r["per_trade_pnl"]), stage))
    table: dict[str, list[dict[str, Any]]] = {}
    for key, groups in by_key.items():
        rows = []
        for value, items in groups.items():
            pnl = np.array([x[1] for x in items])
            ci = bootstrap_ci(pnl, "mean", n_boot=1000) if len(pnl) >= MIN_RUNS_FOR_CI else None
            rows.append(
                {
                    "value": value,
                    "runs": len(items),
                    "mean_per_trade_pnl": float(pnl.mean()),
                    "ci95": None if ci is None else [float(ci[0]), float(ci[1])],
                    "stages": sorted({x[2] for x in items}),
                    "ideas": [x[0] for x in items],
                }
            )
        table[key] = sorted(rows, key=lambda r: -r["mean_per_trade_pnl"])
    return table


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def patterns(store: ExperimentStore, runs_dir: Path) -> dict[str, Any]:
    """The report of Layer 2 (see the module docstring)."""
    ideas = store.ideas()
    runs, damaged = _runs(store, runs_dir)
    checks = [c for c in (calibration_check(r["trades"]) for r in runs) if c is not None]
    inverted = sum(1 for c in checks if c["inverted"])
    strategy_runs: dict[str, list[bool]] = defaultdict(list)
    for r in runs:
        t = r["trades"]
        if t.empty or "signal_strategy" not in t.columns:
            continue
        losers = set(losing_strategies(t))
        counts = t["signal_strategy"].fillna("unknown").astype(str).value_counts()
        for name, n in counts.items():
            if n >= 5:
                strategy_runs[str(name)].append(str(name) in losers)
    strategies: list[dict[str, Any]] = [
        {
            "strategy": name,
            "runs": len(flags),
            "losing_runs": int(sum(flags)),
            "share": sum(flags) / len(flags),
            "share_ci95": wilson(int(sum(flags)), len(flags)),
        }
        for name, flags in sorted(strategy_runs.items())
    ]
    return {
        "ideas": len(ideas),
        "runs": len(runs),
        "damaged_runs": damaged,
        "inverted_confidence": {
            "runs_checked": len(checks),
            "inverted": inverted,
            "share": inverted / len(checks) if checks else None,
            "share_ci95": wilson(inverted, len(checks)) if checks else None,
        },
        "losing_strategies": [s for s in strategies if float(s["share"]) > 0.5],
        "strategies": strategies,
        "settings_values": _value_table(ideas),
    }


def proposals(report: dict[str, Any], store: ExperimentStore) -> list[dict[str, Any]]:
    """New ideas from the settings-value pattern (one step past the best edge value)."""
    out = []
    families = {i["id"]: i["family"] for i in store.ideas()}
    for key, rows in report["settings_values"].items():
        numeric = [r for r in rows if isinstance(r["value"], int | float)]
        if len(numeric) < 2 or isinstance(numeric[0]["value"], bool):
            continue
        values = sorted(r["value"] for r in numeric)
        best = numeric[0]
        if best["value"] not in (values[0], values[-1]):
            continue
        i = values.index(best["value"])
        neighbour = values[1] if i == 0 else values[-2]
        step = best["value"] - neighbour
        value = best["value"] + step
        if isinstance(best["value"], int) and isinstance(neighbour, int):
            value = int(value)
        family = families[best["ideas"][0]]
        out.append(
            {
                "family": family,
                "title": f"{key}={value} (past the best tried value {best['value']})",
                "overrides": {key: value},
                "hypothesis": (
                    f"{key}={best['value']} gave the best mean per-trade P&L "
                    f"({best['mean_per_trade_pnl']:.2f} over {best['runs']} run(s), 95 % "
                    f"{best['ci95'] or 'n/a'}) and is the edge of the values tried; the optimum "
                    "may lie beyond it."
                ),
                "provenance": {
                    "pattern": "settings_value_at_edge",
                    "key": key,
                    "evidence": rows,
                    "from_ideas": sorted({x for r in numeric for x in r["ideas"]}),
                },
            }
        )
    return out


def run_meta(
    store: ExperimentStore, settings: Settings, runs_dir: Path, *, dry_run: bool = False
) -> dict[str, Any]:
    """Report the patterns and queue the proposals (unless ``dry_run``)."""
    report = patterns(store, runs_dir)
    queued = []
    for p in proposals(report, store):
        doc = store.family(p["family"])
        assert doc is not None
        if dry_run:
            queued.append({**p, "queued": False})
            continue
        try:
            out = submit_idea(
                store,
                settings,
                FamilyConfig.from_dict(doc),
                p["title"],
                p["overrides"],
                p["hypothesis"],
                "meta",
                p["provenance"],
            )
        except ConfigError as exc:  # one step too far leaves the key's domain: not an idea
            logger.info("meta proposal %s refused: %s", p["title"], exc)
            continue
        queued.append({**p, "queued": out["created"], "id": out["id"]})
    report["proposals"] = queued
    return report
