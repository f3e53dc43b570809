"""Processes released at the same moment against one store (the concurrency tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def at_once(
    ctx: Any, target: Callable[..., None], processes: int, settings: Any, trades: Any
) -> list[tuple[int, str]]:
    """Run ``target(settings, index, barrier, results, trades)`` in ``processes`` processes
    of ``ctx`` released together by a barrier; the ``(index, outcome)`` each one put."""
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    procs = [
        ctx.Process(target=target, args=(settings, i, barrier, results, trades))
        for i in range(processes)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    return outcomes
