"""``zerodte demo``: the README's main job on the embedded synthetic market.

It loads the stored market (generating the default synthetic market on first use), prints
its summary and a sample option chain, then runs the Q-scorer pipeline and prints the
out-of-sample comparison against the baseline controller.
"""

from __future__ import annotations

from typing import Annotated

import typer

from zerodte.cli import options_cmds
from zerodte.cli.context import current_settings
from zerodte.market.loading import MarketData, load_market


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
    settings = current_settings()
    data = load_market(settings)
    _market_summary(data)
    _sample_chain(data)
    if skip_pipeline:
        return
    from zerodte.cli import q_cmds

    print("\n== Q-scorer pipeline: exploratory data -> training -> out-of-sample comparison")
    q_cmds.pipeline(
        horizon=None,
        cycles=2500,
        deploy=False,
        baseline="momentum",
        out=None,
        days=None,
        start=None,
        end=None,
        seed=None,
        edge=None,
        json_out=as_json,
    )


def register(root: typer.Typer) -> None:
    """Attach ``demo`` to the root app."""
    root.command("demo")(demo)
