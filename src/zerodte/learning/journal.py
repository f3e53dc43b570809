"""Per-run QThink journals: Parquet tables, the JSONL/JSON exports, the memory triggers.

Files written into the run directory (all atomically):

``qthink_outcomes.parquet`` / ``qthink_agents.parquet``
    the assessment's tables (:data:`~zerodte.learning.assess.OUTCOME_COLUMNS`,
    :data:`~zerodte.learning.assess.AGENT_COLUMNS`);
``sync_log.jsonl``
    one line per trade: the trade's key fields and its regret summary;
``mesh_logger.jsonl``
    one line per trade: every agent's score, aligned score, weight and polarity, the
    alignment and mesh confusion;
``mesh_confusion_log.jsonl``
    the trades with mesh confusion (alignment < 0.6), with their conflicting agents;
``journal/trade_clusters.json``
    the trades grouped by setup archetype (count, wins, win rate, mean P&L, mean regret);
``qthink_journal_summary.json``
    counts by label, archetype and time block, mean regrets, penalty points;
``memory_triggers.json``
    the memory-trigger report (:func:`memory_triggers`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from zerodte.engine.rundir import read_run_parquet
from zerodte.errors import DataError
from zerodte.io import atomic_write, atomic_write_json, atomic_write_text
from zerodte.learning.assess import Assessment
from zerodte.learning.regret import REGRET_KINDS
from zerodte.research.serialize import jsonable

OUTCOMES_FILE = "qthink_outcomes.parquet"
AGENTS_FILE = "qthink_agents.parquet"
SYNC_LOG = "sync_log.jsonl"
MESH_LOG = "mesh_logger.jsonl"
CONFUSION_LOG = "mesh_confusion_log.jsonl"
CLUSTERS = "journal/trade_clusters.json"
SUMMARY = "qthink_journal_summary.json"
TRIGGERS = "memory_triggers.json"
MIN_TRIGGER_TRADES = 5
STREAK = 3


def _clean(obj: Any) -> Any:
    """JSON-native values with every NaN (an unavailable value) as null."""
    if isinstance(obj, float | np.floating) and not math.isfinite(float(obj)):
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return jsonable(obj)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = _clean(frame.to_dict(orient="records"))
    return out


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(r, sort_keys=True, allow_nan=False) + "\n" for r in rows)
    atomic_write_text(path, text)


def _parquet_ready(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            kinds = {type(v) for v in out[col] if v is not None}
            if kinds and not kinds <= {str}:
                out[col] = out[col].map(lambda v: None if v is None else str(v))
    return out


def clusters(outcomes: pd.DataFrame) -> dict[str, Any]:
    """Trades grouped by archetype."""
    out: dict[str, Any] = {}
    for name, g in outcomes.groupby("archetype", sort=True):
        out[str(name)] = {
            "trades": len(g),
            "wins": int(g["win"].sum()),
            "win_rate": float(g["win"].mean()),
            "mean_pnl": float(g["pnl"].mean()),
            "mean_regret_sum": float(g["regret_sum"].mean()),
            "trade_ids": [int(t) for t in g["trade_id"]],
        }
    return out


def summary(a: Assessment) -> dict[str, Any]:
    """Counts and means of one run's assessment."""
    o = a.outcomes
    return _clean(
        {
            "trades": len(o),
            "wins": int(o["win"].sum()) if len(o) else 0,
            "labels": o["label"].value_counts().sort_index().to_dict(),
            "archetypes": o["archetype"].value_counts().sort_index().to_dict(),
            "time_blocks": o["time_block"].value_counts().sort_index().to_dict(),
            "mean_regrets": {k: float(o[k].mean()) for k in REGRET_KINDS} if len(o) else {},
            "regrets_available": {k: int(o[k].notna().sum()) for k in REGRET_KINDS},
            "penalty_points": float(o["penalty_points"].sum()) if len(o) else 0.0,
            "mesh_confusion": int(o["mesh_confusion"].sum()) if len(o) else 0,
        }
    )


def _longest_streak(values: np.ndarray) -> tuple[int, bool | None]:
    best, kind, run, prev = 0, None, 0, None
    for v in values:
        run = run + 1 if v == prev else 1
        prev = v
        if run > best:
            best, kind = run, bool(v)
    return best, kind


