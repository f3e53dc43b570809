"""The one-command Q-scorer pipeline (``zerodte q pipeline``).

Windows on the chosen market data (sessions in time order)::

    [ dataset window: ~cycles minutes ][ out-of-sample window: every later session ]
      logged by the exploratory policy     baseline vs Q-scorer, same data and exits
      -> ghosts -> dataset -> training
         (walk-forward split + embargo inside)

The dataset window defaults to the first half of the sessions (:func:`default_cycles`).
The out-of-sample window starts at the session after the dataset window: the overnight
gap (more than 17 hours) exceeds any label horizon, so the embargo holds by construction
(and is asserted). Labels and the comparison's exits should describe the same trade;
:func:`label_exit_mismatch` says when they do not (the ``q_scorer`` preset makes them
agree).

Steps: log the dataset in paper mode with the ``random`` controller (exact propensities),
write ``missed.parquet``, build the dataset, train, evaluate on the validation window,
compare out of sample, optionally deploy (atomic copy into ``qscorer.model_dir``), write
``REPORT.md`` with plots and ``pipeline.json``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zerodte.config import with_overrides
from zerodte.config.root import Settings
from zerodte.engine.backtest import BacktestResult, run_backtest
from zerodte.errors import ConfigError, DataError
from zerodte.features import compute_features, get_feature_set
from zerodte.io import atomic_write_json, atomic_write_text
from zerodte.market.loading import MarketData
from zerodte.qscorer.artifacts import LoadedModel, deploy_pair, load_model, save_model
from zerodte.qscorer.compare import Comparison, compare, slice_market
from zerodte.qscorer.controller import (
    QScorerController,
    check_predictor,
)
from zerodte.qscorer.dataset import QDataset, build_dataset
from zerodte.qscorer.evaluate import evaluate_q_scorer
from zerodte.qscorer.ghost_geometry import guard_minutes, session_closes
from zerodte.qscorer.ghosts import GhostTradeEvaluator
from zerodte.qscorer.missed import write_missed
from zerodte.qscorer.train import TrainResult, train_q_scorer
from zerodte.research.serialize import format_figure as _fmt

logger = logging.getLogger(__name__)

LOGGING_CONTROLLER = "random"


def require_paper(settings: Settings) -> None:
    """Refuse to generate data or evaluate in live mode."""
    if settings.broker.mode == "live" or not settings.broker.paper_trading:
        raise ConfigError(
            "the Q-scorer pipeline only runs in paper mode (broker.mode='paper', "
            f"paper_trading=true); got mode={settings.broker.mode!r}. Switch to paper to "
            "generate counterfactual data"
        )


def with_controller(settings: Settings, name: str) -> Settings:
    """``settings`` with ``entry.controller = name``."""
    return with_overrides(settings, {"entry.controller": name})


def with_horizon(settings: Settings, horizon: int) -> Settings:
    """``settings`` with the label horizon ``horizon`` (added to the ghost horizons)."""
    hs = tuple(sorted({*settings.qscorer.horizons, int(horizon)}))
    changes = {"qscorer.horizon_minutes": int(horizon), "qscorer.horizons": hs}
    return with_overrides(settings, changes, source="--horizon")


def default_cycles(md: MarketData) -> int:
    """Dataset size when none is given: the minutes of the first half of the sessions."""
    per_day = md.frame.groupby("session").size()
    first_half = list(md.sessions)[: max(len(md.sessions) // 2, 1)]
    return int(per_day.reindex(first_half).fillna(0).sum())


def label_exit_mismatch(settings: Settings, horizon: int) -> str | None:
    """Why the labels and the comparison's exits disagree, or ``None`` when they agree.

    A label at horizon ``H`` is a trade held to ``t + H`` (or closed earlier by the exit
    rules with ``qscorer.apply_exit_rules``). Trades in the comparison are closed by
    ``exits``; the two agree when the exit rules run along the ghost paths and the
    max-hold sale fills at ``t + H`` (``max_hold_minutes + latency = H``).
    """
    from zerodte.broker.fills import build_execution_model
    from zerodte.qscorer.ghost_fills import latency_bars

    lat = latency_bars(build_execution_model(settings.costs, tick=settings.options.tick))
    problems = []
    if not settings.qscorer.apply_exit_rules:
        problems.append("qscorer.apply_exit_rules is false (fixed-horizon labels)")
    last_sale = settings.exits.max_hold_minutes + lat
    if last_sale != horizon:
        problems.append(
            f"exits.max_hold_minutes = {settings.exits.max_hold_minutes:g} sells at t + "
            f"{last_sale:g} min, not at the label horizon t + {horizon}"
        )
    if not problems:
        return None
    return (
        "; ".join(problems) + ": the model learns rewards of trades other than those the "
        f"comparison makes (the q_scorer preset sets max_hold_minutes = {horizon - lat} and "
        "apply_exit_rules = true)"
    )


def split_sessions(md: MarketData, cycles: int) -> tuple[list[Any], list[Any]]:
    """Dataset sessions (enough for ``cycles`` decision minutes) and the later sessions."""
    sessions = list(md.sessions)
    per_day = md.frame.groupby("session").size()
    total = 0
    n = 0
    for s in sessions:
        total += int(per_day.get(s, 0))
        n += 1
        if total >= cycles:
            break
    n = max(n, 2)
    if len(sessions) - n < 2:
        raise DataError(
            f"the data has {len(sessions)} session(s): a {cycles}-cycle dataset takes the "
            f"first {n} (at least 2) and the out-of-sample comparison needs 2 more after "
            f"them; use more --days (at least {n + 2}) or fewer --cycles"
        )
    return sessions[:n], sessions[n:]


@dataclass
class DatasetRun:
    """A logged run turned into a Q-scorer dataset."""

    run: BacktestResult
    missed: pd.DataFrame
    dataset: QDataset


def generate_dataset(
    settings: Settings,
    md: MarketData,
    run_dir: Path | None,
    *,
    logging_controller: str = LOGGING_CONTROLLER,
    code_version: str = "unknown",
) -> DatasetRun:
    """Log ``md`` with the exploratory controller, compute ghosts and build the dataset."""
    require_paper(settings)
    q = settings.qscorer
    get_feature_set(q.feature_set)
    log_settings = with_controller(settings, logging_controller)
    run = run_backtest(
        log_settings,
        md,
        run_dir=run_dir,
        write=run_dir is not None,
        record=False,
        feature_set=q.feature_set,
        n_boot=200,
        code_version=code_version,
        probe_gates=True,
    )
    ev = GhostTradeEvaluator.for_market(settings, md)
    missed = ev.missed_records(md.frame, run.decisions)
    if run_dir is not None:
        write_missed(run_dir, missed)
    dataset = dataset_from_records(settings, md, run.decisions, missed, run.trades)
    return DatasetRun(run, missed, dataset)


def dataset_from_records(  # noqa: PLR0917
    settings: Settings,
    md: MarketData,
    decisions: pd.DataFrame,
    missed: pd.DataFrame,
    trades: pd.DataFrame,
    horizon: int | None = None,
) -> QDataset:
    """Join a run's records with the state features of ``qscorer.feature_set``."""
    q = settings.qscorer
    fs = get_feature_set(q.feature_set)
    feats = compute_features(md.frame, fs)
    closes = session_closes(list(pd.unique(md.frame["session"])))
    close_ns = np.array([closes[d].value for d in md.frame["session"]], dtype=np.int64)
    mtc = pd.Series((close_ns - pd.DatetimeIndex(md.frame.index).asi8) / 60e9, index=md.frame.index)
    guard = guard_minutes(settings)
    predictor, manifest = predictor_state(settings, md.frame)
    ds = build_dataset(
        decisions,
        missed,
        trades,
        feats,
        feature_columns=list(feats.columns),
        schema_hash=fs.schema_hash,
        horizon=int(q.horizon_minutes if horizon is None else horizon),
        guard_minutes=guard,
        minutes_to_close=mtc,
        predictor=predictor,
        data_hash=md.data_hash,
    )
    if manifest is not None and predictor is not None:
        ds.extra["predictor"] = {**manifest, "columns": list(predictor.columns)}
    return ds


