"""The hostile-input and crash probe of issue 14, rerun: writes results/hostile.json.

    .venv/bin/python benchmarks/bench_hostile.py [--quick]

Figures (targets from the issue: 0 tracebacks, 0 silent accepts, 0 partial states, 0 lost
runs):

* corrupted import files: hypothesis-generated corruptions of every kind in
  ``tests/market/corruptions.py`` (random seed, many more than the suite's 250), judged by
  the same oracle: tracebacks, bad bars accepted, store changed on a refusal, refusals that
  name neither the file nor an option;
* the CLI's bad-file and bad-option cases of ``tests/test_cli_errors.py``, run through the
  real ``zerodte`` command in a subprocess: tracebacks;
* kill -9 at random moments of a 6-file import and of a 60-day generate
  (``tests/market/crash_harness.py``): partial states, verify failures, files left;
* kill -9 at random moments of backtests that write a run directory and record the run:
  directories without a store row and rows without a directory after recovery;
* corrupted model pairs (``tests/qscorer/test_artifacts_hostile.py``): loads accepted, a
  running controller losing its model, warnings per refused reload;
* 8 processes opening one fresh SQLite store, 20 rounds; the same on PostgreSQL when a
  server can be started; 16 concurrent backtests plus 720 direct store writes: lost runs;
* every bad setting of ``tests/config/test_config_domains.py``, from a file and the
  environment: accepted.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from machine import row, write  # noqa: E402

QUICK = "--quick" in sys.argv


def _context() -> Any:
    """One forkserver for every part, with what the children need preloaded."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(
        [
            "zerodte.market.store",
            "zerodte.market.files",
            "zerodte.market.synthetic",
            "zerodte.store",
            "zerodte.engine.backtest",
            "tests.market.crash_harness",
            "tests.engine.helpers",
            "tests.conftest",
        ]
    )
    return ctx


def _imports(n: int) -> list[dict[str, Any]]:
    from hypothesis import HealthCheck, given, settings
    from tests.market.corruptions import Case, cases, judge

    tally: Counter[str] = Counter()
    failures: list[str] = []

    @settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=cases())
    def run(case: Case) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            verdict = judge(case, Path(tmp))
        tally[verdict.outcome] += 1
        if verdict.outcome == "failed":
            failures.append(f"{case.kind}: {verdict.detail[:300]}")

    t0 = time.perf_counter()
    run()
    took = time.perf_counter() - t0
    tracebacks = sum("traceback" in f for f in failures)
    silent = sum("accepted" in f for f in failures)
    changed = sum("store changed" in f for f in failures)
    unnamed = sum("naming neither" in f for f in failures)
    for line in failures[:10]:
        print("  import failure:", line)
    total = sum(tally.values())
    return [
        row("corrupted import files", total, "files", None, None),
        row("  refused", tally["refused"], "files", None, None),
        row("  accepted (all bars equal the clean data)", tally["accepted"], "files", None, None),
        row("  tracebacks", tracebacks, "files", "0", tracebacks == 0),
        row("  bad bars accepted", silent, "files", "0", silent == 0),
        row("  store changed by a refusal", changed, "files", "0", changed == 0),
        row("  refusals naming neither file nor option", unnamed, "files", "0", unnamed == 0),
        row("  time per file", took / max(total, 1) * 1000, "ms", None, None),
    ]


def _cli() -> list[dict[str, Any]]:
    import pandas as pd
    from tests.test_cli_errors import FILES, _csv

    from zerodte.market.synthetic import generate_market

    bars = generate_market(__import__("datetime").date(2024, 3, 4), 1, seed=2)["SPY"]
    day = bars.assign(timestamp=bars["timestamp"].dt.tz_localize(None))
    exe = ROOT / ".venv" / "bin" / "zerodte"
    runs, tracebacks, wrong_code = 0, 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        good = work / "good.csv"
        good.write_bytes(_csv(day))
        commands: list[list[str]] = []
        for name, make in FILES.items():
            path = work / name
            path.write_bytes(make(day))
            commands.append(["data", "import", str(path), "--symbol", "SPY", "--tz", "UTC"])
        (work / "dir.csv").mkdir()
        commands += [
            ["data", "import", str(work / "dir.csv"), "--symbol", "SPY"],
            ["data", "import", str(good), "--symbol", "../../x", "--tz", "UTC"],
            ["data", "import", str(good), "--symbol", "", "--tz", "UTC"],
            ["data", "import", str(good), "--symbol", "SPY", "--tz", "Nowhere/City"],
            ["--log-level", "BOGUS", "data", "info"],
            ["q", "pipeline", "--horizon", "0"],
        ]
        env = {**os.environ, "ZERODTE_DATA__DATA_DIR": str(work / "data")}
        for args in commands:
            done = subprocess.run(
                [str(exe), *args], capture_output=True, text=True, env=env, cwd=work, check=False
            )
            runs += 1
            tracebacks += "Traceback" in done.stderr + done.stdout
            wrong_code += done.returncode != 2
        outside = [p for p in Path(tmp).parent.glob("x") if p.is_dir()]
        del pd
    return [
        row("CLI runs on bad files and options", runs, "runs", None, None),
        row("  tracebacks", tracebacks, "runs", "0", tracebacks == 0),
        row("  exit code other than 2", wrong_code, "runs", "0", wrong_code == 0),
        row("  files written outside the data directory", len(outside), "dirs", "0", not outside),
    ]


