"""Fan-out of independent trials: local processes, a Dask ``LocalCluster`` or a scheduler.

``executor`` is ``"local"`` (a process pool on this machine), ``"dask"`` (a Dask
``LocalCluster`` with ``workers`` single-threaded processes) or ``"dask://HOST:PORT"``
(a running Dask scheduler, so the trials spread over every machine with a Dask worker).
Local processes and ``dask://`` are :func:`zerodte.qscorer.power.map_tasks`, shared with
the power study.

:func:`run_batch` is ``zerodte experiments run --executor ...``: it claims up to
``workers`` ideas, heartbeats them while the trials run on the executor, then finishes
each (trial row and decision in one transaction, as a worker does). A claim lost while the
batch ran (requeued after a stall) is discarded, never counted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from zerodte.config import Settings
from zerodte.experiments.trial import MarketCache, TrialOutcome, run_claim
from zerodte.experiments.worker import Worker, experiment_dir
from zerodte.store.experiments import Claim, ExperimentStore

logger = logging.getLogger(__name__)

T = TypeVar("T")


def map_on(fn: Callable[[Any], T], tasks: Sequence[Any], executor: str, workers: int) -> list[T]:
    """``[fn(t) for t in tasks]`` on ``executor`` (see the module docstring), in order."""
    if executor == "dask":
        from distributed import Client, LocalCluster

        with (
            LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True) as lc,
            Client(lc) as client,
        ):
            return list(client.gather(client.map(fn, list(tasks), pure=False)))
    from zerodte.qscorer.power import map_tasks

    return map_tasks(fn, tasks, executor, workers)


@dataclass(frozen=True)
class TrialTask:
    """Everything one trial needs on another process or machine (picklable)."""

    settings: Settings
    family: dict[str, Any]
    claim: Claim
    run_dir: Path | None


def run_task(task: TrialTask) -> TrialOutcome:
    """Run one claimed trial (no store access: the claimer records it)."""
    return run_claim(
        task.settings, task.family, task.claim, MarketCache(task.settings), task.run_dir
    )


def run_batch(  # noqa: PLR0917
    store: ExperimentStore,
    settings: Settings,
    executor: str,
    workers: int,
    runs_dir: Path,
    worker: Worker,
) -> list[dict[str, Any]]:
    """Claim up to ``workers`` ideas, run them on ``executor`` and record the decisions."""
    from zerodte.qscorer.power import check_executor

    check_executor(executor, also=("dask",))  # before any idea is claimed
    store.requeue_stale(worker.config.stale_s, max_attempts=worker.config.max_attempts)
    claims: list[Claim] = []
    while len(claims) < max(1, workers):
        c = store.claim(worker.worker_id, family=worker.family)
        if c is None:
            break
        claims.append(c)
    if not claims:
        return []
    done = threading.Event()

    def beat() -> None:
        while not done.wait(worker.config.heartbeat_s):
            for c in claims:
                store.heartbeat(c)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    tasks = []
    for c in claims:
        doc = store.family(c.family)
        assert doc is not None
        tasks.append(
            TrialTask(settings, doc, c, experiment_dir(runs_dir, c.family, c.idea_id, c.stage))
        )
    try:
        outcomes = map_on(run_task, tasks, executor, workers)
    finally:
        done.set()
        thread.join()
    return [worker.record(c, out) for c, out in zip(claims, outcomes, strict=True)]