def predictor_state(
    settings: Settings, frame: pd.DataFrame
) -> tuple[pd.DataFrame | None, dict[str, Any] | None]:
    """The predictor columns of the Q state (``qscorer.predictor_outputs/_embedding``).

    Computed by the same :func:`~zerodte.engine.backtest.predictor_context` the engine
    uses to decide, so the dataset and the decisions see identical values; each row from
    the bundle segment valid at its time, from data up to the row only.

    Raises
    ------
    ConfigError
        Predictor columns are asked for without ``models.predictor_bundle``.
    """
    from zerodte.engine.backtest import predictor_context
    from zerodte.models import CONTEXT_COLUMNS

    q = settings.qscorer
    if not (q.predictor_outputs or q.predictor_embedding):
        return None, None
    if settings.models.predictor_bundle is None:
        raise ConfigError(
            "qscorer.predictor_outputs / predictor_embedding need models.predictor_bundle: "
            "train a Gaussian predictor on sessions before the Q dataset window "
            "(`zerodte train predictor --end DAY`) and set models.predictor_bundle to it"
        )
    ctx = predictor_context(settings, frame)
    assert ctx is not None
    cols = [*(CONTEXT_COLUMNS if q.predictor_outputs else ())]
    if q.predictor_embedding:
        cols += [c for c in ctx.values.columns if str(c).startswith("emb_")]
    return ctx.values.loc[:, cols], ctx.manifest


