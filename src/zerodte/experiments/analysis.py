"""``ANALYSIS.md`` and ``SUMMARY.txt`` of an experiment run directory (and of any run).

An experiment directory holds ``trades.parquet``, ``summary.json`` and ``experiment.json``
(the idea, its stage, window and decision). The analysis adds to the run report of
:func:`zerodte.research.report.analysis_markdown` (win rate, P&L by exit reason, time,
weekday, signal strategy and confidence bucket) the experiment's verdict with its trial
count, DSR and PBO, a confidence calibration check, and specific recommendations. The
same files can be written for a plain backtest run directory (no verdict then).

Calibration check: trades split at the median confidence; a run is **inverted** when the
upper half wins less often than the lower half (each win rate with its Wilson 95 %
interval, at least 10 trades per half). Recommendations are rules of thumb stated with the
evidence behind them, never applied automatically.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zerodte.engine.rundir import read_run_json, read_run_parquet
from zerodte.errors import DataError
from zerodte.io import atomic_write_text
from zerodte.qscorer.power import wilson
from zerodte.research.report import CONFIDENCE_COLUMNS, analysis_markdown

logger = logging.getLogger(__name__)

EXPERIMENT_FILE = "experiment.json"
MIN_HALF = 10
MIN_GROUP_TRADES = 5


def calibration_check(trades: pd.DataFrame) -> dict[str, Any] | None:
    """Win rate above vs below the median confidence, or None without a confidence column."""
    for col in CONFIDENCE_COLUMNS:
        if col not in trades.columns:
            continue
        conf = pd.to_numeric(trades[col], errors="coerce")
        known = conf.notna().to_numpy()
        if known.sum() < 2 * MIN_HALF:
            continue
        c = conf.to_numpy(float)[known]
        wins = (trades["pnl"].to_numpy(float)[known] > 0).astype(int)
        order = np.argsort(c, kind="stable")
        low, high = order[: len(order) // 2], order[len(order) // 2 :]
        lo_k, hi_k = int(wins[low].sum()), int(wins[high].sum())
        return {
            "column": col,
            "trades": int(known.sum()),
            "low_win_rate": lo_k / len(low),
            "low_ci95": wilson(lo_k, len(low)),
            "high_win_rate": hi_k / len(high),
            "high_ci95": wilson(hi_k, len(high)),
            "inverted": bool(hi_k / len(high) < lo_k / len(low)),
        }
    return None


@dataclass(frozen=True)
class Group:
    """Trades and P&L of one group of trades."""

    trades: int
    pnl: float

    @property
    def per_trade(self) -> float:
        """Mean P&L per trade."""
        return self.pnl / self.trades


def _groups(trades: pd.DataFrame, column: str) -> dict[str, Group]:
    keys = trades[column].fillna("unknown").astype(str).to_numpy()
    pnl = trades["pnl"].to_numpy(float)
    out: dict[str, Group] = {}
    for key in sorted(set(keys)):
        mask = keys == key
        out[str(key)] = Group(int(mask.sum()), float(pnl[mask].sum()))
    return out


def losing_strategies(trades: pd.DataFrame) -> list[str]:
    """Signal strategies with at least 5 trades and a negative total P&L."""
    if trades.empty or "signal_strategy" not in trades.columns:
        return []
    groups = _groups(trades, "signal_strategy")
    return [k for k, g in groups.items() if g.trades >= MIN_GROUP_TRADES and g.pnl < 0]


def recommendations(
    trades: pd.DataFrame, summary: Mapping[str, Any], settings: Mapping[str, Any] | None = None
) -> list[str]:
    """Specific, evidence-stated suggestions for the next experiment."""
    out: list[str] = []
    n = len(trades)
    if n < 30:
        out.append(
            f"Only {n} trades: any figure here is noise-dominated; lengthen the window or "
            "loosen the entry before reading the tables."
        )
    if n == 0:
        return out
    for name in losing_strategies(trades):
        g = _groups(trades, "signal_strategy")[name]
        out.append(
            f"Signal strategy `{name}` lost {g.pnl:,.2f} over {g.trades} trades "
            f"({g.per_trade:,.2f} $/trade): block it (`entry.block_signal_strategies = "
            f'["{name}"]` where the controller supports it) and retest in the same family.'
        )
    reasons = _groups(trades, "exit_reason")
    losses = trades.loc[trades["pnl"] < 0]
    if not losses.empty and "stop_loss" in reasons:
        share = float((losses["exit_reason"] == "stop_loss").mean())
        if share > 0.5:
            stop = (settings or {}).get("exits.stop_loss_pct")
            now = f" (now {stop})" if stop is not None else ""
            out.append(
                f"{share:.0%} of losing trades end at the stop: test a wider "
                f"`exits.stop_loss_pct`{now}; the stop may sit inside the option's noise."
            )
    hold = reasons.get("max_hold")
    if hold is not None and hold.trades >= MIN_GROUP_TRADES and hold.per_trade > 0:
        out.append(
            f"Trades closed by `max_hold` made {hold.per_trade:,.2f} $/trade over "
            f"{hold.trades}: test a longer `exits.max_hold_minutes`."
        )
    cal = calibration_check(trades)
    if cal is not None and cal["inverted"]:
        out.append(
            f"Confidence is inverted ({cal['column']}: upper half wins "
            f"{cal['high_win_rate']:.0%}, lower half {cal['low_win_rate']:.0%}): do not gate "
            "on it (`gates.calibration_enabled = false`) until the model is retrained."
        )
    fees = summary.get("fees_paid")
    pnl = summary.get("pnl")
    if fees is not None and pnl is not None and pnl < 0 < fees and abs(pnl) < fees:
        out.append(
            f"Fees ({fees:,.2f}) exceed the loss ({pnl:,.2f}): the gross signal is positive; "
            "fewer, larger-edge entries may survive friction (raise the entry threshold)."
        )
    return out


def _verdict_lines(exp: Mapping[str, Any]) -> list[str]:
    decision = exp.get("decision") or {}
    lines = [
        f"- Family `{exp.get('family')}`, idea {exp.get('idea_id')} "
        f"({exp.get('title')!s}), stage **{exp.get('stage')}**",
        f"- Window: {exp.get('first_session')} .. {exp.get('last_session')} "
        f"({exp.get('n_sessions')} sessions); data {exp.get('data_source')}",
        f"- Overrides: `{json.dumps(exp.get('overrides', {}), sort_keys=True)}`",
    ]
    if exp.get("hypothesis"):
        lines.append(f"- Hypothesis: {exp['hypothesis']}")
    if decision:

        def f(x: Any) -> str:
            return "n/a" if x is None else f"{x:.3f}"

        lines += [
            f"- Decision: **{decision.get('decision')}** over **{decision.get('n_trials')}** "
            f"trial(s) of the family in this stage; DSR {f(decision.get('dsr'))} "
            f"(SR0 {f(decision.get('sr0'))}), PBO {f(decision.get('pbo'))}",
        ]
        for reason in decision.get("failures", []):
            lines.append(f"  - {reason}")
    else:
        lines.append("- Decision: not recorded yet (the trial was not finished in the store)")
    return lines


def analysis_text(
    trades: pd.DataFrame, summary: Mapping[str, Any], experiment: Mapping[str, Any] | None
) -> str:
    """Text of ``ANALYSIS.md``."""
    title = "Experiment analysis" if experiment else f"Run analysis {summary.get('run_id', '')}"
    body = analysis_markdown(trades, summary, title=title).splitlines()
    head = body[:2]
    out = [*head]
    if experiment:
        out += ["## Experiment", "", *_verdict_lines(experiment), ""]
    out += body[2:]
    cal = calibration_check(trades)
    out += ["## Confidence calibration", ""]
    if cal is None:
        out.append(
            f"No confidence column with at least {2 * MIN_HALF} known values "
            f"({', '.join(CONFIDENCE_COLUMNS)}): nothing to check."
        )
    else:
        out.append(
            f"`{cal['column']}` over {cal['trades']} trades: upper half wins "
            f"{cal['high_win_rate']:.1%} (95 % {_ci(cal['high_ci95'])}), lower half "
            f"{cal['low_win_rate']:.1%} (95 % {_ci(cal['low_ci95'])}): "
            + ("**inverted**." if cal["inverted"] else "ordered as expected.")
        )
    out += ["", "## Recommendations", ""]
    settings = (experiment or {}).get("settings") or {}
    recs = recommendations(trades, summary, settings)
    out += [f"- {r}" for r in recs] if recs else ["- None: no rule of thumb fired."]
    return "\n".join(out) + "\n"


def _ci(ci: Any) -> str:
    return "n/a" if not ci else f"[{ci[0]:.1%}, {ci[1]:.1%}]"


def summary_text(summary: Mapping[str, Any], experiment: Mapping[str, Any] | None) -> str:
    """Text of ``SUMMARY.txt``: one ``key: value`` per line."""
    exp = experiment or {}
    decision = exp.get("decision") or {}
    ci = summary.get("per_trade_pnl_ci95")
    rows = [
        ("title", exp.get("title", summary.get("run_id"))),
        ("family", exp.get("family")),
        ("stage", exp.get("stage")),
        ("status", decision.get("decision")),
        ("window", f"{exp.get('first_session')}..{exp.get('last_session')}" if exp else None),
        ("data_source", exp.get("data_source", summary.get("data_source"))),
        ("trades", summary.get("trades")),
        ("win_rate", summary.get("win_rate")),
        ("pnl", summary.get("pnl")),
        ("per_trade_pnl", summary.get("per_trade_pnl")),
        ("per_trade_pnl_ci95_session_block", None if not ci else f"[{ci[0]:.2f}, {ci[1]:.2f}]"),
        ("fees_paid", summary.get("fees_paid")),
        ("n_trials", decision.get("n_trials")),
        ("dsr", decision.get("dsr")),
        ("pbo", decision.get("pbo")),
    ]
    return "".join(f"{k}: {'n/a' if v is None else v}\n" for k, v in rows)


def read_run(run_dir: Path) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any] | None]:
    """Trades, summary and (when present) the experiment record of a run directory."""
    run_dir = Path(run_dir)
    trades_path, summary_path = run_dir / "trades.parquet", run_dir / "summary.json"
    for p in (trades_path, summary_path):
        if not p.exists():
            raise DataError(
                f"{run_dir} is not a run directory: {p.name} is missing (a run directory has "
                "trades.parquet and summary.json; see `zerodte runs list`)"
            )
    trades = read_run_parquet(trades_path)
    summary = read_run_json(summary_path)
    exp_path = run_dir / EXPERIMENT_FILE
    experiment = read_run_json(exp_path) if exp_path.exists() else None
    return trades, summary, experiment


def analyze_run(run_dir: Path, experiment: Mapping[str, Any] | None = None) -> list[Path]:
    """(Re)write ``ANALYSIS.md`` and ``SUMMARY.txt`` of ``run_dir``; returns their paths."""
    trades, summary, stored = read_run(run_dir)
    exp = dict(experiment) if experiment is not None else stored
    a = atomic_write_text(Path(run_dir) / "ANALYSIS.md", analysis_text(trades, summary, exp))
    s = atomic_write_text(Path(run_dir) / "SUMMARY.txt", summary_text(summary, exp))
    return [a, s]


@dataclass(frozen=True)
class Backfill:
    """What :func:`backfill` did: the run directories analysed, and the damaged ones it
    left as they were, each with the reason."""

    analysed: list[Path]
    damaged: dict[Path, str]


def backfill(root: Path, *, force: bool = False) -> Backfill:
    """Analyse every run directory under ``root`` that lacks ``SUMMARY.txt`` (all with force).

    A damaged run directory (a record or summary that cannot be read) does not stop the
    others: it is left unchanged, logged and returned in :attr:`Backfill.damaged`.
    """
    done: list[Path] = []
    damaged: dict[Path, str] = {}
    for summary in sorted(Path(root).rglob("summary.json")):
        run_dir = summary.parent
        if not (run_dir / "trades.parquet").exists():
            continue
        if not force and (run_dir / "SUMMARY.txt").exists():
            continue
        try:
            analyze_run(run_dir)
        except DataError as exc:
            logger.warning("not analysed: %s", exc)
            damaged[run_dir] = str(exc)
            continue
        done.append(run_dir)
    logger.info("analysed %d run directories under %s", len(done), root)
    return Backfill(done, damaged)
