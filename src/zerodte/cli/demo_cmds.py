"""``zerodte demo``: the README's main job on the embedded synthetic market.

It loads the stored market (generating the default synthetic market on first use), prints
its summary and a sample option chain, then runs the Q-scorer pipeline and prints the
out-of-sample comparison against the baseline controller.

Unless ``--preset`` or ``--config`` is given, the demo uses the ``q_scorer`` preset: its exits
match the 15-minute label horizon, and both controllers are compared on those exits. On the
synthetic market the pipeline runs on one synthetic year generated in memory (same seed and
edge as the stored market): the first :data:`DEMO_DATASET_SESSIONS` sessions are logged for
the dataset, the rest is out of sample. The planted edge is weak and concentrated in
stressed spells, so 60 out-of-sample sessions are too few to tell it from noise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from zerodte.cli import options_cmds
from zerodte.cli.context import current_settings
from zerodte.cli.market_opts import DataDirOpt, SkipMissingDays, VixProxy
from zerodte.cli.output import print_json
from zerodte.cli.state import cli_state
from zerodte.types import SESSION_MINUTES

if TYPE_CHECKING:
    from zerodte.market.loading import MarketData

DEMO_PRESET = "q_scorer"
DEMO_DAYS = 250
"""Sessions of the synthetic year the demo pipeline runs on."""
DEMO_DATASET_SESSIONS = 100
"""Sessions logged for the dataset; the remaining 150 are out of sample."""


def _market_summary(data: MarketData) -> None:
    frame = data.frame
    spy = frame["spy_close"]
    vix = frame["vix_close"]
    print("== market")
    ds = data.data_source
    print(f"source        {data.source} ({ds.get('kind')}, vix {ds.get('vix')})")
    print(f"sessions      {len(data.sessions)} ({data.sessions[0]} .. {data.sessions[-1]})")
    print(f"minutes       {len(frame):,}")
    print(
        f"SPY close     first {spy.iloc[0]:.2f}  last {spy.iloc[-1]:.2f}  "
        f"min {spy.min():.2f}  max {spy.max():.2f}"
    )
    print(f"VIX close     min {vix.min():.2f}  median {vix.median():.2f}  max {vix.max():.2f}")
    print(f"data hash     {data.data_hash[:16]}")


def _sample_chain(ctx: typer.Context, data: MarketData) -> None:
    frame = data.frame
    last_session = frame[frame["session"] == data.sessions[-1]]
    row = last_session.iloc[len(last_session) // 2]
    minutes_to_close = float(len(last_session) - len(last_session) // 2 - 1)
    print(f"\n== sample 0DTE chain ({row.name:%Y-%m-%d %H:%M})")
    options_cmds.chain(
        ctx,
        spot=float(row["spy_close"]),
        vix=float(row["vix_close"]),
        minutes_to_close=minutes_to_close,
        width=4,
        as_json=False,
    )


def power_reference() -> dict[str, object]:
    """The recorded power studies (``zerodte/qscorer/reference/power_study.json``)."""
    import json
    from importlib import resources

    text = resources.files("zerodte.qscorer").joinpath("reference/power_study.json").read_text()
    data: dict[str, object] = json.loads(text)
    return data


def _power_lines() -> list[str]:
    ref = power_reference()
    lines = [
        "\n== how often the pipeline finds the planted edge: the run above is one synthetic "
        "year; each row is 20 of them",
    ]
    for st in ref["studies"]:  # type: ignore[attr-defined]
        lo, hi = st["power_ci95"]
        lines.append(
            f"seeds {st['seeds'][0]}-{st['seeds'][1]} ({st['label']}): power {st['power']:.2f} "
            f"[{lo:.2f}, {hi:.2f}] ({st['power_count']} of 20 significant and positive), "
            f"false positives at edge 0 {st['false_positive_rate']:.2f} "
            f"({st['false_positive_rate_count']} of 20), oracle efficiency "
            f"{st['oracle_efficiency_pooled']:.2f}; {st['trades']} trades, "
            f"{st['per_trade_pnl_pooled']:+.2f} $/trade pooled after {st['fees']:.0f} $ of fees; "
            f"{st['days']} sessions each"
        )
    lines.append(
        f"defaults chosen on {ref['chosen_on']}; recorded {ref['recorded']} by "
        f"`{ref['command']}` (rerun it to check)"
    )
    return lines


def demo(  # noqa: PLR0917 (typer maps parameters to options)
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the pipeline result as JSON.")
    ] = False,
    skip_pipeline: Annotated[
        bool, typer.Option("--skip-pipeline", help="Only show the market and a chain.")
    ] = False,
    data_dir_opt: DataDirOpt = None,
    vix_proxy: VixProxy = False,
    skip_missing_days: SkipMissingDays = False,
) -> None:
    """Run the main job on the embedded synthetic market (or the stored market)."""
    from zerodte.market.loading import load_market

    state = cli_state(ctx)
    if state.preset is None and state.config_file is None and state.settings is None:
        state.preset = DEMO_PRESET
    settings = current_settings(ctx)
    data = load_market(settings)
    # the stored market when it is real; the synthetic year in memory otherwise
    synthetic = data.synthetic is not None or bool(data.data_source.get("synthetic"))
    if as_json and skip_pipeline:
        print_json({"data_source": data.data_source, "sessions": len(data.sessions)})
        return
    if not as_json:  # --json prints one JSON document, nothing else
        _market_summary(data)
        _sample_chain(ctx, data)
    if skip_pipeline:
        return
    from zerodte.cli import q_cmds

    x = settings.exits
    if as_json:
        q_cmds.pipeline(
            ctx,
            horizon=None,
            cycles=DEMO_DATASET_SESSIONS * SESSION_MINUTES if synthetic else None,
            deploy=False,
            baseline="momentum",
            out=None,
            days=DEMO_DAYS if synthetic else None,
            start=None,
            end=None,
            seed=settings.data.synthetic_seed if synthetic else None,
            edge=settings.data.synthetic_edge if synthetic else None,
            json_out=True,
        )
        return
    print("\n== Q-scorer pipeline: exploratory data -> training -> out-of-sample comparison")
    print(
        f"settings      preset {state.preset or '-'}, config {state.config_file or '-'}; exits: "
        f"stop {x.stop_loss_pct:g} %, take profit {x.take_profit_pct:g} %, max hold "
        f"{x.max_hold_minutes:g} min (both controllers)"
    )
    if not synthetic:
        print(
            f"market        the stored real market: {data.source} ({len(data.sessions)} sessions)"
        )
    if synthetic:
        print(
            f"market        one synthetic year in memory ({DEMO_DAYS} sessions, seed "
            f"{settings.data.synthetic_seed}, edge {settings.data.synthetic_edge:g}): "
            f"{DEMO_DATASET_SESSIONS} for the dataset, the rest out of sample"
        )
    q_cmds.pipeline(
        ctx,
        horizon=None,
        cycles=DEMO_DATASET_SESSIONS * SESSION_MINUTES if synthetic else None,
        deploy=False,
        baseline="momentum",
        out=None,
        days=DEMO_DAYS if synthetic else None,
        start=None,
        end=None,
        seed=settings.data.synthetic_seed if synthetic else None,
        edge=settings.data.synthetic_edge if synthetic else None,
        json_out=as_json,
    )
    if synthetic and not as_json:
        print("\n".join(_power_lines()))


def register(root: typer.Typer) -> None:
    """Attach ``demo`` to the root app."""
    root.command("demo")(demo)
