"""The live/paper monitor and the training monitor as JSON, and both pushed as server-sent
events (``/api/stream/...``): the pages subscribe with ``EventSource`` and redraw."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from zerodte.dashboard.context import Ctx, DashboardContext, require_read
from zerodte.dashboard.schemas import LiveRuns, LiveSnapshot, TrainingMonitor, problems

router = APIRouter(
    prefix="/api",
    tags=["live"],
    dependencies=[Depends(require_read)],
    responses=problems(401, 403, 404),
)

MaxEvents = Annotated[
    int, Query(ge=0, le=100_000, description="stop after this many events (0: never)")
]


def live_snapshot(ctx: DashboardContext, run_id: str | None) -> dict[str, Any] | None:
    """The snapshot of ``run_id``, or of the most recently updated live run."""
    if run_id is None:
        runs = ctx.live.runs()
        if not runs:
            return None
        run_id = str(runs[0]["run_id"])
    return ctx.live.snapshot(run_id)


def training_monitor(ctx: DashboardContext, limit: int = 50) -> dict[str, Any]:
    """Queue, running trials, scoreboard (by interval low end), promotion and PBO."""
    monitor = ctx.experiments.monitor()
    results = ctx.experiments.results()
    results.sort(
        key=lambda r: -math.inf if r.interval.low is None else r.interval.low, reverse=True
    )
    return {
        "experiments_system": monitor.system,
        "message": monitor.message,
        "queue": [r.to_dict() for r in ctx.ideas.ideas(limit=limit)],
        "running": monitor.running,
        "scoreboard": [r.to_dict() for r in results[:limit]],
        "promotion": monitor.promotion,
        "pbo": monitor.pbo,
    }


@router.get("/live/runs", response_model=LiveRuns)
def live_runs(ctx: Ctx) -> dict[str, Any]:
    """Live and paper runs with a checkpoint in the journal, the latest first."""
    return {"runs": ctx.live.runs()}


@router.get("/live/{run_id}", response_model=LiveSnapshot)
def live_run(ctx: Ctx, run_id: str) -> dict[str, Any]:
    """Positions, open orders, today's P&L, equity, decisions, health, alignment, model."""
    snap = ctx.live.snapshot(run_id)
    if snap is None:
        raise HTTPException(404, f"no live run {run_id!r} in the journal; see /api/live/runs")
    return snap


@router.get("/training", response_model=TrainingMonitor)
def training(ctx: Ctx) -> dict[str, Any]:
    """The training and experiments monitor."""
    return training_monitor(ctx)


async def _events(
    ctx: DashboardContext, read: Any, max_events: int
) -> AsyncIterator[ServerSentEvent]:
    sent = 0
    while max_events == 0 or sent < max_events:
        data = await run_in_threadpool(read)
        yield ServerSentEvent(data={"data": data}, event="update", id=str(sent))
        sent += 1
        if max_events and sent >= max_events:
            break
        await asyncio.sleep(ctx.settings.dashboard.live_refresh_s)


@router.get("/stream/live", response_class=EventSourceResponse)
async def stream_live(
    ctx: Ctx,
    run_id: Annotated[str | None, Query(max_length=128)] = None,
    max_events: MaxEvents = 0,
) -> AsyncIterator[ServerSentEvent]:
    """The live snapshot every ``dashboard.live_refresh_s`` seconds (``null`` when none)."""
    async for event in _events(ctx, lambda: live_snapshot(ctx, run_id), max_events):
        yield event


@router.get("/stream/training", response_class=EventSourceResponse)
async def stream_training(ctx: Ctx, max_events: MaxEvents = 0) -> AsyncIterator[ServerSentEvent]:
    """The training monitor every ``dashboard.live_refresh_s`` seconds."""
    async for event in _events(ctx, lambda: training_monitor(ctx), max_events):
        yield event
