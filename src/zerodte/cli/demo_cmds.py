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

from typing import Annotated

import typer

from zerodte.cli import options_cmds
from zerodte.cli.context import current_settings
from zerodte.cli.state import STATE
from zerodte.market.loading import MarketData, load_market

DEMO_PRESET = "q_scorer"
DEMO_DAYS = 250
"""Sessions of the synthetic year the demo pipeline runs on."""
DEMO_DATASET_SESSIONS = 100
"""Sessions logged for the dataset; the remaining 150 are out of sample."""
MINUTES_PER_SESSION = 390


def _market_summary(data: MarketData) -> None:
    frame = data.frame
    spy = frame["spy_close"]
    vix = frame["vix_close"]
    print("== market")
    print(f"source        {data.source}")
    print(f"sessions      {len(data.sessions)} ({data.sessions[0]} .. {data.sessions[-1]})")
    print(f"minutes       {len(frame):,}")
    print(
        f"SPY close     first {spy.iloc[0]:.2f}  last {spy.iloc[-1]:.2f}  "
        f"min {spy.min():.2f}  max {spy.max():.2f}"
    )
    print(f"VIX close     min {vix.min():.2f}  median {vix.median():.2f}  max {vix.max():.2f}")
    print(f"data hash     {data.data_hash[:16]}")


def _sample_chain(data: MarketData) -> None:
    frame = data.frame
    last_session = frame[frame["session"] == data.sessions[-1]]
    row = last_session.iloc[len(last_session) // 2]
    minutes_to_close = float(len(last_session) - len(last_session) // 2 - 1)
    print(f"\n== sample 0DTE chain ({row.name:%Y-%m-%d %H:%M})")
    options_cmds.chain(
        spot=float(row["spy_close"]),
        vix=float(row["vix_close"]),
        minutes_to_close=minutes_to_close,
        width=4,
        as_json=False,
    )


def demo(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the pipeline result as JSON.")
    ] = False,
    skip_pipeline: Annotated[
        bool, typer.Option("--skip-pipeline", help="Only show the market and a chain.")
    ] = False,
) -> None:
    """Run the main job on the embedded synthetic market (or the stored market)."""
    if STATE.preset is None and STATE.config_file is None and STATE.settings is None:
        STATE.preset = DEMO_PRESET
    settings = current_settings()
    data = load_market(settings)
    _market_summary(data)
    _sample_chain(data)
    if skip_pipeline:
        return
    from zerodte.cli import q_cmds

    synthetic = settings.data.source == "synthetic"
    x = settings.exits
    print("\n== Q-scorer pipeline: exploratory data -> training -> out-of-sample comparison")
    print(
        f"settings      preset {STATE.preset or '-'}, config {STATE.config_file or '-'}; exits: "
        f"stop {x.stop_loss_pct:g} %, take profit {x.take_profit_pct:g} %, max hold "
        f"{x.max_hold_minutes:g} min (both controllers)"
    )
    if synthetic:
        print(
            f"market        one synthetic year in memory ({DEMO_DAYS} sessions, seed "
            f"{settings.data.synthetic_seed}, edge {settings.data.synthetic_edge:g}): "
            f"{DEMO_DATASET_SESSIONS} for the dataset, the rest out of sample"
        )
    q_cmds.pipeline(
        horizon=None,
        cycles=DEMO_DATASET_SESSIONS * MINUTES_PER_SESSION if synthetic else None,
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


def register(root: typer.Typer) -> None:
    """Attach ``demo`` to the root app."""
    root.command("demo")(demo)