def _crashes(trials: int) -> list[dict[str, Any]]:
    from tests.market.crash_harness import run_trials, scenarios

    out: list[dict[str, Any]] = []
    ctx = _context()
    with tempfile.TemporaryDirectory() as tmp:
        for sc in scenarios(Path(tmp), generate_days=60):
            t = run_trials(ctx, sc, trials, Path(tmp) / "t", seed=11)
            partial = t.states["mixed"]
            verify = sum("verify failed" in f for f in t.failures)
            left = sum("left after open" in f for f in t.failures)
            other = len(t.failures) - partial - verify - left
            for f in t.failures[:5]:
                print("  crash failure:", f)
            out += [
                row(f"kill -9 during {sc.name}", t.trials, "trials", None, None),
                row("  ended in the old state", t.states["old"], "trials", None, None),
                row("  ended in the new state", t.states["new"], "trials", None, None),
                row("  partial states", partial, "trials", "0", partial == 0),
                row("  verify failures", verify, "trials", "0", verify == 0),
                row("  temporary files left after open", left, "trials", "0", left == 0),
                row("  unreadable stores", other, "trials", "0", other == 0),
                row("  stale files swept on open", t.swept, "items", None, None),
            ]
    return out


def _backtest_child(runs_dir: str, db: str, index: int, ready: Any) -> None:
    from tests.engine.helpers import make_market

    from zerodte.config import Settings, with_overrides
    from zerodte.engine.backtest import run_backtest

    market = make_market(days=2, seed=index)
    settings = with_overrides(
        Settings(), {"engine.runs_dir": runs_dir, "store.path": db, "engine.seed": index}
    )
    ready.set()
    run_backtest(settings, market, n_boot=50, code_version="probe")


def _run_publish_kills(trials: int) -> list[dict[str, Any]]:
    import random

    from zerodte.config.settings import StoreSettings
    from zerodte.engine.publish import recover_runs, store_lookup
    from zerodte.store import RunStore, make_engine

    ctx = _context()
    rng = random.Random(5)
    orphans = lost = interrupted = published = 0
    tokens: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs_dir, db = Path(tmp) / "runs", Path(tmp) / "runs.db"
        for i in range(trials):
            ready = ctx.Event()
            p = ctx.Process(target=_backtest_child, args=(str(runs_dir), str(db), i % 4, ready))
            p.start()
            ready.wait(timeout=60)
            time.sleep(rng.uniform(0, 1.5))
            interrupted += p.is_alive()
            p.kill()
            p.join()
            store = RunStore(make_engine(StoreSettings(path=db)))
            recover_runs(runs_dir, store_lookup(store))
            runs = store.list_runs()
            rows = {r["run_id"] for r in runs}
            now = {r["run_id"]: str((r["meta"] or {}).get("publish_token")) for r in runs}
            published += sum(tokens.get(k) != v for k, v in now.items())
            tokens = now
            dirs = (
                {d.name for d in runs_dir.iterdir() if d.is_dir() and not d.name.startswith(".")}
                if runs_dir.is_dir()
                else set()
            )
            orphans += len(dirs - rows)
            lost += len(rows - dirs)
            store.engine.dispose()
    return [
        row("kill -9 during backtests that record runs", trials, "trials", None, None),
        row("  killed while running", interrupted, "trials", None, None),
        row("  new versions published", published, "trials", None, None),
        row("  run directories without a store row", orphans, "runs", "0", orphans == 0),
        row("  store rows without a run directory", lost, "runs", "0", lost == 0),
    ]