def memory_triggers(a: Assessment) -> dict[str, Any]:
    """What the loop should remember, each with the trade counts behind it.

    * ``archetypes``: an archetype with a streak of at least 3 wins or losses in a row, or
      at least 5 trades with a win rate of 70 % or more (``repeated_wins``) or 30 % or less
      (``repeated_losses``);
    * ``time_of_day``: the Spearman correlation of ``regret_sum`` with the decision's minute
      of the day (with its p-value and n), and each block's mean regret against the run's;
    * ``agents``: over the trades an agent supported (aligned score > 0), at least 5 of
      them: ``alpha`` when their mean P&L is positive with a win rate of 55 % or more,
      ``decay`` when their mean ``decay_regret`` is 0.5 or more or their win rate is 35 %
      or less with a negative mean P&L.
    """
    o = a.outcomes.sort_values("decision_time")
    arch: list[dict[str, Any]] = []
    for name, g in o.groupby("archetype", sort=True):
        streak, kind = _longest_streak(g["win"].to_numpy(bool))
        rate = float(g["win"].mean())
        tags = []
        if streak >= STREAK:
            tags.append("win_streak" if kind else "loss_streak")
        if len(g) >= MIN_TRIGGER_TRADES and rate >= 0.7:
            tags.append("repeated_wins")
        if len(g) >= MIN_TRIGGER_TRADES and rate <= 0.3:
            tags.append("repeated_losses")
        if tags:
            arch.append(
                {
                    "archetype": str(name),
                    "trades": len(g),
                    "win_rate": rate,
                    "longest_streak": streak,
                    "triggers": tags,
                }
            )
    tod: dict[str, Any] = {"n": len(o)}
    if len(o) >= MIN_TRIGGER_TRADES:
        t = pd.DatetimeIndex(pd.to_datetime(o["decision_time"])).tz_convert("America/New_York")
        minute = np.asarray(t.hour * 60 + t.minute, np.float64)
        rs = o["regret_sum"].to_numpy(np.float64)
        ok = np.isfinite(rs)
        if ok.sum() >= MIN_TRIGGER_TRADES and np.ptp(minute[ok]) > 0 and np.ptp(rs[ok]) > 0:
            res = spearmanr(minute[ok], rs[ok])
            tod.update({"spearman": float(res.statistic), "p_value": float(res.pvalue)})
        overall = float(np.nanmean(rs))
        tod["blocks"] = {
            str(b): {
                "trades": len(g),
                "mean_regret_sum": float(g["regret_sum"].mean()),
                "vs_run": float(g["regret_sum"].mean()) - overall,
            }
            for b, g in o.groupby("time_block", sort=True)
        }
    agents: list[dict[str, Any]] = []
    if len(a.agents):
        merged = a.agents.merge(o[["trade_id", "pnl", "win", "decay_regret"]], on="trade_id")
        support = merged[merged["involved"] & (merged["aligned_score"] > 0)]
        for name, g in support.groupby("agent", sort=True):
            if len(g) < MIN_TRIGGER_TRADES:
                continue
            mean_pnl, rate = float(g["pnl"].mean()), float(g["win"].mean())
            decay = float(g["decay_regret"].mean())
            lead = None
            if mean_pnl > 0 and rate >= 0.55:
                lead = "alpha"
            elif (math.isfinite(decay) and decay >= 0.5) or (rate <= 0.35 and mean_pnl < 0):
                lead = "decay"
            if lead:
                agents.append(
                    {
                        "agent": str(name),
                        "trades": len(g),
                        "mean_pnl": mean_pnl,
                        "win_rate": rate,
                        "mean_decay_regret": decay,
                        "leads_to": lead,
                    }
                )
    return _clean({"archetypes": arch, "time_of_day": tod, "agents": agents})


def _sync_rows(o: pd.DataFrame) -> list[dict[str, Any]]:
    keys = [
        "trade_id",
        "position_tag",
        "session",
        "right",
        "entry_time",
        "exit_time",
        "pnl",
        "label",
        "archetype",
        "time_block",
        "regret_sum",
        "penalty_points",
        *REGRET_KINDS,
    ]
    return _records(o.loc[:, keys])


def _mesh_rows(a: Assessment) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    by_trade = {int(cast(int, t)): g for t, g in a.agents.groupby("trade_id")}
    mesh, confusion = [], []
    for rec in _records(a.outcomes):
        g = by_trade.get(int(rec["trade_id"]))
        agents = _records(g.drop(columns=["trade_id"])) if g is not None else []
        row = {
            "trade_id": rec["trade_id"],
            "decision_time": rec["decision_time"],
            "direction": rec["direction"],
            "agent_alignment": rec["agent_alignment"],
            "mesh_confusion": rec["mesh_confusion"],
            "agents": agents,
        }
        mesh.append(row)
        if rec["mesh_confusion"]:
            conflicts = [x["agent"] for x in agents if x["conflict"]]
            confusion.append(
                {**row, "conflicting_agents": conflicts, "label": rec["label"], "pnl": rec["pnl"]}
            )
    return mesh, confusion


def write_journals(run_dir: Path, a: Assessment) -> dict[str, Path]:
    """Write every journal file of the module docstring; returns name -> path."""
    run_dir = Path(run_dir)
    paths = {
        "outcomes": run_dir / OUTCOMES_FILE,
        "agents": run_dir / AGENTS_FILE,
        "sync_log": run_dir / SYNC_LOG,
        "mesh_logger": run_dir / MESH_LOG,
        "mesh_confusion_log": run_dir / CONFUSION_LOG,
        "trade_clusters": run_dir / CLUSTERS,
        "summary": run_dir / SUMMARY,
        "memory_triggers": run_dir / TRIGGERS,
    }
    outcomes = _parquet_ready(a.outcomes)
    atomic_write(paths["outcomes"], lambda p: outcomes.to_parquet(p, index=False))
    atomic_write(paths["agents"], lambda p: a.agents.to_parquet(p, index=False))
    _write_jsonl(paths["sync_log"], _sync_rows(a.outcomes))
    mesh, confusion = _mesh_rows(a)
    _write_jsonl(paths["mesh_logger"], mesh)
    _write_jsonl(paths["mesh_confusion_log"], confusion)
    paths["trade_clusters"].parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(paths["trade_clusters"], _clean(clusters(a.outcomes)))
    atomic_write_json(paths["summary"], summary(a))
    atomic_write_json(paths["memory_triggers"], memory_triggers(a))
    return paths


def read_assessment(run_dir: Path) -> Assessment:
    """The assessment written by :func:`write_journals` (raises naming the missing file)."""
    run_dir = Path(run_dir)
    for name in (OUTCOMES_FILE, AGENTS_FILE):
        if not (run_dir / name).exists():
            raise DataError(
                f"{run_dir / name} is missing; run `zerodte learn regret --run {run_dir}` first"
            )
    return Assessment(
        read_run_parquet(run_dir / OUTCOMES_FILE), read_run_parquet(run_dir / AGENTS_FILE)
    )
