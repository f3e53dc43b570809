"""Kill -9 a store write at random moments; the store must hold the old or the new state.

Used by ``test_store_crash.py`` (a bounded number of trials) and by
``benchmarks/bench_hostile.py`` (many more). A *scenario* is a multi-file write (a
multi-symbol import over two years: 6 files; a synthetic generate: 3 files). Each trial
copies a pristine store holding the *old* state, starts the write in a child process
(forked from a forkserver that has zerodte, this module and so the exchange calendar
preloaded: a trial costs milliseconds, not an interpreter start), sends SIGKILL at a random
moment, then opens the store (which sweeps what the writer left) and checks:

* its data hash is the old state's or the new state's (measured by an uninterrupted run);
* ``verify()`` passes;
* no staging directory, unpublished generation or temporary file survived the open.

Half the trials kill uniformly over the child's whole run; the other half wait until the
child starts writing and kill uniformly over 1.5 times the measured write time, so that
the kills land in the staging and publishing steps that matter.
"""

from __future__ import annotations

import random
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from zerodte.market.calendar import TradingCalendar
from zerodte.market.generations import STAGING_PREFIX, Generations, generation_number
from zerodte.market.store import ParquetStore

# Built once here: this module is preloaded by the forkserver, so every forked child starts
# with the exchange calendar (about 1 s to build) already in memory.
TradingCalendar()


# -- scenarios: the old state, the file, and the child's work --------------------------------
def _import_bars() -> pd.DataFrame:
    """A long CSV's rows: SPY, QQQ, VIX over 2023-12-28 .. 2024-01-03 (two calendar years)."""
    from zerodte.market.synthetic import generate_market

    bars = generate_market(date(2023, 12, 28), 4, seed=21)
    parts = [f.assign(symbol=sym) for sym, f in bars.items()]
    return pd.concat(parts, ignore_index=True)


def _old_state(data_dir: Path) -> None:
    from zerodte.market.synthetic import generate_market

    ParquetStore(data_dir).write_many(
        generate_market(date(2023, 12, 26), 2, seed=5), "synthetic:old"
    )


def _import_child(data_dir: str, file: str, ready: Any) -> None:
    from zerodte.market.files import import_file

    result = import_file(file)
    ready.set()
    ParquetStore(data_dir).write_many(
        result.bars, source="synthetic:file:crash.csv"
    )  # generated rows


def _generate_child(data_dir: str, days: str, ready: Any) -> None:
    from zerodte.market.synthetic import SyntheticConfig, simulate_market

    market = simulate_market(SyntheticConfig(seed=3, days=int(days), start=date(2023, 12, 28)))
    ready.set()
    ParquetStore(data_dir).write_many(market.bars, source="synthetic:seed=3")


@dataclass
class Scenario:
    """One multi-file write: ``child(data_dir, arg, ready)`` run in a killable process."""

    name: str
    child: Any
    arg: str


def scenarios(work: Path, generate_days: int = 5) -> list[Scenario]:
    """The import (6 files) and generate (3 files) scenarios; writes their input files."""
    csv = work / "crash.csv"
    _import_bars().to_csv(csv, index=False)
    return [
        Scenario("import 3 symbols x 2 years", _import_child, str(csv)),
        Scenario(f"generate {generate_days} days", _generate_child, str(generate_days)),
    ]


# -- the harness ------------------------------------------------------------------------------
@dataclass
class Tally:
    """Outcomes of the trials of one scenario."""

    trials: int = 0
    states: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    swept: int = 0
    interrupted_writes: int = 0


def leftovers(data_dir: Path) -> list[str]:
    """Staging directories, unpublished generations and temp files under the store."""
    root = data_dir / "bars"
    if not root.is_dir():
        return []
    current = Generations(root).current_name()
    published = generation_number(current) if current else None
    out = []
    for p in root.iterdir():
        number = generation_number(p.name) if p.is_dir() else None
        unpublished = number is not None and (published is None or number > published)
        if p.name.startswith(STAGING_PREFIX) or p.name.endswith(".tmp") or unpublished:
            out.append(p.name)
    return out


def _run_child(ctx: Any, sc: Scenario, data_dir: Path) -> tuple[Any, Any]:
    ready = ctx.Event()
    proc = ctx.Process(target=sc.child, args=(str(data_dir), sc.arg, ready), daemon=True)
    proc.start()
    return proc, ready


def _wait_ready(proc: Any, ready: Any, timeout: float = 120.0) -> bool:
    """Wait until the child reaches its write; False when it ended or timed out first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready.wait(timeout=0.01):
            return True
        if not proc.is_alive():
            return ready.is_set()
    return False


def _timings(ctx: Any, sc: Scenario, pristine: Path, work: Path) -> tuple[float, float, str]:
    """Whole-run and write-phase seconds of an uninterrupted run, and the new state's hash."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(pristine, work)
    t0 = time.perf_counter()
    proc, ready = _run_child(ctx, sc, work)
    if not _wait_ready(proc, ready):
        raise RuntimeError(f"{sc.name}: the child never reached its write ({proc.exitcode})")
    t1 = time.perf_counter()
    proc.join(timeout=120)
    t2 = time.perf_counter()
    if proc.exitcode != 0:
        raise RuntimeError(f"{sc.name}: the uninterrupted child failed ({proc.exitcode})")
    return t2 - t0, t2 - t1, ParquetStore(work).data_hash()


def run_trials(ctx: Any, sc: Scenario, trials: int, base: Path, seed: int = 0) -> Tally:
    """``trials`` kill -9 trials of ``sc`` in processes of the forkserver context ``ctx``."""
    rng = random.Random(seed)
    pristine, work = base / "pristine", base / "work"
    shutil.rmtree(pristine, ignore_errors=True)
    _old_state(pristine)
    old = ParquetStore(pristine).data_hash()
    _timings(ctx, sc, pristine, work)  # the first run also starts the forkserver
    total, write, new = _timings(ctx, sc, pristine, work)
    tally = Tally()
    for i in range(trials):
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(pristine, work)
        proc, ready = _run_child(ctx, sc, work)
        if i % 2 == 0:
            time.sleep(rng.uniform(0.0, total * 1.1))
        else:
            _wait_ready(proc, ready)
            time.sleep(rng.uniform(0.0, write * 1.5))
        writing = ready.is_set() and proc.is_alive()
        proc.kill()
        proc.join(timeout=30)
        tally.trials += 1
        try:
            store = ParquetStore(work)
            tally.swept += len(store.recovered)
            digest = store.data_hash()
            state = {old: "old", new: "new"}.get(digest, "mixed")
            tally.states[state] += 1
            tally.interrupted_writes += writing and state == "old"
            report = store.verify()
            left = leftovers(work)
            if state == "mixed":
                tally.failures.append(f"trial {i}: a state that is neither old nor new")
            if not report.ok:
                tally.failures.append(f"trial {i}: verify failed: {report.render(5)}")
            if left:
                tally.failures.append(f"trial {i}: left after open: {left}")
        except Exception as exc:  # a crash that leaves an unreadable store is a failure
            tally.failures.append(f"trial {i}: {type(exc).__name__}: {exc}")
    return tally
