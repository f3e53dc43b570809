"""Shared fixtures: a working directory of each test's own, the real-data directory and a
throw-away PostgreSQL server.

Every test runs in an empty working directory of its own (``_own_cwd``), and session- and
module-scoped fixtures in one of the session's (``_session_cwd``): what the settings take
relative to the working directory (the ``data`` store, ``runs``, a ``.env`` file) never
reads or writes the checkout, and one test's default store is never another's.

``postgres_url`` (session scope) yields a SQLAlchemy URL of an empty database:

1. ``ZERODTE_TEST_POSTGRES_URL`` when set (an existing server; the tests create and drop
   their own tables in it);
2. otherwise a private server: the PostgreSQL binaries are looked up under
   ``/usr/lib/postgresql/*/bin`` (or on PATH); if they are missing and this runs as root with
   apt-get available, ``apt-get install -y postgresql`` installs them once (logged, under a
   file lock so parallel workers do not race); then ``initdb`` into a temp directory, start
   the server on a free 127.0.0.1 port with its socket in that directory (as the
   ``postgres`` user when running as root, since PostgreSQL refuses to run as root), create a
   database, and stop the server and delete the directory at the end of the session.

If none of that is possible the fixture skips with the reason. Each pytest-xdist worker
starts its own server (a few seconds), so workers never share tables.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import logging
import multiprocessing
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger("zerodte.tests.postgres")

REAL_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real"
INSTALL_LOCK = Path(tempfile.gettempdir()) / "zerodte-postgres-install.lock"


FORKSERVER_PRELOAD = [
    "pytest",  # a child re-runs the main module (pytest) first: make that free
    "pandas",
    "pyarrow.parquet",
    "sqlalchemy",
    "zerodte.market.store",
    "zerodte.market.files",
    "zerodte.market.synthetic",
    "zerodte.store.runs",  # the package itself imports its names on first use
    "zerodte.engine.publish",
    "market.crash_harness",  # builds the exchange calendar once, in the server
]
"""Modules the forkserver imports once; a missing one is skipped by multiprocessing."""


@pytest.fixture(scope="session", autouse=True)
def _session_cwd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The session's fixtures work in a directory of their own (module docstring)."""
    before = Path.cwd()
    here = tmp_path_factory.mktemp("cwd-session")
    os.chdir(here)
    yield here
    os.chdir(before)


@pytest.fixture(autouse=True)
def _own_cwd(
    _session_cwd: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Each test works in an empty directory of its own (module docstring)."""
    here = tmp_path_factory.mktemp("cwd")
    monkeypatch.chdir(here)
    return here


@pytest.fixture(scope="session")
def forkserver() -> Any:
    """A ``multiprocessing`` context whose children fork from a server that has zerodte
    preloaded, so that a child process costs milliseconds (the crash and concurrency tests
    start hundreds). One server per test process: the first use fixes its preload."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(FORKSERVER_PRELOAD)
    return ctx


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """``../shared/data/real`` beside the repository; skips when it is absent."""
    path = REAL_DATA.resolve()
    if not path.is_dir():
        pytest.skip(f"../shared/data/real not present: {path} does not exist")
    return path


def _pg_bindir() -> Path | None:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def _install_postgres() -> str | None:
    """apt-get install postgresql once; return why it could not be done, or None."""
    if os.geteuid() != 0:
        return "PostgreSQL binaries not found and not root, so cannot apt-get install them"
    if shutil.which("apt-get") is None:
        return "PostgreSQL binaries not found and apt-get is not available"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with open(INSTALL_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _pg_bindir() is not None:  # another worker installed it while we waited
            return None
        logger.warning("PostgreSQL not found: running apt-get install -y postgresql (once)")
        for cmd in (
            ["apt-get", "update", "-q"],
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"],
        ):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                return f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-500:]}"
    return None if _pg_bindir() is not None else "apt-get ran but initdb is still missing"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_db_user(cmd: list[str]) -> list[str]:
    """Run as ``postgres`` when we are root (the server refuses to run as root)."""
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *cmd]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(cmd)]