def _models() -> list[dict[str, Any]]:
    import logging

    import numpy as np
    import pandas as pd
    from tests.qscorer.conftest import toy_dataset, toy_structured_settings
    from tests.qscorer.test_artifacts_hostile import CASES, CORRUPTIONS, _obs

    from zerodte.config.settings import QScorerSettings
    from zerodte.errors import ModelError
    from zerodte.qscorer.artifacts import load_model, save_model
    from zerodte.qscorer.controller import QScorerController
    from zerodte.qscorer.train import train_q_scorer

    models = {
        "mlp": train_q_scorer(
            toy_dataset(), QScorerSettings(model="mlp", epochs=5, ensemble_size=3, hidden=(16,))
        ).model,
        "structured": train_q_scorer(toy_dataset(), toy_structured_settings()).model,
    }
    accepted = lost = warnings_total = 0
    handler_records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            handler_records.append(record)

    log = logging.getLogger("zerodte.qscorer.controller")
    log.addHandler(Keep(level=logging.WARNING))
    with tempfile.TemporaryDirectory() as tmp:
        for i, (kind, case) in enumerate(CASES):
            model, corrupt = models[kind], CORRUPTIONS[kind][case]
            d = Path(tmp) / f"m{i}"
            save_model(d, model, {"feature_set": "toy"})
            clock = [0.0]
            ctl = QScorerController(
                load_model(d), model_dir=d, reload_sec=1, time_source=lambda c=clock: c[0]
            )
            sha = ctl.loaded.sha256
            corrupt(d, model)
            try:
                load_model(d)
                accepted += 1
            except ModelError:
                pass
            handler_records.clear()
            x = np.random.default_rng(i).normal(size=(1000, len(ctl.feature_columns)))
            t = pd.Timestamp("2024-01-02 10:00", tz="America/New_York")
            for r in x:
                clock[0] += 5
                ctl.decide(_obs(r, ctl.feature_columns, t))
            lost += ctl.loaded.sha256 != sha
            warnings_total += len(handler_records)
    n = len(CASES)
    return [
        row("corrupted model pairs (MLP and structured)", n, "pairs", None, None),
        row("  accepted by load_model", accepted, "pairs", "0", accepted == 0),
        row("  running controllers that lost their model", lost, "pairs", "0", lost == 0),
        row(
            "  warnings per pair over 1,000 bars",
            warnings_total / n,
            "warnings",
            "1",
            warnings_total == n,
        ),
    ]


def _first_use() -> list[dict[str, Any]]:
    import sqlalchemy as sa
    from tests.conftest import _trade_frame
    from tests.store.test_concurrent_first_use import PROCESSES, ROUNDS, _round

    from zerodte.config.settings import StoreSettings

    ctx = _context()
    trades = _trade_frame([{"pnl": 10.0 * k} for k in range(3)])
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        failed = sum(
            bool(_round(ctx, StoreSettings(path=Path(tmp) / f"r{r}" / "runs.db"), trades))
            for r in range(ROUNDS)
        )
    out.append(
        row(
            f"SQLite: {PROCESSES} processes x {ROUNDS} fresh stores, failed rounds",
            failed,
            "rounds",
            "0",
            failed == 0,
        )
    )
    url = os.environ.get("ZERODTE_TEST_POSTGRES_URL")
    server = None
    if url is None:
        from tests.conftest import _pg_bindir, _start_server, _stop_server

        bindir = _pg_bindir()
        if bindir is not None:
            url, data, _root = _start_server(bindir)
            server = (bindir, data)
    if url is None:
        out.append(row("PostgreSQL: not measured (no server binaries)", 0, "", None, None))
        return out
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    failed = 0
    try:
        for r in range(ROUNDS):
            name = f"probe_{os.getpid()}_{r}"
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            target = (
                sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)
            )
            failed += bool(_round(ctx, StoreSettings(url=target), trades))
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
        if server is not None:
            _stop_server(*server)
    out.append(
        row(
            f"PostgreSQL: {PROCESSES} processes x {ROUNDS} fresh databases, failed rounds",
            failed,
            "rounds",
            "0",
            failed == 0,
        )
    )
    return out


