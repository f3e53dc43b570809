"""``zerodte data fetch|backfill|serve|sync``: vendors, the router and the data manager."""

from __future__ import annotations

import math
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from zerodte.cli.context import current_settings
from zerodte.cli.data_sources import SENTIMENT_SOURCES, SOURCES, build_source, sentiment_source
from zerodte.cli.market_opts import Config, Preset, parse_day

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Store directory (default data.data_dir).")
]
Symbols = Annotated[
    str | None, typer.Option("--symbols", help="Comma-separated symbols (default data.symbols).")
]


def _store(ctx: typer.Context, data_dir: Path | None):  # type: ignore[no-untyped-def]
    from zerodte.market.store import ParquetStore

    return ParquetStore(data_dir if data_dir is not None else current_settings(ctx).data.data_dir)


def _symbols(ctx: typer.Context, text: str | None) -> list[str]:
    if text is None:
        return list(current_settings(ctx).data.symbols)
    return [s.strip().upper() for s in text.split(",") if s.strip()]


def _today():  # type: ignore[no-untyped-def]
    from zerodte.engine.clock import WallClock

    return WallClock().now().tz_convert("America/New_York").date()


def fetch(  # noqa: PLR0917 (typer options)
    ctx: typer.Context,
    source: Annotated[
        str, typer.Option("--source", help=f"One of {', '.join((*SOURCES, *SENTIMENT_SOURCES))}.")
    ],
    symbol: Annotated[
        str, typer.Option("--symbol", help="Symbol (SPY, QQQ, VIX; fear-greed is market-wide).")
    ] = "SPY",
    start: Annotated[
        str | None,
        typer.Option("--start", help="First day (YYYY-MM-DD; tradier-put-call: today)."),
    ] = None,
    end: Annotated[
        str | None, typer.Option("--end", help="Last day (YYYY-MM-DD; default --start).")
    ] = None,
    data_dir: DataDir = None,
    mix_feeds: Annotated[bool, typer.Option("--mix-feeds", help="Accept another feed.")] = False,
    refresh: Annotated[
        bool,
        typer.Option("--refresh", help="Ask the source again for cached days (e.g. today's)."),
    ] = False,
) -> None:
    """Fetch minute bars from a vendor (or the router), or a sentiment series, into the store.

    Fetched days are cached (data.cache_dir) and not asked again; a day fetched while it was
    still going on (today) is complete only with --refresh."""
    first = parse_day(start, "--start")
    last = parse_day(end, "--end") or first
    if source in SENTIMENT_SOURCES:
        _fetch_sentiment(ctx, source, symbol, first, last, data_dir=data_dir, refresh=refresh)
        return
    if first is None or last is None:
        raise typer.BadParameter("name the first day", param_hint="--start")
    src = build_source(current_settings(ctx), source, refresh=refresh)
    bars = src.fetch(symbol, first, last)
    served = getattr(src, "served", {}).get(symbol.upper(), src.name)
    feed = str(getattr(src, "feed", "unknown"))
    if bars.empty:
        print(f"{served}: no {symbol} bars for {first} .. {last}; the store is unchanged")
        raise typer.Exit(1)
    store = _store(ctx, data_dir)
    rows = store.write(symbol, bars, f"{served}:fetch", feed=feed, mix_feeds=mix_feeds)
    print(f"fetched {rows} {symbol.upper()} bars from {served} (feed {feed}) -> {store.root}")


def _fetch_sentiment(
    ctx: typer.Context,
    source: str,
    symbol: str,
    first: date | None,
    last: date | None,
    *,
    data_dir: Path | None,
    refresh: bool,
) -> None:
    from zerodte.market.sentiment.store import MARKET, SentimentStore

    settings = current_settings(ctx)
    src = sentiment_source(settings, source, refresh=refresh)
    series = "put-call" if source == "tradier-put-call" else source
    sym = MARKET if series == "fear-greed" else symbol.upper()
    if series == "put-call":
        today = _today()
        first, last = first or today, last or first or today
    elif first is None or last is None:
        raise typer.BadParameter("name the first day", param_hint="--start")
    rows = src.fetch(sym, first, last)
    if series == "put-call":  # a snapshot of now covers the day it was taken
        day = rows["known_at"].iloc[0].tz_convert("America/New_York").date()
        first = last = day
    store = SentimentStore(settings.data.data_dir if data_dir is None else data_dir)
    added = store.write(series, sym, rows, first=first, last=last)
    print(
        f"fetched {len(rows)} {series} row(s) for {sym} {first} .. {last} from {source} "
        f"({added} new) -> {store.root}"
    )


