"""Fixtures of the dashboard tests: stores filled by real backtests, a replayed paper session
in a real journal, the app on SQLite or PostgreSQL, and a real server on loopback.

* ``filled`` (session): three backtests on the synthetic market (momentum and random on one
  five-day window, momentum on another), recorded in a SQLite store.
* ``live_session`` (session): ``zerodte trade --replay`` for the first 70 minutes of one
  day against the fake Tradier, journaled into a SQLite journal and recorded in the store.
* ``backend`` app factories: the same runs in SQLite, or copied into a fresh PostgreSQL
  schema (``postgres_url``), so every API test runs against both.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from zerodte.config import Settings, load_settings, with_overrides
from zerodte.config.settings import StoreSettings
from zerodte.dashboard import create_app
from zerodte.engine.clock import WallClock
from zerodte.store import RunStore, make_engine
from zerodte.store.schema import RUN_COLUMNS

TOKEN = "dash-token-5e6f7a8b9c"
ARTIFACTS = Path(
    os.environ.get("ZERODTE_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")
)


@dataclass
class Filled:
    """A store filled by real runs."""

    root: Path
    store: Path
    run_ids: list[str]
    trades: dict[str, int]


def dashboard_settings(root: Path, **env: str) -> Settings:
    """Settings of a dashboard over ``root``'s store and journal, with the write token."""
    base = {
        "ZERODTE_STORE__PATH": str(root / "store.db"),
        "ZERODTE_LIVE__JOURNAL_PATH": str(root / "journal.db"),
        "ZERODTE_DASHBOARD__API_TOKEN": TOKEN,
        "ZERODTE_DASHBOARD__LIVE_REFRESH_S": "0.2",
        **env,
    }
    return load_settings(env=base, dotenv=None)


@pytest.fixture(scope="session")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Filled:
    """Three real backtests in a SQLite store."""
    from engine.helpers import make_market
    from zerodte.engine.backtest import run_backtest

    root = tmp_path_factory.mktemp("dash-store")
    settings = dashboard_settings(root)
    run_ids, trades = [], {}
    for controller, seed in (("momentum", 1), ("random", 1), ("momentum", 2)):
        market = make_market(days=5, seed=seed)
        run = run_backtest(
            with_overrides(settings, {"entry.controller": controller}),
            market,
            write=False,
            record=True,
            n_boot=200,
        )
        run_ids.append(run.run_id)
        trades[run.run_id] = int(run.summary["trades"])
    return Filled(root, root / "store.db", run_ids, trades)


@pytest.fixture(scope="session")
def live_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory whose journal and store hold a replayed paper session (70 cycles)."""
    from zerodte.cli.main import app

    root = tmp_path_factory.mktemp("dash-live")
    env = {
        "ZERODTE_ENGINE__MAX_CYCLES": "70",
        "ZERODTE_STORE__PATH": str(root / "store.db"),
    }
    args = ["trade", "--replay", "--days", "1", "--seed", "7", "--journal"]
    args += [str(root / "journal.db"), "--run-dir", str(root / "run"), "--json"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    return root


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy a SQLite database in WAL mode (its -wal file included) with the backup API."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def copy_runs(source: Path, engine: sa.Engine) -> None:
    """Record every run of the SQLite store at ``source`` into ``engine``'s store."""
    src = RunStore(make_engine(StoreSettings(path=source)))
    dst = RunStore(engine)
    for run in src.list_runs():
        meta = {k: run[k] for k in RUN_COLUMNS if k not in ("summary", "meta")}
        dst.record_run(meta, run["summary"], src.trades(run["run_id"]))


@pytest.fixture(scope="module")
def pg_engine(postgres_url: str) -> Iterator[sa.Engine]:
    """A fresh PostgreSQL schema (its own search path), dropped at the end."""
    name = f"dash_{os.getpid()}_{time.monotonic_ns() % 10**9}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    url = sa.engine.make_url(postgres_url).update_query_dict({"options": f"-csearch_path={name}"})
    engine = make_engine(StoreSettings(url=url.render_as_string(hide_password=False)))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def client(request: pytest.FixtureRequest, filled: Filled, tmp_path: Path) -> TestClient:
    """The app over the filled store, on SQLite (a copy per test) or PostgreSQL."""
    settings = dashboard_settings(tmp_path)
    if request.param == "sqlite":
        copy_sqlite(filled.store, tmp_path / "store.db")
        return TestClient(create_app(settings))
    engine = request.getfixturevalue("pg_engine")
    with engine.begin() as conn:
        if sa.inspect(conn).has_table("runs"):
            for table in ("experiment_trials", "experiment_ideas", "experiment_families"):
                conn.execute(sa.text(f"DELETE FROM {table}"))
            conn.execute(sa.text("DELETE FROM trades"))
            conn.execute(sa.text("DELETE FROM runs"))
    copy_runs(filled.store, engine)
    return TestClient(create_app(settings, engine=engine))


def add_family(target: TestClient | sa.Engine, name: str = "default") -> None:
    """Create experiment family ``name`` (synthetic seed 7, default windows) in the store of
    ``target`` (an app's test client, or a store's engine)."""
    from zerodte.experiments.family import FamilyConfig
    from zerodte.store.experiments import ExperimentStore

    if isinstance(target, TestClient):
        store = target.app.state.ctx.ideas.store  # type: ignore[attr-defined]
    else:
        store = ExperimentStore(target, clock=WallClock().utc)
    store.ensure_family(name, FamilyConfig(name=name).to_dict())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    """A dashboard served by uvicorn on loopback."""

    url: str
    host: str
    port: int
    root: Path


@pytest.fixture(scope="session")
def served(
    filled: Filled, live_session: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """The filled store (plus the replayed session's run and journal) served on 127.0.0.1."""
    root = tmp_path_factory.mktemp("dash-served")
    copy_sqlite(filled.store, root / "store.db")
    copy_sqlite(live_session / "journal.db", root / "journal.db")
    engine = make_engine(StoreSettings(path=root / "store.db"))
    copy_runs(live_session / "store.db", engine)
    add_family(engine)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(dashboard_settings(root)), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the dashboard did not start within 20 s")
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", "127.0.0.1", port, root)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def chromium_path() -> tuple[str | None, str]:
    """Debian's Chromium, installed with apt-get when missing and possible; ``(path, why)``."""
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(candidate).is_file():
            return candidate, ""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None, "Chromium is not installed and apt-get cannot be run (not root)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = Path("/tmp/zerodte-chromium-install.lock")
    import fcntl

    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        if Path("/usr/bin/chromium").is_file():
            return "/usr/bin/chromium", ""
        for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                return None, f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-300:]}"
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium", ""
    return None, "apt-get install chromium ran but /usr/bin/chromium is still missing"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (skips only when it cannot be had)."""
    path, why = chromium_path()
    if path is None:
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=path, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield instance
        finally:
            instance.close()