def training_metadata(
    settings: Settings, res: TrainResult, ds: QDataset, code_version: str
) -> dict[str, Any]:
    """Metadata saved next to the model."""
    return {
        "feature_set": settings.qscorer.feature_set,
        "predictor": ds.extra.get("predictor"),
        "windows": res.split.to_dict(),
        "metrics": res.metrics,
        "data_hash": ds.data_hash,
        "dataset": ds.report.to_dict(),
        "config": res.config,
        "code_version_full": code_version,
    }


def deploy(model_dir: Path, target: Path) -> Path:
    """Copy a verified pair into ``target``; the pair it replaces stays loadable until the
    new one is complete (:func:`~zerodte.qscorer.artifacts.deploy_pair`)."""
    return deploy_pair(model_dir, target)


def pipeline_id(settings: Settings, md: MarketData, horizon: int, cycles: int) -> str:
    """Deterministic id of a pipeline run (config, data, horizon, cycles)."""
    key = f"{settings.model_dump_json()}|{md.data_hash}|{horizon}|{cycles}"
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def run_pipeline(
    settings: Settings,
    md: MarketData,
    *,
    horizon: int | None = None,
    cycles: int | None = None,
    deploy_model: bool = False,
    baseline: str = "momentum",
    out_dir: Path | None = None,
    code_version: str = "unknown",
    n_boot: int = 2000,
    record: bool = False,
) -> dict[str, Any]:
    """Dataset -> training -> evaluation -> comparison -> optional deploy; returns the summary.

    With ``record`` the out-of-sample runs of the baseline and the Q-scorer go to the run
    store, the Q-scorer's with the validation window's off-policy values (``ope``).

    ``cycles`` (decision minutes of the dataset window) defaults to :func:`default_cycles`,
    the first half of the sessions; every later session is out of sample.
    """
    require_paper(settings)
    with_overrides(settings, {"entry.controller": baseline}, "--baseline")  # refused up front
    h = int(horizon if horizon is not None else settings.qscorer.horizon_minutes)
    settings = with_horizon(settings, h)
    cycles = int(cycles) if cycles is not None else default_cycles(md)
    mismatch = label_exit_mismatch(settings, h)
    if mismatch is not None:
        logger.warning("labels and exits disagree: %s", mismatch)
    ds_sessions, oos_sessions = split_sessions(md, cycles)
    pid = pipeline_id(settings, md, h, cycles)
    root = Path(out_dir) if out_dir is not None else settings.engine.runs_dir / "q_pipeline" / pid
    md_ds = slice_market(md, ds_sessions)
    md_oos = slice_market(md, oos_sessions)
    # The embargo between the last label of the dataset and the first OOS decision.
    last_label = pd.DatetimeIndex(md_ds.frame.index).max() + pd.Timedelta(minutes=h)
    first_oos = pd.DatetimeIndex(md_oos.frame.index).min()
    assert last_label < first_oos, "dataset labels overlap the out-of-sample window"

    dsr = generate_dataset(settings, md_ds, root / "dataset", code_version=code_version)
    ds = dsr.dataset
    res = train_q_scorer(ds, settings.qscorer, h)
    model_dir = root / "model"
    save_model(model_dir, res.model, training_metadata(settings, res, ds, code_version))
    loaded = load_model(model_dir)
    check_predictor(loaded, settings)
    ctrl = QScorerController.for_model(loaded, settings)
    val_start = res.split.validation_start
    val_idx = np.flatnonzero(ds.frame["timestamp"] >= val_start)
    # the validation window is out of sample only for the model fitted without it
    report_ctrl = QScorerController.for_model(
        LoadedModel(res.evaluation_model, loaded.metadata, loaded.sha256), settings
    )
    evaluation = evaluate_q_scorer(ds, report_ctrl, rows=val_idx, n_boot=min(n_boot, 1000))
    evaluation["model"] = "fitted without the validation window" + (
        " (the deployed model is refitted on every row)" if res.report_model is not None else ""
    )
    evaluation["validation_rows"] = len(val_idx)
    cmp = compare(
        settings,
        md_oos,
        ctrl,
        baseline=baseline,
        out_dir=root / "compare",
        n_boot=n_boot,
        code_version=code_version,
        record=record,
        q_summary={
            "ope": {
                **ope_values(evaluation),
                "window": f"validation rows of the Q dataset from {val_start}",
                "model": evaluation["model"],
            },
            "q_pipeline_dir": str(root),
        },
    )
    deployed = None
    if deploy_model:
        deployed = str(deploy(model_dir, settings.qscorer.model_dir))
    summary = _summary(settings, cmp, evaluation, res, ds, root, model_dir, deployed, h, cycles)
    summary["label_exit_mismatch"] = mismatch
    summary["dataset_run"] = {"run_dir": str(dsr.run.run_dir), "summary": dsr.run.summary}
    atomic_write_json(root / "pipeline.json", summary)
    atomic_write_text(root / "REPORT.md", render_report(summary, root))
    _plots(root, cmp, evaluation)
    return summary


