"""The dashboard's latency: ``/api/trades`` and the P&L curve of a 2,000-trade run, and the
first render of that run's page in a real browser.

    .venv/bin/python benchmarks/bench_dashboard.py

Targets (the dashboard issue):

* ``GET /api/trades?run_id=`` (every trade, all context columns) and
  ``GET /api/trades/pnl-curve?run_id=`` of a 2,000-trade run <= 50 ms p99, measured by a
  client over loopback against uvicorn (one process, SQLite store in WAL mode), 300
  requests each after 20 warm-up requests;
* a page's first render <= 1 s: from navigation to the run page of that run (its 2,000-row
  trade table and the P&L and drawdown charts drawn by Chart.js) in headless Chromium, the
  worst of 5 loads; and the history page likewise.

The run is a real backtest on the synthetic market (the random controller, entry
probability 0.06 per side, up to 25 trades a day), so its trades carry every context column
a backtest records.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import uvicorn

from machine import row, write
from zerodte.config import load_settings, with_overrides
from zerodte.dashboard import create_app
from zerodte.dashboard.cache import ResponseCache
from zerodte.engine.backtest import run_backtest
from zerodte.market.loading import load_market

TRADES = 2000


def _fill(root: Path) -> tuple[str, int, Any]:
    env = {
        "ZERODTE_STORE__PATH": str(root / "store.db"),
        "ZERODTE_LIVE__JOURNAL_PATH": str(root / "journal.db"),
        "ZERODTE_ENGINE__RUNS_DIR": str(root / "runs"),
    }
    settings = load_settings(env=env, dotenv=None)
    settings = with_overrides(
        settings,
        {
            "entry.controller": "random",
            "entry.random_p_call": 0.06,
            "entry.random_p_put": 0.06,
            "gates.max_trades_per_day": 25,
            "gates.cooldown_minutes": 0.0,
            "gates.daily_loss_limit": 1e9,
        },
    )
    days = 100
    while True:
        market = load_market(settings, days=days, seed=3)
        run = run_backtest(settings, market, write=False, record=True, n_boot=200)
        trades = int(run.summary["trades"])
        if trades >= TRADES:
            return run.run_id, trades, settings
        days = int(days * TRADES / max(trades, 1) * 1.1) + 1


def _serve(settings: Any) -> tuple[uvicorn.Server, str, ResponseCache]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}", app.state.ctx.cache


def _latency(client: httpx.Client, url: str, n: int = 300) -> np.ndarray:
    for _ in range(20):
        client.get(url).raise_for_status()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        client.get(url).raise_for_status()
        out.append((time.perf_counter() - t0) * 1000.0)
    return np.array(out)


def _render(url: str, wait: str, n: int = 5) -> list[float]:
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"]
        )
        for _ in range(n):
            page = browser.new_page()
            t0 = time.perf_counter()
            page.goto(url)
            page.wait_for_function(wait)
            times.append((time.perf_counter() - t0) * 1000.0)
            page.close()
        browser.close()
    return times


def main() -> None:
    """Fill a store with one 2,000-trade run, serve it, measure, write results."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        run_id, trades, settings = _fill(Path(tmp))
        server, base, cache = _serve(settings)
        results = []
        with httpx.Client(base_url=base, timeout=30) as client:
            for name, path in (
                ("/api/trades", f"/api/trades?run_id={run_id}"),
                ("/api/trades/pnl-curve", f"/api/trades/pnl-curve?run_id={run_id}"),
            ):
                ms = _latency(client, path)
                p99 = float(np.percentile(ms, 99))
                results.append(
                    row(f"{name} p50, {trades} trades", float(np.median(ms)), "ms", None, None)
                )
                results.append(
                    row(f"{name} p99, {trades} trades", p99, "ms", "<= 50 ms", p99 <= 50)
                )
                cache.maxsize = 0  # every request reads the store and serializes again
                cache.clear()
                cold = _latency(client, path, n=60)
                cache.maxsize = 16
                results.append(
                    row(
                        f"{name} p99 uncached, {trades} trades",
                        float(np.percentile(cold, 99)),
                        "ms",
                        None,
                        None,
                    )
                )
        drawn = (
            "() => { const c = Chart.getChart(document.getElementById('pnl-chart'));"
            f" return c !== undefined && c.data.datasets[0].data.length === {trades}; }}"
        )
        run_page = _render(f"{base}/runs/{run_id}", drawn)
        history = _render(f"{base}/history", "() => document.querySelector('#runs') !== null")
        server.should_exit = True
    worst = max(run_page)
    results.append(
        row(
            f"run page first render, worst of 5 ({trades} trades)",
            worst,
            "ms",
            "<= 1000 ms",
            worst <= 1000,
        )
    )
    results.append(
        row(
            "history page first render, worst of 5",
            max(history),
            "ms",
            "<= 1000 ms",
            max(history) <= 1000,
        )
    )
    write(
        "dashboard",
        results,
        notes=(
            f"one real backtest of {trades} trades (random controller, synthetic seed 3) in a "
            "SQLite store; uvicorn on 127.0.0.1, one process; httpx client over loopback, 300 "
            "requests after 20 warm-up (a finished run's trades and curve are cached by run id and "
            "version: 'uncached' rows read the store and serialize on every request, 60 "
            "requests); render = navigation to the chart drawn (run page) or the "
            "table present (history) in headless Debian Chromium via Playwright; load average "
            f"{load:.2f} at the start on a machine shared with other work"
        ),
    )


if __name__ == "__main__":
    main()
