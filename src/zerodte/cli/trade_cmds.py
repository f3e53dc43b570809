"""``zerodte trade`` (paper, sandbox, live, replay) and ``zerodte fake-tradier serve``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from zerodte.cli.backtest_cmds import _print_summary
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
    ThresholdModel,
    VixProxy,
    parse_day,
    with_threshold_model,
)
from zerodte.cli.output import print_json
from zerodte.errors import ConfigError

fake_app = typer.Typer(no_args_is_help=True, help="The fake Tradier (tests and demos).")


def trade(  # noqa: PLR0917 (typer maps parameters to options)
    ctx: typer.Context,
    paper: Annotated[bool, typer.Option("--paper", help="Paper trading (the default).")] = False,
    live: Annotated[
        bool,
        typer.Option("--live", help="Trade real money: also needs the go-live flag and token."),
    ] = False,
    broker: Annotated[
        str, typer.Option("--broker", help="paper | tradier-sandbox | tradier | fake-tradier")
    ] = "paper",
    controller: Annotated[
        str | None, typer.Option("--controller", help="Entry controller (else ENTRY_CONTROLLER).")
    ] = None,
    model_dir: Annotated[
        Path | None, typer.Option("--model-dir", help="Q-scorer model directory.")
    ] = None,
    replay: Annotated[
        bool, typer.Option("--replay", help="Replay days against the fake Tradier.")
    ] = False,
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
    speed: Annotated[
        float | None,
        typer.Option("--speed", help="Replay at N x real time (default: as fast as possible)."),
    ] = None,
    connect: Annotated[
        str | None, typer.Option("--connect", help="URL of a running fake Tradier to replay on.")
    ] = None,
    journal: Annotated[
        Path | None, typer.Option("--journal", help="Order journal (SQLite file).")
    ] = None,
    faults: Annotated[
        str, typer.Option("--faults", help="Fault rates of the fake, e.g. timeout=0.02,all=0.01")
    ] = "",
    fault_seed: Annotated[int, typer.Option("--fault-seed", help="Seed of the faults.")] = 0,
    run_dir: Annotated[
        Path | None, typer.Option("--run-dir", help="Run directory (else runs/<run_id>).")
    ] = None,
    threshold_model: ThresholdModel = None,
    json_out: Json = False,
) -> None:
    """Trade the live loop: paper by default, live only deliberately, or replay a day."""
    from zerodte.cli.trade_compose import TradeOptions, quiet_http_logs, run_trade
    from zerodte.engine.publish import check_run_target

    if paper and live:
        raise ConfigError("--paper and --live exclude each other; give one of them")
    if replay and broker == "paper":
        broker = "fake-tradier"
    options = TradeOptions(
        live=live,
        broker=broker,
        controller=controller,
        model_dir=model_dir,
        replay=replay,
        days=days,
        start=parse_day(start, "--start"),
        end=parse_day(end, "--end"),
        seed=seed,
        edge=edge,
        speed=speed,
        connect=connect,
        journal=journal,
        faults=faults,
        fault_seed=fault_seed,
        run_dir=run_dir,
    )
    settings = with_threshold_model(current_settings(ctx), threshold_model)
    check_run_target(run_dir, settings.engine.runs_dir)  # before the session trades
    console = Console(stderr=True)
    # zerodte's errors leave through cli.main, which maps them to exit codes 2 and 3.
    with quiet_http_logs(), console.status("starting", spinner="dots") as line:

        def status(s: Any) -> None:
            if not json_out:
                line.update(
                    f"{s.bar} cycle {s.cycle} equity {s.equity:,.2f} open {s.open_positions} "
                    f"orders {s.orders} data {s.alignment} {s.vetoes[:60]}"
                )

        results = run_trade(settings, options, status=status)
    summaries = [r.summary for r in results]
    if json_out:
        out: Any = summaries[0] if len(summaries) == 1 else summaries
        print_json(out)
        return
    for result in results:
        _print_report(result.summary)
        print(f"run directory: {result.finished.run_dir}")


def _print_report(summary: dict[str, Any]) -> None:
    """The end-of-day report: the backtest's summary, then orders, recovery and slippage."""
    _print_summary(summary)
    orders = summary.get("orders") or {}
    print(f"orders: {orders.get('journaled', 0)} journaled {orders.get('by_state', {})}")
    print(f"reconciliations: {summary.get('reconciliations')}  restarts: {summary.get('restarts')}")
    print(f"alignment: {summary.get('alignment')}")
    print(f"health: {summary.get('health')}")
    shadow = summary.get("shadow") or {}
    if shadow:
        print(
            f"shadow paper fills: {shadow.get('pairs')} pairs, mean slippage "
            f"{shadow.get('mean_slippage_per_share')} per share"
        )
    faults = summary.get("faults")
    if faults:
        print(
            f"fake venue: {faults.get('faults_total')} faults {faults.get('faults')}, "
            f"over limit {faults.get('over_limit')}"
        )


@fake_app.command("serve")
def fake_serve(  # noqa: PLR0917 (typer maps parameters to options)
    ctx: typer.Context,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (0: a free one).")
    ] = 0,
    port_file: Annotated[
        Path | None, typer.Option("--port-file", help="Write the port here once serving.")
    ] = None,
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
    speed: Annotated[float | None, typer.Option("--speed", help="N x real time.")] = None,
    faults: Annotated[str, typer.Option("--faults", help="Fault rates.")] = "",
    fault_seed: Annotated[int, typer.Option("--fault-seed", help="Seed of the faults.")] = 0,
) -> None:
    """Serve the fake Tradier on 127.0.0.1 over the chosen market data (Ctrl-C stops)."""
    from zerodte.broker.tradier.fake.app import LoopbackServer, create_app
    from zerodte.broker.tradier.fake.faults import FaultPlan
    from zerodte.broker.tradier.fake.replay import FAKE_TOKEN, replay_fake
    from zerodte.cli.market_opts import load_market_options
    from zerodte.io import atomic_write_text

    settings = current_settings(ctx)
    data = load_market_options(settings, days, start, end, seed, edge)
    plan = FaultPlan.parse(faults, fault_seed) if faults else None
    fake = replay_fake(data.frame, settings, faults=plan, speed=speed, wall=time.monotonic)
    server = LoopbackServer(create_app(fake), port=port or None).start()
    if port_file is not None:
        atomic_write_text(port_file, str(server.port))
    print(f"fake Tradier on {server.url}/v1 (token {FAKE_TOKEN!r}), {data.source}", flush=True)
    try:
        while True:
            time.sleep(1.0)
    except KeyboardInterrupt:
        print("fake Tradier stopped (Ctrl-C)", flush=True)
    finally:
        server.stop()


def register(root: typer.Typer) -> None:
    """Attach ``trade`` and the ``fake-tradier`` group."""
    root.command("trade")(trade)
    root.add_typer(fake_app, name="fake-tradier")
