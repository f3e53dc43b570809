"""``compare_controllers``: every controller on the same window, exits and friction.

Each controller runs through :func:`zerodte.engine.backtest.run_backtest` on the same
market data with the same settings except ``entry.controller`` (applied with
:func:`zerodte.config.with_overrides`). Reported per controller: trades, fees, $/trade with
the research core's interval (``summary["per_trade_pnl_ci95"]``), the per-trade difference
against a named reference with the paired session bootstrap of
:func:`zerodte.qscorer.compare.per_trade_diff`, and, where it applies, the off-policy value
of the controller's own decisions on a stochastic logging run
(:func:`zerodte.qscorer.evaluate.off_policy_value`; IPS and SNIPS, the direct model is 0).

OPE rows: the logging run's cycles where it was flat and its action was not vetoed by a
gate (a vetoed logged action says nothing about what the action would have earned), with
the gates' verdict on a call and a put at every such cycle (the logging run repeated with
the engine's gate probe); the
reward of an executed entry is its trade's net P&L per contract, HOLD earns 0. A target that
straddles is outside a three-action logging policy's support and gets no estimate.

``n_compared`` (the number of controllers) is part of every result: the best of ``k``
controllers is a selection and its interval must be read with ``k`` in mind. So the
``significant`` and ``diff_significant`` verdicts are family-wise: Bonferroni over the ``k``
controllers (alone) and the ``k - 1`` differences against the reference, from intervals at
level ``1 - 0.05 / m`` (``per_trade_pnl_ci_familywise``, ``diff_vs_reference_ci_familywise``)
beside the unadjusted 95 % intervals. The chance that any of ``m`` null comparisons looks
significant is then at most 5 %, not ``1 - 0.95^m``. A claim made over several windows at
once (``windows``: "on these ``w`` markets no controller is significant") is one family of
``w`` times as many comparisons, and each window's intervals are then at level
``1 - 0.05 / (w m)``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zerodte.config import Settings, with_overrides
from zerodte.engine.backtest import BacktestResult, run_backtest
from zerodte.market.loading import MarketData
from zerodte.policy.controllers import build_controller
from zerodte.qscorer.compare import per_trade_diff
from zerodte.research.stats import FAMILY_ALPHA, excludes_zero, per_trade_ci95

logger = logging.getLogger(__name__)


@dataclass
class ControllerComparison:
    """The runs and their table."""

    results: dict[str, BacktestResult]
    reference: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    logging_controller: str | None = None
    window: tuple[str, str] = ("", "")
    data_source: str = ""
    family_windows: int = 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready result."""
        return {
            "window": list(self.window),
            "data_source": self.data_source,
            "reference": self.reference,
            "n_compared": len(self.results),
            "familywise_alpha": FAMILY_ALPHA,
            "family_windows": self.family_windows,
            "logging_controller": self.logging_controller,
            "table": self.rows,
        }


def _stochastic(decisions: pd.DataFrame) -> bool:
    probs = decisions[["prob_hold", "prob_call", "prob_put"]].to_numpy(float)
    return bool(((probs > 0) & (probs < 1)).any())


def logged_rows(result: BacktestResult) -> pd.DataFrame:
    """The OPE rows of a logging run (module docstring)."""
    d = result.decisions
    keep = d["flat"].to_numpy(bool) & (d["vetoes"].astype(str).to_numpy() == "")
    cols = ["timestamp", "session", "action", "prob_hold", "prob_call", "prob_put"]
    rows = d.loc[keep, [*cols, "gate_call", "gate_put"]]
    rows = rows.copy()
    rows["reward"] = 0.0
    t = result.trades
    if len(t):
        key = "position_tag" if "position_tag" in t.columns else "tag"
        g = t.groupby(key, sort=False)
        per = (g["pnl"].sum() / g["qty"].sum()).to_numpy(float)
        entries = pd.to_datetime(g["entry_time"].first()).to_numpy()
        by_entry = dict(zip(entries, per, strict=True))
        fill = (pd.to_datetime(rows["timestamp"]) + pd.Timedelta(minutes=1)).to_numpy()
        entered = rows["action"].to_numpy() != 0
        rewards = np.array([by_entry.get(f, np.nan) for f in fill])
        rows.loc[entered, "reward"] = rewards[entered]
    return rows


def _feature_set(settings: Settings, name: str) -> str:
    """The Q-scorer decides on its own state features (``qscorer.feature_set``); every other
    controller reads the default set."""
    return settings.qscorer.feature_set if name == "q_scorer" else "default"


