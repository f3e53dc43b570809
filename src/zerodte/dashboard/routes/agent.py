"""The agent API: what an AI collaborator (or a script) reads and submits.

Every experiment result carries its trade count, friction, interval, the family's trial
count and deflated Sharpe (:class:`zerodte.dashboard.schemas.ExperimentResult`), so that no
client can quote a P&L without them. ``best`` ranks by the lower end of the per-trade
interval, not by the point estimate.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status

from zerodte.dashboard.context import Ctx, require_read, require_write
from zerodte.dashboard.experiments import ExperimentResult
from zerodte.dashboard.ideas import NoFamily
from zerodte.dashboard.schemas import (
    AgentStatus,
    Comparison,
    ExperimentList,
    IdeaIn,
    IdeaList,
    IdeaOut,
    Suggestions,
    Summary,
    problems,
)
from zerodte.errors import ConfigError

router = APIRouter(prefix="/api/agent", tags=["agent"], responses=problems(400, 401, 403))
read = [Depends(require_read)]

MIN_TRADES = 30
PATTERN_COLUMNS = ("exit_reason", "signal_strategy", "entry_controller", "right")


def _low(r: ExperimentResult) -> float:
    low = r.interval.low
    return float("-inf") if low is None else float(low)


def _high(r: ExperimentResult) -> float:
    high = r.interval.high
    return float("inf") if high is None else float(high)


@router.get("/summary", response_model=Summary, dependencies=read)
def summary(ctx: Ctx) -> dict[str, Any]:
    """Counts of runs, trades and families; the best result by interval; the idea queue."""
    results = ctx.experiments.results()
    eligible = [r for r in results if r.trades >= MIN_TRADES]
    best = max(eligible, key=_low, default=None)
    return {
        "runs": len(results),
        "trades": ctx.runs.trade_count(),
        "families": len({r.family for r in results}),
        "controllers": ctx.runs.controllers(),
        "best": None if best is None else best.to_dict(),
        "ideas": ctx.ideas.counts(),
        "experiments_system": ctx.experiments.monitor().system,
        "live_runs": len(ctx.live.runs()),
    }


@router.get("/experiments", response_model=ExperimentList, dependencies=read)
def experiments(
    ctx: Ctx,
    *,
    controller: Annotated[str | None, Query(max_length=128)] = None,
    family: Annotated[str | None, Query(max_length=128)] = None,
    mode: Annotated[str | None, Query(max_length=64, description="prefix")] = None,
    min_trades: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Experiment results matching every filter, newest first."""
    rows = [
        r
        for r in ctx.experiments.results()
        if (controller is None or r.controller == controller)
        and (family is None or r.family == family)
        and (mode is None or (r.mode or "").startswith(mode))
        and r.trades >= min_trades
    ]
    rows.sort(key=lambda r: r.created_at or "", reverse=True)
    return {"total": len(rows), "experiments": [r.to_dict() for r in rows[:limit]]}


@router.get("/experiments/best", response_model=ExperimentList, dependencies=read)
def best(
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=100)] = 5,
    min_trades: Annotated[int, Query(ge=0, le=1_000_000)] = MIN_TRADES,
) -> dict[str, Any]:
    """The results with the highest lower end of the per-trade 95 % interval."""
    rows = sorted(
        (r for r in ctx.experiments.results() if r.trades >= min_trades), key=_low, reverse=True
    )
    return {"total": len(rows), "experiments": [r.to_dict() for r in rows[:limit]]}


@router.get("/experiments/compare", response_model=Comparison, dependencies=read)
def compare(
    ctx: Ctx,
    runs: Annotated[str, Query(min_length=1, max_length=2000, description="run ids, a,b")],
) -> dict[str, Any]:
    """Results of the named runs side by side, and whether they share a family."""
    wanted = [r.strip() for r in runs.split(",") if r.strip()]
    if not wanted:
        raise HTTPException(400, "runs: name at least one run id, e.g. runs=a,b")
    by_id = {r.run_id: r for r in ctx.experiments.results()}
    found = [by_id[r] for r in wanted if r in by_id]
    same = len({r.family for r in found}) == 1 and len(found) > 1
    note = (
        "same data window: the intervals are comparable; a paired difference needs the "
        "per-session P&L of both (zerodte q compare)"
        if same
        else "different data windows (or fewer than two runs): do not rank these by P&L"
    )
    return {
        "runs": [r.to_dict() for r in found],
        "missing": [r for r in wanted if r not in by_id],
        "same_family": same,
        "note": note,
    }


@router.get("/suggest", response_model=Suggestions, dependencies=read)
def suggest(
    ctx: Ctx, min_trades: Annotated[int, Query(ge=1, le=1_000_000)] = MIN_TRADES
) -> dict[str, Any]:
    """Patterns across every recorded trade (the worst group per context column with at
    least ``min_trades`` trades) and the runs whose whole interval is lowest."""
    patterns = []
    for column in PATTERN_COLUMNS:
        groups = [g for g in ctx.runs.trade_groups(column) if g["trades"] >= min_trades]
        if len(groups) < 2:
            continue
        worst = min(groups, key=lambda g: g["per_trade"])
        patterns.append(
            {
                "pattern": f"{column}={worst['value']} loses most per trade "
                f"({worst['per_trade']:.2f} $/trade over {worst['trades']} trades, "
                f"fees {worst['fees']:.2f})",
                "evidence": {"column": column, "groups": groups},
            }
        )
    results = [r for r in ctx.experiments.results() if r.trades >= min_trades]
    worst_runs = sorted(results, key=_high)[:5]
    return {
        "patterns": patterns,
        "worst_runs": [r.to_dict() for r in worst_runs],
        "note": "groups pool trades across runs and data windows: a pattern is a lead to "
        "test as an idea, not a result",
    }


@router.post(
    "/ideas",
    response_model=IdeaOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_write)],
    responses={
        200: {"model": IdeaOut, "description": "already queued (same parameters)"},
        **problems(409),
    },
)
def submit_idea(ctx: Ctx, idea: IdeaIn, response: Response) -> dict[str, Any]:
    """Queue an idea in the experiments system's queue, in its family: validated against the
    settings schema with the family's base, idempotent by the hash of the family and the
    canonical parameters (a known idea answers 200 with the first submission). The workers
    of ``zerodte experiments run`` claim it from there."""
    try:
        row, created = ctx.ideas.submit(
            idea.params,
            family=idea.family,
            title=idea.title,
            note=idea.note,
            source=idea.source,
        )
    except NoFamily as exc:
        raise HTTPException(409, str(exc)) from None
    except ConfigError as exc:
        raise HTTPException(400, str(exc)) from None
    if not created:
        response.status_code = status.HTTP_200_OK
    return {"idea": row, "created": created}


@router.get("/ideas", response_model=IdeaList, dependencies=read)
def list_ideas(
    ctx: Ctx,
    status_: Annotated[str | None, Query(alias="status", max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Queued ideas, newest first."""
    rows = ctx.ideas.ideas(status=status_, limit=limit)
    return {"total": len(rows), "ideas": rows}


@router.get("/status", response_model=AgentStatus, dependencies=read)
def agent_status(ctx: Ctx) -> dict[str, Any]:
    """The experiments system (running trials, promotion, PBO), the queue and live runs."""
    monitor = ctx.experiments.monitor()
    return {
        "experiments_system": monitor.system,
        "message": monitor.message,
        "running": monitor.running,
        "promotion": monitor.promotion,
        "pbo": monitor.pbo,
        "queue": ctx.ideas.counts(),
        "live_runs": ctx.live.runs(),
    }
