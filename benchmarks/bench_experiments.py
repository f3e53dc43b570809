"""Experiments benchmark: whole-process backtest vs backtesting.py, trials per hour, claims.

    .venv/bin/python benchmarks/bench_experiments.py [--pairs 3] [--skip-postgres]

1. **Whole process, one synthetic year** (alternating runs, ``/usr/bin/time -v``):
   ``zerodte backtest --controller momentum --days 252 --json`` against
   ``python benchmarks/peer_backtesting.py DATA --days 252`` (backtesting.py, a stock-only
   momentum rule on the same SPY minute bars). Medians of wall seconds and peak RSS, and
   the median of the pairwise ratios.
   The same pairs with ``--plots`` (``equity.png`` drawn; the records are the same bytes).
2. **5K-cycle quick test, whole process**: ``zerodte backtest --days 13`` (5 070 cycles),
   with and without ``--plots``.
3. **Memory per extra replayed year**: peak RSS of ``--seed 7 --days 252`` and ``--days 504``.
4. **Trials per hour on 2 cores**: two ``zerodte experiments worker --once`` processes on
   one SQLite store, a quick-test family of edge-0 ideas (13-session quick window).
5. **PostgreSQL claim latency with three workers**: three processes claim and finish 100
   trivial ideas each from one queue (a private server started as the tests start it).

Every figure is taken on a shared machine: the load average is recorded with it.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from machine import row, write  # noqa: E402

BIN = Path(sys.executable).parent
ZERODTE = str(BIN / "zerodte")


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one whole process, by ``/usr/bin/time -v``."""
    out = subprocess.run(
        ["/usr/bin/time", "-v", *cmd], cwd=cwd, capture_output=True, text=True, check=True
    )
    wall = re.search(r"Elapsed \(wall clock\) time .*: (?:(\d+):)?(\d+):([\d.]+)", out.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr)
    assert wall and rss, out.stderr[-500:]
    h, m, s = wall.groups()
    return int(h or 0) * 3600 + int(m) * 60 + float(s), int(rss.group(1)) / 1024


def load() -> float:
    """One-minute load average."""
    return round(os.getloadavg()[0], 2)


def whole_process(tmp: Path, pairs: int) -> list[dict[str, object]]:
    subprocess.run([ZERODTE, "data", "generate", "--days", "252"], cwd=tmp, check=True)
    ours = [ZERODTE, "backtest", "--controller", "momentum", "--days", "252", "--json"]
    peer = [sys.executable, str(HERE / "peer_backtesting.py"), str(tmp / "data"), "--days", "252"]
    timed(ours, tmp), timed(peer, tmp)  # warm-up (file cache, bytecode)
    a, b, ratios, loads = [], [], [], [load()]
    bare, bare_ratios = [], []
    for _ in range(pairs):
        loads.append(load())
        ta = timed(ours, tmp)
        tb = timed(peer, tmp)
        tc = timed([*ours, "--plots"], tmp)
        a.append(ta)
        b.append(tb)
        bare.append(tc)
        ratios.append(ta[0] / tb[0])
        bare_ratios.append(tc[0] / tb[0])
    quick = [timed([*ours[:4], "--days", "13", "--json"], tmp) for _ in range(max(1, pairs))]
    quick_bare = [
        timed([*ours[:4], "--days", "13", "--json", "--plots"], tmp) for _ in range(max(1, pairs))
    ]
    year1 = timed([*ours[:4], "--seed", "7", "--days", "252", "--json"], tmp)[1]
    year2 = timed([*ours[:4], "--seed", "7", "--days", "504", "--json"], tmp)[1]
    q_wall = statistics.median(x[0] for x in quick)
    q_bare = statistics.median(x[0] for x in quick_bare)
    growth = year2 - year1
    rows = [
        row("5K-cycle quick test (13 days), whole process", q_wall, "s", "<= 1 s", q_wall <= 1.0),
        row("5K-cycle quick test, --plots", q_bare, "s", None, None),
        row("peak RSS growth per extra replayed year", growth, "MB", "<= 50 MB", growth <= 50),
        row("load average during the whole-process runs", statistics.median(loads), "", None, None),
    ]
    if not pairs:  # --pairs 0: the peer comparison is taken elsewhere (alternating runs)
        return rows
    ratio = statistics.median(ratios)
    bare_ratio = statistics.median(bare_ratios)
    peak = statistics.median(x[1] for x in a)
    bare_peak = statistics.median(x[1] for x in bare)
    ours_wall = statistics.median(x[0] for x in a)
    peer_wall = statistics.median(x[0] for x in b)
    return [
        row("zerodte backtest 252 days, wall (median)", ours_wall, "s", None, None),
        row("backtesting.py same minutes, wall (median)", peer_wall, "s", None, None),
        row("whole-process ratio zerodte / backtesting.py", ratio, "x", "<= 1.0", ratio <= 1.0),
        row("zerodte peak RSS, 252 days", peak, "MB", "<= 300 MB", peak <= 300),
        row("ratio with --plots", bare_ratio, "x", None, None),
        row("zerodte peak RSS, 252 days, --plots", bare_peak, "MB", None, None),
        row("backtesting.py peak RSS", statistics.median(x[1] for x in b), "MB", None, None),
        *rows,
    ]