def _start_server(bindir: Path) -> tuple[str, Path, Path]:
    """initdb + pg_ctl start; return (url, data dir, temp root). Raises RuntimeError."""
    root = Path(tempfile.mkdtemp(prefix="zerodte-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise RuntimeError("running as root but there is no 'postgres' user") from exc
        os.chown(root, pw.pw_uid, pw.pw_gid)
    port = _free_port()

    def run(cmd: list[str]) -> None:
        done = subprocess.run(_as_db_user(cmd), capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {done.stdout[-800:]} {done.stderr[-800:]}")

    run(
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]
    )
    # fsync off: a test database is disposable and this keeps the fixture fast.
    opts = f"-k {root} -h 127.0.0.1 -p {port} -c fsync=off -c full_page_writes=off"
    run(
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(root / "log"),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "start",
        ]
    )
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(
                f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True
            ) as conn:
                conn.execute("CREATE DATABASE zerodte_test")
            break
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                _stop_server(bindir, data)
                raise RuntimeError(f"server did not accept connections: {exc}") from exc
            time.sleep(0.2)
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/zerodte_test", data, root


def _stop_server(bindir: Path, data: Path) -> None:
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(
            _as_db_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            capture_output=True,
            check=False,
            timeout=60,
        )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of an empty PostgreSQL database for this test session (see module docstring)."""
    given = os.environ.get("ZERODTE_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    bindir = _pg_bindir()
    if bindir is None:
        reason = _install_postgres()
        bindir = _pg_bindir()
        if bindir is None:
            pytest.skip(f"no PostgreSQL server available: {reason}")
    try:
        url, data, root = _start_server(bindir)
    except (RuntimeError, OSError) as exc:
        pytest.skip(f"could not start a private PostgreSQL server: {exc}")
    try:
        yield url
    finally:
        _stop_server(bindir, data)
        shutil.rmtree(root, ignore_errors=True)


def _trade_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """Trades with every TRADE_COLUMNS column; unspecified context columns are null."""
    import numpy as np
    import pandas as pd

    from zerodte.records import TRADE_COLUMNS

    out = []
    for i, spec in enumerate(rows):
        entry = pd.Timestamp(spec.get("entry_time", "2024-03-04 10:00"), tz="America/New_York")
        hold = float(spec.get("hold_minutes", 15.0))  # type: ignore[arg-type]
        qty = int(spec.get("qty", 1))  # type: ignore[call-overload]
        entry_price = float(spec.get("entry_price", 2.0))  # type: ignore[arg-type]
        fees = float(spec.get("fees", 1.3))  # type: ignore[arg-type]
        pnl = float(spec["pnl"])  # type: ignore[arg-type]
        exit_price = entry_price + (pnl + fees) / (100 * qty)
        row: dict[str, object] = {c: np.nan for c in TRADE_COLUMNS}
        row.update(
            trade_id=i,
            tag=f"zdte-{i}",
            position_tag=f"zdte-{i}",
            legs=1,
            entry_quote="model",
            exit_quote="model",
            session=entry.date(),
            entry_time=entry,
            exit_time=entry + pd.Timedelta(minutes=hold),
            symbol="SPY240304C00510000",
            underlying="SPY",
            right="C",
            strike=510.0,
            expiry=entry.date(),
            qty=qty,
            entry_price=entry_price,
            exit_price=exit_price,
            fees=fees,
            pnl=pnl,
            pnl_pct=pnl / (entry_price * 100 * qty) * 100,
            exit_reason="take_profit" if pnl > 0 else "stop_loss",
            hold_minutes=hold,
            entry_controller="rules",
            signal_strategy="momentum",
            signal_reasoning=None,
        )
        row.update({k: v for k, v in spec.items() if k != "entry_time"})
        out.append(row)
    frame = pd.DataFrame(out, columns=list(TRADE_COLUMNS))
    for col in ("entry_time", "exit_time"):
        ts = pd.to_datetime(frame[col])
        tz = "America/New_York"
        frame[col] = ts.dt.tz_localize(tz) if ts.dt.tz is None else ts.dt.tz_convert(tz)
    return frame


@pytest.fixture
def make_trades():  # type: ignore[no-untyped-def]
    """Factory ``make_trades([{"pnl": 100.0, "entry_time": "2024-03-04 10:00"}, ...])``."""
    return _trade_frame
