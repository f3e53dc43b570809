"""Helpers of the live replay tests: settings in a temp dir, a bot process, the fake's view.

``bot`` is the target of the crash test's bot processes (started from a forkserver that has
imported zerodte once, so a restart costs what a restarted bot really does: composition,
reconciliation, warm-up, restore), and writes its summary when its day is done.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from zerodte.broker.tradier.fake.replay import FAKE_ACCOUNT, FAKE_TOKEN
from zerodte.cli.trade_compose import TradeOptions, run_trade
from zerodte.config import Settings
from zerodte.config.settings import EngineSettings, StoreSettings
from zerodte.market.loading import MarketData

DAYS, SEED = 1, 7


def replay_settings(root: Path) -> Settings:
    """Default settings with runs and store under ``root``."""
    return Settings(
        engine=EngineSettings(runs_dir=root / "runs"),
        store=StoreSettings(path=root / "runs" / "zerodte.db"),
    )


def bot(  # noqa: PLR0917 (a Process target takes positional arguments)
    settings: Settings,
    market: MarketData,
    url: str,
    journal: str,
    out: str,
    started: Any = None,
) -> None:
    """One bot process: replay the day against the fake at ``url``; write the summary.

    ``started`` (a multiprocessing ``Event``) is set when the process begins its own work,
    after the fork and the unpickling of its arguments, so that a crash test can time its
    kills from the bot's start rather than from the request to spawn it.
    """
    if started is not None:
        started.set()
    logging.basicConfig(level=logging.ERROR)
    options = TradeOptions(
        replay=True,
        broker="fake-tradier",
        connect=url,
        journal=Path(journal),
        days=DAYS,
        seed=SEED,
        record=False,
        market=market,
    )
    (result,) = run_trade(settings, options)
    Path(out).write_text(json.dumps(result.summary))


@contextmanager
def fake_server(root: Path, *extra: str) -> Iterator[str]:
    """``zerodte fake-tradier serve`` in its own process; yields its root URL."""
    port_file = root / "port"
    zerodte = Path(sys.executable).parent / "zerodte"
    cmd = [
        str(zerodte),
        "fake-tradier",
        "serve",
        "--port-file",
        str(port_file),
        "--days",
        str(DAYS),
        "--seed",
        str(SEED),
        *extra,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZERODTE_")}
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not port_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"fake server did not start (exit {proc.returncode})")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port_file.read_text().strip()}"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def venue_orders(url: str) -> list[dict[str, Any]]:
    """Every order the fake holds today (with tags)."""
    with httpx.Client(base_url=url, headers=_headers()) as http:
        body = http.get(f"/v1/accounts/{FAKE_ACCOUNT}/orders", params={"includeTags": "true"})
        orders = body.json()["orders"]
    if orders in ("null", None):
        return []
    items = orders["order"]
    return items if isinstance(items, list) else [items]


def venue_stats(url: str) -> dict[str, Any]:
    """The fake's counters."""
    with httpx.Client(base_url=url, headers=_headers()) as http:
        stats: dict[str, Any] = http.get("/fake/state").json()
        return stats


def venue_positions(url: str) -> Any:
    """The fake's positions envelope."""
    with httpx.Client(base_url=url, headers=_headers()) as http:
        return http.get(f"/v1/accounts/{FAKE_ACCOUNT}/positions").json()["positions"]


def _headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {FAKE_TOKEN}", "Accept": "application/json"}
