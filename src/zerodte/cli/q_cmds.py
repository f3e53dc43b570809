"""``zerodte q``: counterfactual ghosts, Q-scorer training, evaluation, comparison, tuning."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from zerodte.cli.context import current_settings
from zerodte.cli.market_opts import (
    Config,
    DataDirOpt,
    Days,
    Edge,
    End,
    Json,
    Preset,
    Seed,
    SkipMissingDays,
    Start,
    VixProxy,
    load_market_options,
)
from zerodte.cli.output import format_figure as _fmt
from zerodte.cli.output import print_json
from zerodte.cli.paths import OutDir
from zerodte.config import Settings
from zerodte.errors import DataError

app = typer.Typer(
    no_args_is_help=True,
    help="Q-scorer: ghost rewards, offline Q-regression, evaluation and the pipeline.",
)

Horizon = Annotated[
    int | None, typer.Option("--horizon", min=1, help="Label horizon H in minutes (>= 1).")
]
Cycles = Annotated[
    int | None,
    typer.Option(
        "--cycles",
        min=1,
        help="Decision cycles (minutes) logged for the dataset (default: the first half of "
        "the sessions; the rest is out of sample).",
    ),
]
ModelDir = Annotated[
    Path | None,
    typer.Option("--model-dir", help="Model directory (else qscorer.model_dir / MODEL_RUN_DIR)."),
]
Baseline = Annotated[str, typer.Option("--baseline", help="Baseline entry controller.")]


def _code_version() -> str:
    from zerodte.engine.rundir import code_version

    return code_version()


def _dump(obj: Any) -> None:
    print_json(obj)


def _model_dir(settings: Settings, model_dir: Path | None) -> Path:
    return Path(model_dir) if model_dir is not None else Path(settings.qscorer.model_dir)


def _settings_h(ctx: typer.Context, horizon: int | None) -> Settings:
    from zerodte.qscorer.pipeline import with_horizon

    s = current_settings(ctx)
    return with_horizon(s, horizon) if horizon is not None else s


@app.command("ghosts")
def ghosts(  # noqa: PLR0917 (typer maps parameters to options)
    ctx: typer.Context,
    compare: Annotated[
        bool, typer.Option("--compare", help="Report the gap to the simplified estimate.")
    ] = False,
    out: OutDir = None,
    days: Days = None,
    start: Start = None,
    end: End = None,
    seed: Seed = None,
    edge: Edge = None,
    config: Config = None,
    data_dir_opt: DataDirOpt = None,
    vix_proxy: VixProxy = False,
    skip_missing_days: SkipMissingDays = False,
    preset: Preset = None,
    json_out: Json = False,
) -> None:
    """Log the market with the exploratory policy and write its missed-opportunity records."""
    import pandas as pd

    from zerodte.qscorer.ghosts import GhostTradeEvaluator
    from zerodte.qscorer.missed import compare_estimates
    from zerodte.qscorer.pipeline import generate_dataset

    settings = current_settings(ctx)

    def work() -> dict[str, Any]:
        md = load_market_options(settings, days, start, end, seed, edge)
        run_dir = out or settings.engine.runs_dir / f"q_ghosts_{md.data_hash[:12]}"
        dsr = generate_dataset(settings, md, run_dir, code_version=_code_version())
        cols = [c for c in dsr.missed.columns if c.startswith("ghost_")]
        result: dict[str, Any] = {
            "run_dir": str(run_dir),
            "records": len(dsr.missed),
            "apply_exit_rules": settings.qscorer.apply_exit_rules,
            "available": {c: int(dsr.missed[c].notna().sum()) for c in cols},
            "mean": {c: float(dsr.missed[c].mean()) for c in cols},
        }
        if compare:
            ev = GhostTradeEvaluator.for_market(settings, md)
            pos = md.frame.index.get_indexer(pd.DatetimeIndex(dsr.missed["timestamp"]))
            gap = compare_estimates(ev.rewards(md.frame, pos), ev.simplified(md.frame, pos))
            result["compare"] = gap.to_dict(orient="records")
        return result

    res = work()
    if json_out:
        _dump(res)
        return
    print(f"{res['records']} missed-opportunity records -> {res['run_dir']}/missed.parquet")
    print(
        "exit rules applied along ghost paths"
        if res["apply_exit_rules"]
        else "fixed-horizon ghosts (qscorer.apply_exit_rules = false)"
    )
    table = Table("column", "available", "mean $/contract")
    for c, n in res["available"].items():
        table.add_row(c, str(n), _fmt(res["mean"][c]))
    # Wide enough for every column even when stdout is not a terminal (80 columns).
    Console(width=max(Console().width, 150)).print(table)
    if compare:
        gap = Table(
            "horizon",
            "right",
            "n",
            "mean full",
            "mean simple",
            "mean |diff|",
            "median |diff|",
            "corr",
            title="full repricing vs simplified estimate",
        )
        for r in res["compare"]:
            gap.add_row(
                str(r["horizon"]),
                r["right"],
                str(r["n"]),
                _fmt(r["mean_full"]),
                _fmt(r["mean_simple"]),
                _fmt(r["mean_abs_diff"]),
                _fmt(r["median_abs_diff"]),
                _fmt(r["corr"]),
            )
        Console().print(gap)


@app.command("train")
def train(  # noqa: PLR0917
    ctx: typer.Context,
    horizon: Horizon = None,
    cycles: Cycles = None,
    out: OutDir = None,
    deploy: Annotated[bool, typer.Option("--deploy", help="Copy into qscorer.model_dir.")] = False,
    days: Days = None,
    start: Start = None,
    end: End = None,
    seed: Seed = None,
    edge: Edge = None,
    config: Config = None,
    data_dir_opt: DataDirOpt = None,
    vix_proxy: VixProxy = False,
    skip_missing_days: SkipMissingDays = False,
    preset: Preset = None,
    json_out: Json = False,
) -> None:
    """Log a dataset (paper mode, exploratory policy), train the Q-scorer and save it."""
    from zerodte.qscorer.artifacts import save_model
    from zerodte.qscorer.compare import slice_market
    from zerodte.qscorer.pipeline import (
        default_cycles,
        generate_dataset,
        split_sessions,
        training_metadata,
    )
    from zerodte.qscorer.pipeline import (
        deploy as deploy_pair,
    )
    from zerodte.qscorer.train import train_q_scorer

    settings = _settings_h(ctx, horizon)

    def work() -> dict[str, Any]:
        md = load_market_options(settings, days, start, end, seed, edge)
        try:
            ds_sessions, _ = split_sessions(md, cycles or default_cycles(md))
        except DataError:
            ds_sessions = list(md.sessions)  # training alone may use every session
        md_ds = slice_market(md, ds_sessions)
        root = out or settings.engine.runs_dir / f"q_train_{md_ds.data_hash[:12]}"
        cv = _code_version()
        dsr = generate_dataset(settings, md_ds, root / "dataset", code_version=cv)
        res = train_q_scorer(dsr.dataset, settings.qscorer)
        save_model(root / "model", res.model, training_metadata(settings, res, dsr.dataset, cv))
        deployed = str(deploy_pair(root / "model", settings.qscorer.model_dir)) if deploy else None
        return {
            "model_dir": str(root / "model"),
            "deployed_to": deployed,
            "dataset": dsr.dataset.report.to_dict(),
            "windows": res.split.to_dict(),
            "metrics": res.metrics,
        }

    res = work()
    if json_out:
        _dump(res)
        return
    d = res["dataset"]
    print(f"dataset: {d['decisions']} decisions, {d['matched']} matched")
    for g in d["unmatched"]:
        print(f"  unmatched - {g['reason']}: {g['rows']} rows")
    w = res["windows"]
    print(
        f"train {w['train_start']} .. {w['train_end']} ({w['train_rows']} rows); validation "
        f"{w['validation_start']} .. {w['validation_end']} ({w['validation_rows']} rows); "
        f"embargo {w['embargo_minutes']} min"
    )
    for head in ("call", "put"):
        m = res["metrics"][head]
        print(
            f"  Q_{head}: validation pearson {_fmt(m['pearson'])} spearman "
            f"{_fmt(m['spearman'])} mse {_fmt(m['mse'])}"
        )
    print(
        f"model: {res['model_dir']}"
        + (f" (deployed to {res['deployed_to']})" if res["deployed_to"] else "")
    )


@app.command("eval")
def evaluate(  # noqa: PLR0917
    ctx: typer.Context,
    model_dir: ModelDir = None,
    horizon: Horizon = None,
    days: Days = None,
    start: Start = None,
    end: End = None,
    seed: Seed = None,
    edge: Edge = None,
    config: Config = None,
    data_dir_opt: DataDirOpt = None,
    vix_proxy: VixProxy = False,
    skip_missing_days: SkipMissingDays = False,
    preset: Preset = None,
    json_out: Json = False,
) -> None:
    """Evaluate a model on freshly logged data: fit, anti-selection and off-policy value."""
    from zerodte.qscorer.artifacts import load_model
    from zerodte.qscorer.controller import QScorerController
    from zerodte.qscorer.evaluate import evaluate_q_scorer
    from zerodte.qscorer.pipeline import generate_dataset

    settings = _settings_h(ctx, horizon)

    def work() -> dict[str, Any]:
        loaded = load_model(_model_dir(settings, model_dir))
        if horizon is None:
            s2 = _settings_h(ctx, loaded.model.horizon)
        else:
            s2 = settings
        ctrl = QScorerController.for_model(loaded, s2)
        md = load_market_options(s2, days, start, end, seed, edge)
        dsr = generate_dataset(s2, md, None)
        return evaluate_q_scorer(dsr.dataset, ctrl)

    res = work()
    if json_out:
        _dump(res)
        return
    ope = res["ope"]
    anti = res["anti_selection"]
    print(f"rows {res['rows']}, trade rate {_fmt(res['trade_rate'])} ({res['trades']})")
    for head in ("call", "put"):
        c = res[head]["vs_target"]
        print(
            f"  Q_{head} vs realised/ghost: pearson {_fmt(c['pearson'])} spearman "
            f"{_fmt(c['spearman'])} (n={c['n']})"
        )
    print(f"missed positive-EV cycles: {res['missed_positive_ev']['count']}")
    print(
        f"anti-selection: spearman {_fmt(anti['spearman'])} CI {_fmt(anti['ci95'])}"
        + ("  ** FLAGGED: higher Q means lower reward **" if anti["flag"] else "")
    )
    print(
        f"OPE ($/cycle): IPS {_fmt(ope['ips'])} {_fmt(ope['ips_ci95'])}; SNIPS "
        f"{_fmt(ope['snips'])} {_fmt(ope['snips_ci95'])}; DR {_fmt(ope['dr'])} "
        f"{_fmt(ope['dr_ci95'])}; logged {_fmt(ope['logged_value'])}"
    )


def _print_table(rows: list[dict[str, Any]]) -> None:
    from zerodte.qscorer.compare import TABLE_KEYS

    keys = TABLE_KEYS
    table = Table("controller", *keys)
    for r in rows:
        table.add_row(r["controller"], *(_fmt(r.get(k)) for k in keys))
    # Wide enough for every column even when stdout is not a terminal (80 columns).
    Console(width=max(Console().width, 150)).print(table)


@app.command("compare")
def compare_cmd(  # noqa: PLR0917
    ctx: typer.Context,
    model_dir: ModelDir = None,
    baseline: Baseline = "momentum",
    out: OutDir = None,
    days: Days = None,
    start: Start = None,
    end: End = None,
    seed: Seed = None,
    edge: Edge = None,
    config: Config = None,
    data_dir_opt: DataDirOpt = None,
    vix_proxy: VixProxy = False,
    skip_missing_days: SkipMissingDays = False,
    preset: Preset = None,
    json_out: Json = False,
) -> None:
    """Baseline vs Q-scorer on the same window, data and exits, with a paired interval.

    Use a window after the model's training data (``--start``) for an out-of-sample result.
    """
    from zerodte.qscorer.artifacts import load_model
    from zerodte.qscorer.compare import compare
    from zerodte.qscorer.controller import QScorerController

    settings = current_settings(ctx)

    def work() -> dict[str, Any]:
        loaded = load_model(_model_dir(settings, model_dir))
        ctrl = QScorerController.for_model(loaded, settings)
        md = load_market_options(settings, days, start, end, seed, edge)
        val_end = loaded.metadata.get("windows", {}).get("validation_end")
        res = compare(
            settings, md, ctrl, baseline=baseline, out_dir=out, code_version=_code_version()
        ).to_dict()
        res["out_of_sample"] = bool(val_end is None or str(md.sessions[0]) > val_end[:10])
        return res

    res = work()
    if json_out:
        _dump(res)
        return
    _print_table(res["table"])
    print(
        f"per-trade P&L difference {_fmt(res['diff_per_trade_pnl'])} paired CI "
        f"{_fmt(res['diff_per_trade_pnl_ci95'])}: "
        f"{'significant' if res['significant'] else 'not significant'}"
    )
    if not res["out_of_sample"]:
        print("warning: the window overlaps the model's training data; not out of sample")


@app.command("optimize")
def optimize(  # noqa: PLR0917
    ctx: typer.Context,
    model_dir: ModelDir = None,
    days: Days = None,
    start: Start = None,
    end: End = None,
    seed: Seed = None,
    edge: Edge = None,
    config: Config = None,
    data_dir_opt: DataDirOpt = None,
    vix_proxy: VixProxy = False,
    skip_missing_days: SkipMissingDays = False,
    preset: Preset = None,
    json_out: Json = False,
) -> None:
    """Coarse threshold sweep on the first half of the window, fine re-check on the second."""
    from zerodte.qscorer.artifacts import load_model
    from zerodte.qscorer.compare import slice_market
    from zerodte.qscorer.optimize import optimize_thresholds

    settings = current_settings(ctx)

    def work() -> dict[str, Any]:
        loaded = load_model(_model_dir(settings, model_dir))
        md = load_market_options(settings, days, start, end, seed, edge)
        sessions = list(md.sessions)
        if len(sessions) < 6:
            raise DataError(f"optimize needs at least 6 sessions, got {len(sessions)}")
        half = len(sessions) // 2
        return optimize_thresholds(
            settings, loaded, slice_market(md, sessions[:half]), slice_market(md, sessions[half:])
        )

    res = work()
    if json_out:
        _dump(res)
        return
    w = res["winner"]
    print(
        f"{res['n_trials']} distinct configurations, each run on "
        f"{res['window_a'][0]}..{res['window_a'][1]} and on "
        f"{res['window_b'][0]}..{res['window_b'][1]}; winner chosen on the second among the "
        f"top {res['n_fine']} of the first, deflated against all {res['n_trials']} on it"
    )
    print(
        f"winner {w['params']}: {w['trades']} trades, P&L {_fmt(w['pnl'])}, daily Sharpe "
        f"{_fmt(w['sharpe_daily'])}"
    )
    dsr = res["deflated_sharpe"]
    print(f"deflated Sharpe ratio: {_fmt(dsr['dsr']) if dsr else '-'} -> {res['verdict']}")


@app.command("pipeline")
def pipeline(  # noqa: PLR0917
    ctx: typer.Context,
    horizon: Horizon = None,
    cycles: Cycles = None,
    deploy: Annotated[bool, typer.Option("--deploy", help="Copy into qscorer.model_dir.")] = False,
    baseline: Baseline = "momentum",
    out: OutDir = None,
    days: Days = None,
    start: Start = None,
    end: End = None,
    seed: Seed = None,
    edge: Edge = None,
    config: Config = None,
    data_dir_opt: DataDirOpt = None,
    vix_proxy: VixProxy = False,
    skip_missing_days: SkipMissingDays = False,
    preset: Preset = None,
    json_out: Json = False,
) -> None:
    """Dataset (paper) -> training -> evaluation -> out-of-sample comparison -> deploy."""
    from zerodte.qscorer.pipeline import run_pipeline

    settings = current_settings(ctx)

    def work() -> dict[str, Any]:
        md = load_market_options(settings, days, start, end, seed, edge)
        out_res = run_pipeline(
            settings,
            md,
            horizon=horizon,
            cycles=cycles,
            deploy_model=deploy,
            baseline=baseline,
            out_dir=out,
            code_version=_code_version(),
            record=True,
        )
        return {**out_res, "data_source": md.data_source}

    res = work()
    if json_out:
        _dump(res)
        return
    print(
        f"Q-scorer pipeline, horizon {res['horizon']} min, dataset {res['dataset_sessions']} "
        f"sessions ({res['cycles']:,} cycles), out of sample "
        f"{res['oos_window'][0]}..{res['oos_window'][1]} ({res['oos_sessions']} sessions)"
    )
    print(f"data: {res['data_source']}")
    if res["label_exit_mismatch"]:
        print(f"WARNING: labels and exits disagree: {res['label_exit_mismatch']}")
    _print_table(res["table"])
    print(
        f"per-trade P&L difference {_fmt(res['diff_per_trade_pnl'])} paired CI "
        f"{_fmt(res['diff_per_trade_pnl_ci95'])}: "
        f"{'SIGNIFICANT' if res['significant'] else 'not significant'}"
    )
    ope = res["ope"]
    print(
        f"OPE ($/cycle): IPS {_fmt(ope['ips'])} {_fmt(ope['ips_ci95'])}  SNIPS "
        f"{_fmt(ope['snips'])} {_fmt(ope['snips_ci95'])}  DR {_fmt(ope['dr'])} "
        f"{_fmt(ope['dr_ci95'])}"
    )
    for key, rows in (("anti_selection", "all labelled rows"), ("anti_selection_acted", "acted")):
        anti = res["evaluation"].get(key)
        if anti and anti["flag"]:
            print(
                f"WARNING: anti-selection on the validation window ({rows}): higher Q, lower "
                f"realised reward (spearman {_fmt(anti['spearman'])} CI {_fmt(anti['ci95'])})"
            )
    print(
        f"report: {res['pipeline_dir']}/REPORT.md; model: {res['model_dir']}"
        + (f"; deployed to {res['deployed_to']}" if res["deployed_to"] else "")
    )


def register(root: typer.Typer) -> None:
    """Attach ``zerodte q`` (the root callback registers the ``q_scorer`` controller)."""
    from zerodte.cli import q_power_cmds

    q_power_cmds.attach(app)
    root.add_typer(app, name="q")
