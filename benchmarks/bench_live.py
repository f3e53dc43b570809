"""The live loop against the fake Tradier on loopback: decision latency and a day's replay.

    .venv/bin/python benchmarks/bench_live.py

Targets (the live issue):

* decision latency from a new quote to the order request <= 50 ms p99. Measured with the
  bot's own httpx event hooks: from the arrival of the last market-data reply of a cycle
  (bars, quotes, chain) to the first request of the order it decided (its preview), and to
  the placement itself; over every order of an active replay (3 days, momentum at a 0.05 %
  threshold, up to 40 trades a day);
* replay of one trading day at full acceleration <= 30 s (wall time of ``zerodte trade
  --replay --days 1``'s work: the fake's market, the bot, journal and checkpoints).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from machine import row, write
from zerodte.cli.trade_compose import TradeOptions, run_trade
from zerodte.config import Settings
from zerodte.config.settings import EngineSettings, StoreSettings
from zerodte.market.loading import load_market

MARKET_PATHS = ("/markets/timesales", "/markets/quotes", "/markets/options/chains")


def _settings(root: Path, active: bool) -> Settings:
    base = Settings(
        engine=EngineSettings(runs_dir=root / "runs"),
        store=StoreSettings(path=root / "runs" / "z.db"),
    )
    if not active:
        return base
    entry = base.entry.model_copy(update={"momentum_threshold_pct": 0.05})
    gates = base.gates.model_copy(update={"max_trades_per_day": 40})
    return base.model_copy(update={"entry": entry, "gates": gates})


def latencies(root: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """Order latencies (to the preview, to the placement) in ms, and the cycles run."""
    last_data = [0.0]
    to_preview: list[float] = []
    to_place: list[float] = []
    pending = {"first": True}

    def on_response(response: httpx.Response) -> None:
        if any(p in response.request.url.path for p in MARKET_PATHS):
            last_data[0] = time.perf_counter()
            pending["first"] = True

    def on_request(request: httpx.Request) -> None:
        if request.method != "POST" or not request.url.path.endswith("/orders"):
            return
        gap = 1e3 * (time.perf_counter() - last_data[0])
        if b"preview=true" in request.content:
            if pending["first"]:
                to_preview.append(gap)
                pending["first"] = False
        else:
            to_place.append(gap)

    settings = _settings(root, active=True)
    market = load_market(settings, days=3, seed=7)
    options = TradeOptions(
        replay=True,
        broker="fake-tradier",
        market=market,
        record=False,
        on_request=on_request,
        on_response=on_response,
    )
    results = run_trade(settings, options)
    cycles = sum(r.summary["cycles"] for r in results)
    return np.array(to_preview), np.array(to_place), cycles


def replay_day(root: Path) -> tuple[float, int, int]:
    """Wall seconds to replay one day, its cycles and orders."""
    settings = _settings(root, active=False)
    market = load_market(settings, days=1, seed=7)
    t0 = time.perf_counter()
    (result,) = run_trade(
        settings,
        TradeOptions(replay=True, broker="fake-tradier", market=market, record=False),
    )
    elapsed = time.perf_counter() - t0
    return elapsed, result.summary["cycles"], result.summary["orders"]["journaled"]


def main() -> None:
    """Measure and write ``results/live.json``."""
    with tempfile.TemporaryDirectory() as d:
        seconds, cycles, orders = replay_day(Path(d) / "day")
        preview, place, active_cycles = latencies(Path(d) / "active")
    p99_preview = float(np.percentile(preview, 99))
    p99_place = float(np.percentile(place, 99))
    rows = [
        row("replay one day at full acceleration", seconds, "s", "<= 30 s", seconds <= 30),
        row("  cycles of that day", cycles, "cycles", None, None),
        row("  orders of that day", orders, "orders", None, None),
        row(
            "decision latency to the order request, p99",
            p99_preview,
            "ms",
            "<= 50 ms",
            p99_preview <= 50,
        ),
        row("  same, p50", float(np.median(preview)), "ms", None, None),
        row("  to the placement (after the preview), p99", p99_place, "ms", None, None),
        row("  orders measured", len(preview), "orders", None, None),
        row("  cycles of the active replay", active_cycles, "cycles", None, None),
    ]
    path = write(
        "live",
        rows,
        notes="fake Tradier on a loopback uvicorn server in the same process; real HTTP",
    )
    for r in rows:
        print(f"{r['name']}: {r['value']:.4g} {r['unit']} (target {r['target']})")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