def compare_controllers(
    settings: Settings,
    md: MarketData,
    controllers: list[str],
    *,
    reference: str = "momentum",
    n_boot: int = 2000,
    code_version: str = "unknown",
    out_dir: Path | None = None,
    windows: int = 1,
) -> ControllerComparison:
    """Run every controller in ``controllers`` (and the reference) and compare them;
    ``windows`` is the number of windows in the family of the verdicts (module docstring)."""
    if windows < 1:
        raise ValueError(f"windows={windows}: a family holds at least this window")
    from zerodte.qscorer.evaluate import off_policy_value

    names = list(dict.fromkeys([reference, *controllers]))
    results: dict[str, BacktestResult] = {}
    wall: dict[str, float] = {}
    for name in names:
        cs = with_overrides(settings, {"entry.controller": name})
        ctrl = build_controller(cs)
        logger.info("compare: running %s", name)
        started = time.perf_counter()
        results[name] = run_backtest(
            cs,
            md,
            controller=ctrl,
            write=False,
            record=False,
            n_boot=n_boot,
            code_version=code_version,
            feature_set=_feature_set(cs, name),
        )
        wall[name] = time.perf_counter() - started
    sessions = sorted(pd.unique(md.frame["session"]))
    logging_name = next((n for n in names if _stochastic(results[n].decisions)), None)
    logged = None
    if logging_name is not None:
        # OPE needs the gates' verdict on every logged cycle, not only where the logging
        # run tried to enter: the logging run once more with the gate probe on (the same
        # decisions and trades; only gate_call/gate_put are filled in every cycle).
        cs = with_overrides(settings, {"entry.controller": logging_name})
        probed = run_backtest(
            cs,
            md,
            controller=build_controller(cs),
            write=False,
            record=False,
            n_boot=50,
            code_version=code_version,
            probe_gates=True,
        )
        logged = logged_rows(probed)
    ref = results[reference]
    alpha_alone = FAMILY_ALPHA / (len(results) * windows)
    alpha_diff = FAMILY_ALPHA / (max(1, len(results) - 1) * windows)
    rows = []
    for name, r in results.items():
        s = r.summary
        diff, ci, ci_fw = (None, None, None)
        if name != reference:
            diff, ci = per_trade_diff(r.trades, ref.trades, sessions, n_boot=n_boot, seed=0)
            _, ci_fw = per_trade_diff(
                r.trades, ref.trades, sessions, n_boot=n_boot, seed=0, alpha=alpha_diff
            )
        alone_fw = per_trade_ci95(r.trades, sessions, n_boot=n_boot, seed=0, alpha=alpha_alone)
        row: dict[str, Any] = {
            "controller": name,
            "trades": s["trades"],
            "fees_paid": s["fees_paid"],
            "pnl": s["pnl"],
            "per_trade_pnl": s["per_trade_pnl"],
            "per_trade_pnl_ci95": s["per_trade_pnl_ci95"],
            "per_trade_pnl_ci_familywise": None if alone_fw is None else list(alone_fw),
            "significant": bool(alone_fw is not None and alone_fw[0] > 0),
            "diff_vs_reference": diff,
            "diff_vs_reference_ci95": ci,
            "diff_vs_reference_ci_familywise": ci_fw,
            "diff_significant": excludes_zero(ci_fw),
            "ope_ips": None,
            "ope_snips": None,
            "ope_snips_ci95": None,
            "wall_s": wall[name],
        }
        if logged is not None and len(logged):
            target = r.decisions.set_index("timestamp")["action"].reindex(logged["timestamp"])
            if target.notna().all() and int(target.max()) <= 2:
                ope = off_policy_value(
                    logged.reset_index(drop=True),
                    target.to_numpy(np.int64),
                    np.zeros((len(logged), 3)),
                    n_boot=min(n_boot, 1000),
                )
                row.update(
                    ope_ips=ope["ips"], ope_snips=ope["snips"], ope_snips_ci95=ope["snips_ci95"]
                )
        rows.append(row)
    cmp = ControllerComparison(
        results,
        reference,
        rows,
        logging_name,
        (str(sessions[0]), str(sessions[-1])),
        getattr(md, "source", "unknown"),
        windows,
    )
    if out_dir is not None:
        plot_equity_curves(cmp, Path(out_dir) / "compare_equity.png", settings.broker.initial_cash)
    return cmp


def verdicts(row: dict[str, Any]) -> list[str]:
    """A table row's family-wise verdicts: ``positive`` (alone), ``better`` / ``worse``
    (against the reference); empty when none holds."""
    out = ["positive"] if row["significant"] else []
    ci = row.get("diff_vs_reference_ci_familywise")
    if row["diff_significant"] and ci is not None:
        out.append("better" if ci[0] > 0 else "worse")
    return out


def plot_equity_curves(cmp: ControllerComparison, path: Path, start_equity: float) -> Path:
    """One equity curve per controller on one chart (deterministic PNG)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from zerodte.io import atomic_write

    fig = Figure(figsize=(10, 5))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for name, r in cmp.results.items():
        eq = r.equity.sort_values("timestamp", kind="stable")["equity"].to_numpy(float)
        ax.plot(np.arange(len(eq)), eq, lw=1.0, label=f"{name} ({r.summary['trades']} trades)")
    ax.axhline(start_equity, color="grey", lw=0.6, ls="--")
    ax.set_xlabel("cycle")
    ax.set_ylabel("equity ($)")
    ax.set_title(f"{len(cmp.results)} controllers, {cmp.window[0]} to {cmp.window[1]}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=100, metadata={"Software": None}))
    return path