OPE_KEYS = (
    "ips",
    "ips_ci95",
    "snips",
    "snips_ci95",
    "dr",
    "dr_ci95",
    "n",
    "unit",
    "effective_sample_size",
    "logged_value",
)


def ope_values(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The off-policy values of the evaluation, for the summary and the Q-scorer's run."""
    ope = evaluation["ope"]
    return {k: ope[k] for k in OPE_KEYS}


def _summary(  # noqa: PLR0917 (private report assembly)
    settings: Settings,
    cmp: Comparison,
    evaluation: dict[str, Any],
    res: TrainResult,
    ds: QDataset,
    root: Path,
    model_dir: Path,
    deployed: str | None,
    horizon: int,
    cycles: int,
) -> dict[str, Any]:
    return {
        "pipeline_dir": str(root),
        "horizon": horizon,
        "cycles": cycles,
        "feature_set": settings.qscorer.feature_set,
        "apply_exit_rules": settings.qscorer.apply_exit_rules,
        "exits": settings.exits.model_dump(mode="json"),
        "dataset_sessions": len(ds.frame["session"].unique()),
        "baseline_controller": cmp.baseline.manifest.get("controller"),
        "baseline": cmp.baseline.summary,
        "q_scorer": cmp.q_scorer.summary,
        "table": cmp.table(),
        "oos_window": [str(cmp.sessions[0]), str(cmp.sessions[-1])],
        "oos_sessions": len(cmp.sessions),
        "diff_per_trade_pnl": cmp.diff_per_trade_pnl,
        "diff_per_trade_pnl_ci95": cmp.diff_per_trade_pnl_ci95,
        "diff_daily_pnl": cmp.diff_daily_pnl,
        "diff_daily_pnl_ci95": cmp.diff_daily_pnl_ci95,
        "significant": cmp.significant,
        "ope": ope_values(evaluation),
        "evaluation": evaluation,
        "dataset": ds.report.to_dict(),
        "training": {"windows": res.split.to_dict(), "metrics": res.metrics},
        "run_dirs": {
            "dataset": str(root / "dataset"),
            "baseline": str(cmp.baseline.run_dir),
            "q_scorer": str(cmp.q_scorer.run_dir),
        },
        "model_dir": str(model_dir),
        "deployed_to": deployed,
        "thresholds": {
            "q_threshold": settings.entry.q_threshold,
            "q_min_conf": settings.entry.q_min_conf,
            "q_min_abs_ret": settings.entry.q_min_abs_ret,
        },
    }


def _exit_line(s: dict[str, Any]) -> str:
    x = s["exits"]
    trail = (
        f"trailing {x['trailing_activation_pct']:g}/{x['trailing_stop_pct']:g} points"
        if x["use_trailing_stop"]
        else "no trailing stop"
    )
    line = (
        f"Exits: stop {x['stop_loss_pct']:g} %, take profit {x['take_profit_pct']:g} %, {trail}, "
        f"max hold {x['max_hold_minutes']:g} min; labels "
        f"{'run these exit rules' if s['apply_exit_rules'] else 'are fixed-horizon'}."
    )
    if s.get("label_exit_mismatch"):
        line += f" **Labels and exits disagree:** {s['label_exit_mismatch']}."
    return line


def render_report(s: dict[str, Any], root: Path) -> str:
    """The pipeline report as Markdown."""
    lines = [
        f"# Q-scorer pipeline (horizon {s['horizon']} min)",
        "",
        f"Out-of-sample window {s['oos_window'][0]} to {s['oos_window'][1]} "
        f"({s['oos_sessions']} sessions), same data, exits and friction for both controllers.",
        "",
        _exit_line(s),
        "",
        "| controller | trades | win rate | P&L | per-trade P&L | 95% CI | max DD | P&L/DD "
        "| Sharpe |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in s["table"]:
        lines.append(
            f"| {row['controller']} | {_fmt(row['trades'])} | {_fmt(row['win_rate'])} | "
            f"{_fmt(row['pnl'])} | {_fmt(row['per_trade_pnl'])} | "
            f"{_fmt(row['per_trade_pnl_ci95'])} | {_fmt(row['max_drawdown'])} | "
            f"{_fmt(row['pnl_to_dd'])} | {_fmt(row['sharpe'])} |"
        )
    ope = s["ope"]
    lines += [
        "",
        f"Per-trade P&L difference (Q-scorer - baseline): {_fmt(s['diff_per_trade_pnl'])}, "
        f"paired 95% CI {_fmt(s['diff_per_trade_pnl_ci95'])} -> "
        f"**{'significant' if s['significant'] else 'not significant'}**.",
        f"Daily P&L difference: {_fmt(s['diff_daily_pnl'])}, CI {_fmt(s['diff_daily_pnl_ci95'])}.",
        "",
        "## Off-policy estimates on the validation window (dollars per cycle)",
        "",
        f"IPS {_fmt(ope['ips'])} {_fmt(ope['ips_ci95'])}; SNIPS {_fmt(ope['snips'])} "
        f"{_fmt(ope['snips_ci95'])}; DR {_fmt(ope['dr'])} {_fmt(ope['dr_ci95'])}; logged "
        f"policy {_fmt(ope['logged_value'])}; effective sample size "
        f"{_fmt(ope['effective_sample_size'])}.",
        "",
        "## Dataset",
        "",
    ]
    d = s["dataset"]
    lines.append(
        f"{d['decisions']} decisions, {d['matched']} matched ({d['from_ghosts']} ghost labels, "
        f"{d['from_trades']} realised trades)."
    )
    lines += [f"- unmatched: {g['reason']}: {g['rows']} rows" for g in d["unmatched"]]
    ev = s["evaluation"]
    anti = ev["anti_selection"]
    acted = ev["anti_selection_acted"]
    lines += [
        "",
        "## Evaluation (validation window)",
        "",
        f"Trade rate {_fmt(ev['trade_rate'])}; missed positive-EV cycles "
        f"{ev['missed_positive_ev']['count']}; anti-selection Spearman {_fmt(anti['spearman'])} "
        f"CI {_fmt(anti['ci95'])}{' **FLAGGED**' if anti['flag'] else ''} over every "
        f"labelled row, {_fmt(acted['spearman'])} CI {_fmt(acted['ci95'])}"
        f"{' **FLAGGED**' if acted['flag'] else ''} over the rows it acted on (sessions "
        "resampled).",
        "",
        "![equity](equity.png) ![reliability](reliability.png)",
        "",
        f"Model: `{s['model_dir']}`; deployed to: `{s['deployed_to'] or 'not deployed'}`.",
    ]
    return "\n".join(lines) + "\n"


def _plots(root: Path, cmp: Comparison, evaluation: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    for name, r in (("baseline", cmp.baseline), ("q_scorer", cmp.q_scorer)):
        if not r.equity.empty:
            ax.plot(pd.to_datetime(r.equity["timestamp"]), r.equity["equity"], label=name)
    ax.set_title("Out-of-sample equity")
    ax.legend()
    fig.tight_layout()
    fig.savefig(root / "equity.png", dpi=90)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(5, 4))
    for head in ("call", "put"):
        rel = evaluation[head]["reliability"]
        if rel:
            ax.plot(
                [r["mean_predicted"] for r in rel],
                [r["mean_realised"] for r in rel],
                "o-",
                label=head,
            )
    ax.axline((0, 0), slope=1, color="grey", lw=0.8)
    ax.set_xlabel("predicted Q ($/contract)")
    ax.set_ylabel("realised ($/contract)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(root / "reliability.png", dpi=90)
    plt.close(fig)