def _writes_child(db: str, index: int, barrier: Any, results: Any) -> None:
    from tests.conftest import _trade_frame

    from zerodte.config.settings import StoreSettings
    from zerodte.store import RunStore, make_engine

    barrier.wait(timeout=60)
    store = RunStore(make_engine(StoreSettings(path=Path(db))))
    ok = 0
    for k in range(90):
        store.record_run({"run_id": f"w{index}-{k}"}, {}, _trade_frame([{"pnl": 1.0}] * 25))
        ok += 1
    results.put(ok)


def _concurrent_runs() -> list[dict[str, Any]]:
    from zerodte.config.settings import StoreSettings
    from zerodte.store import RunStore, make_engine

    ctx = _context()
    with tempfile.TemporaryDirectory() as tmp:
        runs_dir, db = Path(tmp) / "runs", Path(tmp) / "fresh" / "runs.db"
        events = [ctx.Event() for _ in range(16)]  # kept: start() drops a process's args
        backtests = [
            ctx.Process(target=_backtest_child, args=(str(runs_dir), str(db), i, events[i]))
            for i in range(16)
        ]
        barrier, results = ctx.Barrier(8), ctx.Queue()
        writers = [
            ctx.Process(target=_writes_child, args=(str(db), i, barrier, results)) for i in range(8)
        ]
        for p in backtests + writers:
            p.start()
        written = sum(results.get(timeout=600) for _ in writers)
        for p in backtests + writers:
            p.join(timeout=600)
        store = RunStore(make_engine(StoreSettings(path=db)))
        runs = store.list_runs()
        trades = len(store.query_trades())
        backtest_rows = {r["run_id"] for r in runs if not r["run_id"].startswith("w")}
        dirs = {d.name for d in runs_dir.iterdir() if d.is_dir() and not d.name.startswith(".")}
    failed = sum(p.exitcode != 0 for p in backtests + writers)
    direct = sum(r["run_id"].startswith("w") for r in runs)
    # a run is lost unless both its row and its directory exist (16 backtests, 720 writes)
    lost = (720 - direct) + (16 - len(backtest_rows & dirs)) + len(dirs ^ backtest_rows)
    return [
        row(
            "16 concurrent backtests + 720 direct writes on a fresh store: failed processes",
            failed,
            "processes",
            "0",
            failed == 0,
        ),
        row("  direct writes recorded", direct, "runs", "720", direct == 720 and written == 720),
        row("  trades recorded", trades, "trades", None, None),
        row("  lost runs", lost, "runs", "0", lost == 0),
    ]


def _settings() -> list[dict[str, Any]]:
    from tests.config.test_config_domains import BAD

    from zerodte.config import load_settings
    from zerodte.config.fields import key_to_env
    from zerodte.errors import ConfigError

    tried = accepted = 0
    with tempfile.TemporaryDirectory() as tmp:
        for key, toml, env, _allowed in BAD:
            section, leaf = key.rsplit(".", 1)
            path = Path(tmp) / "c.toml"
            path.write_text(f"[{section}]\n{leaf} = {toml}\n")
            for kwargs in ({"config_file": path, "env": {}}, {"env": {key_to_env(key): env}}):
                if "config_file" not in kwargs and env is None:
                    continue
                tried += 1
                try:
                    load_settings(dotenv=None, **kwargs)  # type: ignore[arg-type]
                    accepted += 1
                except ConfigError:
                    pass
    return [
        row("bad settings (file and environment)", tried, "settings", None, None),
        row("  accepted", accepted, "settings", "0", accepted == 0),
    ]


def main() -> None:
    """Run every part and write results/hostile.json."""
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for name, part in (
        ("imports", lambda: _imports(300 if QUICK else 2000)),
        ("cli", _cli),
        ("crashes", lambda: _crashes(20 if QUICK else 150)),
        ("run publication", lambda: _run_publish_kills(10 if QUICK else 40)),
        ("models", _models),
        ("first use", _first_use),
        ("concurrent runs", _concurrent_runs),
        ("settings", _settings),
    ):
        t = time.perf_counter()
        rows += part()
        print(f"{name}: {time.perf_counter() - t:.1f} s", flush=True)
    notes = (
        f"issue 14's probe, rerun by benchmarks/bench_hostile.py{' --quick' if QUICK else ''} in "
        f"{time.perf_counter() - t0:.0f} s; the suite runs the same cases in smaller numbers"
    )
    print(json.dumps(rows, indent=1))
    write("hostile", rows, notes)


if __name__ == "__main__":
    main()
