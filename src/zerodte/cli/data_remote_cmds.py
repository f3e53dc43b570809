"""``zerodte data fetch|backfill|serve|sync``: vendors, the router and the data manager."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zerodte.cli.context import current_settings
from zerodte.cli.data_sources import SOURCES, build_source
from zerodte.cli.market_opts import Config, Preset, parse_day

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Store directory (default data.data_dir).")
]
Symbols = Annotated[
    str | None, typer.Option("--symbols", help="Comma-separated symbols (default data.symbols).")
]


def _store(data_dir: Path | None):  # type: ignore[no-untyped-def]
    from zerodte.market.store import ParquetStore

    return ParquetStore(data_dir if data_dir is not None else current_settings().data.data_dir)


def _symbols(text: str | None) -> list[str]:
    if text is None:
        return list(current_settings().data.symbols)
    return [s.strip().upper() for s in text.split(",") if s.strip()]


def _today():  # type: ignore[no-untyped-def]
    from zerodte.engine.clock import WallClock

    return WallClock().now().tz_convert("America/New_York").date()


def fetch(  # noqa: PLR0917 (typer options)
    source: Annotated[str, typer.Option("--source", help=f"One of {', '.join(SOURCES)}.")],
    symbol: Annotated[str, typer.Option("--symbol", help="Symbol to fetch (SPY, QQQ, VIX).")],
    start: Annotated[str, typer.Option("--start", help="First day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--end", help="Last day (YYYY-MM-DD).")],
    data_dir: DataDir = None,
    mix_feeds: Annotated[bool, typer.Option("--mix-feeds", help="Accept another feed.")] = False,
) -> None:
    """Fetch minute bars from a vendor (or the router) into the store."""
    src = build_source(current_settings(), source)
    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    assert first is not None and last is not None  # required options
    bars = src.fetch(symbol, first, last)
    served = getattr(src, "served", {}).get(symbol.upper(), src.name)
    feed = str(getattr(src, "feed", "unknown"))
    if bars.empty:
        print(f"{served}: no {symbol} bars for {first} .. {last}; the store is unchanged")
        raise typer.Exit(1)
    store = _store(data_dir)
    rows = store.write(symbol, bars, f"{served}:fetch", feed=feed, mix_feeds=mix_feeds)
    print(f"fetched {rows} {symbol.upper()} bars from {served} (feed {feed}) -> {store.root}")


def backfill(
    days: Annotated[int, typer.Argument(min=1, help="Trading days before today.")],
    source: Annotated[str, typer.Option("--source", help="Source (default: the router).")] = (
        "router"
    ),
    symbols: Symbols = None,
    data_dir: DataDir = None,
) -> None:
    """Fetch the last DAYS sessions of every symbol into the store."""
    from zerodte.market.manager import collect_once

    store = _store(data_dir)
    router = build_source(current_settings(), source)
    written = collect_once(router, store, _symbols(symbols), days=days, today=_today())
    for sym, rows in written.items():
        print(f"backfilled {rows} {sym} bars -> {store.root}")


def serve(  # noqa: PLR0917 (typer options)
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port (0: any free port).")] = 8765,
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

    settings = current_settings()
    key = settings.data.serve_api_key
    store = _store(data_dir)
    app = create_app(store, key.get_secret_value() if key is not None else "")
    if collect_minutes > 0:
        router = build_source(settings, "router")
        syms = _symbols(symbols)
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

    from zerodte.errors import ConfigError
    from zerodte.market.manager import ManagerSource
    from zerodte.market.manager import sync as pull

    d = current_settings().data  # settings first: a bad --config stops before any work
    target = url or d.manager_url
    if not target:
        raise ConfigError("name the data manager: --from URL (or ZERODTE_DATA__MANAGER_URL)")
    key = d.manager_api_key.get_secret_value() if d.manager_api_key is not None else ""
    store = _store(data_dir)
    source = ManagerSource(httpx.Client(timeout=30.0), target, key)
    res = pull(source, store, _symbols(symbols), days=days, today=_today())
    if res.fallback:
        print(f"warning: {res.fallback}")
        return
    for sym, rows in res.rows.items():
        print(f"synced {rows} {sym} bars from {target} -> {store.root}")


def attach(app: typer.Typer) -> None:
    """Add these commands to ``zerodte data``."""
    app.command("fetch")(fetch)
    app.command("backfill")(backfill)
    app.command("serve")(serve)
    app.command("sync")(sync)