def backfill(
    ctx: typer.Context,
    days: Annotated[int, typer.Argument(min=1, help="Trading days before today.")],
    source: Annotated[str, typer.Option("--source", help="Source (default: the router).")] = (
        "router"
    ),
    symbols: Symbols = None,
    data_dir: DataDir = None,
) -> None:
    """Fetch the last DAYS sessions of every symbol into the store."""
    from zerodte.market.manager import collect_once

    store = _store(ctx, data_dir)
    router = build_source(current_settings(ctx), source)
    written = collect_once(router, store, _symbols(ctx, symbols), days=days, today=_today())
    for sym, rows in written.items():
        print(f"backfilled {rows} {sym} bars -> {store.root}")


def serve(  # noqa: PLR0917 (typer options)
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port (0: any free port).")
    ] = 8765,
    collect_minutes: Annotated[
        float, typer.Option("--collect-minutes", help="Minutes between collections (0: never).")
    ] = 60.0,
    days: Annotated[int, typer.Option("--days", min=1, help="Sessions each round asks.")] = 5,
    symbols: Symbols = None,
    data_dir: DataDir = None,
    config: Config = None,
    preset: Preset = None,
) -> None:
    """Serve the store's bars and status over HTTP (X-API-Key) and collect on a schedule."""
    import time

    from zerodte.market.manager import collect_once
    from zerodte.market.manager_app import Server, create_app, start_collector

    if not (math.isfinite(collect_minutes) and collect_minutes >= 0):
        raise typer.BadParameter(
            f"give the minutes between collections as a number 0 or more (0: never), got "
            f"{collect_minutes:g}",
            param_hint="--collect-minutes",
        )
    settings = current_settings(ctx)
    key = settings.data.serve_api_key
    store = _store(ctx, data_dir)
    app = create_app(store, key.get_secret_value() if key is not None else "")
    if collect_minutes > 0:
        router = build_source(settings, "router")
        syms = _symbols(ctx, symbols)
        start_collector(
            app,
            lambda: collect_once(router, store, syms, days=days, today=_today()),
            collect_minutes,
        )
    server = Server(app, host=host, port=port).start()
    print(f"data manager on {server.url} serving {store.root} (Ctrl-C stops)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


def sync(  # noqa: PLR0917 (typer options)
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option("--from", help="Manager URL (data.manager_url).")] = (
        None
    ),
    days: Annotated[int, typer.Option("--days", min=1, help="Sessions to pull.")] = 30,
    symbols: Symbols = None,
    data_dir: DataDir = None,
    config: Config = None,
    preset: Preset = None,
) -> None:
    """Pull the last DAYS sessions from the data manager into the local store."""
    import httpx

    from zerodte.errors import ConfigError, DataError
    from zerodte.market.manager import ManagerSource
    from zerodte.market.manager import sync as pull

    d = current_settings(ctx).data  # settings first: a bad --config stops before any work
    target = url or d.manager_url
    if not target:
        raise ConfigError("name the data manager: --from URL (or ZERODTE_DATA__MANAGER_URL)")
    key = d.manager_api_key.get_secret_value() if d.manager_api_key is not None else ""
    store = _store(ctx, data_dir)
    source = ManagerSource(httpx.Client(timeout=30.0), target, key)
    res = pull(source, store, _symbols(ctx, symbols), days=days, today=_today())
    if res.fallback:
        if not store.has_data():
            raise DataError(
                f"nothing to fall back on: {res.fallback}, and {store.root} holds no bars. "
                "Start the data manager (or fix --from), or import bars into the local store"
            )
        print(f"warning: {res.fallback}", file=sys.stderr)
        return
    for sym, rows in res.rows.items():
        print(f"synced {rows} {sym} bars from {target} -> {store.root}")


def attach(app: typer.Typer) -> None:
    """Add these commands to ``zerodte data``."""
    app.command("fetch")(fetch)
    app.command("backfill")(backfill)
    app.command("serve")(serve)
    app.command("sync")(sync)
