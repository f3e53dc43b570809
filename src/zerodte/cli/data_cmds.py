"""``zerodte data``: generate, import, verify and describe the market data store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from zerodte.cli.context import current_settings
from zerodte.cli.market_opts import Config, Edge, Json, Preset, Seed, Start, parse_day
from zerodte.cli.output import print_json

app = typer.Typer(no_args_is_help=True, help="Market data: generate, import, verify, info.")
console = Console()

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Store directory (default data.data_dir).")
]


def _store_dir(ctx: typer.Context, data_dir: Path | None) -> Path:
    return data_dir if data_dir is not None else current_settings(ctx).data.data_dir


@app.command("generate")
def generate(  # noqa: PLR0917 (typer options)
    ctx: typer.Context,
    days: Annotated[
        int | None, typer.Option("--days", min=1, help="Trading days to generate.")
    ] = None,
    seed: Seed = None,
    edge: Edge = None,
    config: Config = None,
    preset: Preset = None,
    start: Start = None,
    data_dir: DataDir = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite stored bars at the same minutes.")
    ] = False,
) -> None:
    """Generate the synthetic market and write it to the store (deterministic by seed)."""
    from zerodte.market.loading import synthetic_config
    from zerodte.market.store import ParquetStore
    from zerodte.market.synthetic import simulate_market

    settings = current_settings(ctx)
    cfg = synthetic_config(
        settings, days=days, start=parse_day(start, "--start"), seed=seed, edge=edge
    )
    with console.status(f"generating {cfg.days} trading days (seed {cfg.seed})..."):
        market = simulate_market(cfg)
    store = ParquetStore(_store_dir(ctx, data_dir))
    label = f"synthetic:seed={cfg.seed}:edge={cfg.edge}"
    with console.status("writing the store..."):
        store.write_many(market.bars, source=label, replace=replace)
    info = store.info()
    spy = market.bars["SPY"]
    print(
        f"generated {cfg.days} trading days ({spy['timestamp'].iloc[0].date()} .. "
        f"{spy['timestamp'].iloc[-1].date()}), seed={cfg.seed}, edge={cfg.edge}, "
        f"{sum(len(f) for f in market.bars.values())} bars -> {store.root}"
    )
    print(f"store data hash: {info.data_hash}")


@app.command("import")
def import_cmd(  # noqa: PLR0917 (typer options)
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV or Parquet bar file.")],
    symbol: Annotated[
        str | None, typer.Option("--symbol", help="Symbol (or filter of a long file).")
    ] = None,
    mapping: Annotated[
        str | None, typer.Option("--map", help="Column renames, e.g. time=timestamp,Close=close")
    ] = None,
    tz: Annotated[str | None, typer.Option("--tz", help="Timezone of naive timestamps.")] = None,
    label: Annotated[
        str, typer.Option("--label", help="Bar time label: start or end (shifted -1 min).")
    ] = "start",
    keep_extended: Annotated[
        bool, typer.Option("--keep-extended", help="Keep bars outside the regular session.")
    ] = False,
    repair: Annotated[
        str | None,
        typer.Option(
            "--repair",
            help="Explicit repairs: drop-nan, drop-duplicates, sort, drop-outside-session, "
            "drop-bad-prices, drop-spikes, fill-missing (comma separated).",
        ),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite stored bars at the same minutes.")
    ] = False,
    time_format: Annotated[
        str | None,
        typer.Option(
            "--time-format",
            help="strftime format of the time column, e.g. '%d/%m/%Y %H:%M' (needed when "
            "day and month order is ambiguous).",
        ),
    ] = None,
    data_dir: DataDir = None,
    interval: Annotated[
        str | None,
        typer.Option("--interval", help="1min, 5min or 1day (default: from the stamps)."),
    ] = None,
    feed: Annotated[
        str,
        typer.Option("--feed", help="Volume feed: sip (consolidated), iex, bats, ib, ..."),
    ] = "unknown",
    mix_feeds: Annotated[
        bool,
        typer.Option("--mix-feeds", help="Accept another feed's volume scale in one symbol."),
    ] = False,
    start: Annotated[
        str | None, typer.Option("--start", help="Import only rows from this day (YYYY-MM-DD).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--end", help="Import only rows up to this day (YYYY-MM-DD).")
    ] = None,
) -> None:
    """Import a bar file into the store; refuse bad data with a full report.

    VIX may come at 1-minute, 5-minute or daily interval (a date column, no volume column
    needed); it is stored at that interval and joined as of what was known.
    """
    from zerodte.market.feeds import check_feed
    from zerodte.market.files import import_file
    from zerodte.market.store import ParquetStore

    if label not in ("start", "end"):
        raise typer.BadParameter("use start or end", param_hint="--label")
    check_feed(feed)  # before the file is read
    with console.status(f"reading {file}..."):
        result = import_file(
            file,
            symbol=symbol,
            mapping=mapping,
            tz=tz,
            label="end" if label == "end" else "start",
            keep_extended=keep_extended,
            repairs=repair,
            time_format=time_format,
            interval=interval,
            start=parse_day(start, "--start"),
            end=parse_day(end, "--end"),
        )
    store = ParquetStore(_store_dir(ctx, data_dir))
    filled = "fill-missing" in result.repairs
    store.write_many(
        result.bars,
        source=f"file:{file.name}",
        replace=replace,
        zero_volume_ok=filled,
        interval=result.interval,
        feed=feed,
        mix_feeds=mix_feeds,
    )
    for note in result.report.notes:
        print(f"note: {note}")
    for sym, frame in result.bars.items():
        kind = "" if result.interval == "1min" else f" {result.interval}"
        print(f"imported {len(frame)} {sym}{kind} bars from {file} -> {store.root}")


@app.command("verify")
def verify(ctx: typer.Context, data_dir: DataDir = None) -> None:
    """Validate every stored bar; exit 1 with the report when anything is wrong."""
    from zerodte.market.store import ParquetStore

    store = ParquetStore(_store_dir(ctx, data_dir))
    with console.status("verifying..."):
        report = store.verify()
    print(report.render(limit=200))
    if not report.ok:
        raise typer.Exit(1)


@app.command("info")
def info(ctx: typer.Context, data_dir: DataDir = None, as_json: Json = False) -> None:
    """Symbols, first/last day, trading days, rows and the data hash of the store."""
    from zerodte.market.sentiment.store import SentimentStore
    from zerodte.market.store import ParquetStore

    store = ParquetStore(_store_dir(ctx, data_dir))
    summary = store.info()
    sentiment = SentimentStore(_store_dir(ctx, data_dir)).describe()
    if as_json:
        print_json({**summary.to_dict(), **({"sentiment": sentiment} if sentiment else {})})
        return
    for name, s in sentiment.items():
        print(f"sentiment {name}: {s['rows']} rows, {s['first']} .. {s['last']}, {s['sources']}")
    if summary.empty:
        print(f"no market data in {store.root}; run `zerodte data import` or `data generate`")
        return
    table = Table(title=f"market data in {store.root}")
    for col in ("symbol", "first day", "last day", "trading days", "rows", "sources"):
        table.add_column(col)
    for sym, i in summary.symbols.items():
        table.add_row(
            sym,
            str(i.first_day),
            str(i.last_day),
            str(i.trading_days),
            str(i.rows),
            ", ".join(i.sources),
        )
    console.print(table)
    print(f"data hash: {summary.data_hash}")


def register(root: typer.Typer) -> None:
    """Attach ``zerodte data`` to the root app."""
    from zerodte.cli import data_remote_cmds, option_data_cmds

    data_remote_cmds.attach(app)
    option_data_cmds.attach(app)
    root.add_typer(app, name="data")