def trials_per_hour(tmp: Path, ideas: int = 8) -> list[dict[str, object]]:
    db = tmp / "exp" / "store.db"
    env = {**os.environ, "ZERODTE_STORE__PATH": str(db)}
    common = ["--family", "bench", "--seed", "3", "--edge", "0", "--quick-days", "13"]
    for i in range(ideas):
        subprocess.run(
            [
                ZERODTE,
                "experiments",
                "add",
                f"stop {4 + i}",
                "--set",
                f"exits.stop_loss_pct={4 + i}",
                *common,
            ],
            cwd=tmp,
            env=env,
            check=True,
            capture_output=True,
        )
    before = load()
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [ZERODTE, "experiments", "worker", "--once"],
            cwd=tmp,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    for p in procs:
        p.wait()
    wall = time.perf_counter() - t0
    return [
        row(
            "quick-test trials per hour, 2 worker processes (13 sessions each)",
            ideas / wall * 3600,
            "trials/h",
            None,
            None,
        ),
        row("load average before the family", before, "", None, None),
    ]


def claim_latency(url: str) -> list[dict[str, object]]:
    import multiprocessing

    from zerodte.config.settings import StoreSettings
    from zerodte.engine.clock import WallClock
    from zerodte.store import make_engine
    from zerodte.store.experiments import ExperimentStore

    store = ExperimentStore(make_engine(StoreSettings(url=url)), clock=WallClock().utc)
    store.ensure_family("latency", {"note": "bench"})
    for i in range(300):
        store.add_idea("latency", f"i{i}", {"i": i}, f"lat-{time.time_ns()}-{i}")
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_claimer, args=(url, f"w{k}", queue)) for k in range(3)]
    for p in procs:
        p.start()
    samples: list[float] = []
    for _ in procs:
        samples += queue.get(timeout=300)
    for p in procs:
        p.join()
    samples.sort()
    return [
        row(
            "PostgreSQL claim latency, 3 workers, median",
            1000 * statistics.median(samples),
            "ms",
            None,
            None,
        ),
        row(
            "PostgreSQL claim latency, 3 workers, p95",
            1000 * samples[int(0.95 * len(samples))],
            "ms",
            None,
            None,
        ),
        row("claims measured", len(samples), "claims", None, None),
    ]


def _claimer(url: str, name: str, queue: object) -> None:
    from zerodte.config.settings import StoreSettings
    from zerodte.engine.clock import WallClock
    from zerodte.store import make_engine
    from zerodte.store.experiments import ExperimentStore

    store = ExperimentStore(
        make_engine(StoreSettings(url=url)), clock=WallClock().utc, migrate_schema=False
    )
    out = []
    while True:
        t0 = time.perf_counter()
        claim = store.claim(name, family="latency")
        out.append(time.perf_counter() - t0)
        if claim is None:
            break
        store.fail(claim, "benchmark: claimed and released")
    queue.put(out[:-1])  # type: ignore[attr-defined]


def _postgres() -> tuple[str, object] | None:
    sys.path.insert(0, str(ROOT / "tests"))
    import conftest  # the tests' private-server helpers

    bindir = conftest._pg_bindir()
    if bindir is None:
        return None
    url, data, root = conftest._start_server(bindir)
    return url, (bindir, data, root)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--skip-postgres", action="store_true")
    args = ap.parse_args()
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        results += whole_process(tmp, args.pairs)
        results += trials_per_hour(tmp)
    if not args.skip_postgres:
        pg = _postgres()
        if pg is not None:
            import shutil

            import conftest

            url, (bindir, data, root) = pg  # type: ignore[misc]
            try:
                results += claim_latency(url)
            finally:
                conftest._stop_server(bindir, data)
                shutil.rmtree(root, ignore_errors=True)
    notes = (
        "whole-process figures by /usr/bin/time -v, zerodte and backtesting.py run alternately; "
        "backtesting.py trades the stock (no option is priced), zerodte prices a 0DTE option "
        "every minute with the honest fills; the machine's 2 cores were shared with other "
        "work (load averages in the table)"
    )
    print(write("experiments", results, notes))


if __name__ == "__main__":
    main()
