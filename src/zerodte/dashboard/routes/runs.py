"""``/api/runs``, ``/api/trades``, ``/api/trades/pnl-curve`` and ``/api/health``."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response

from zerodte import __version__
from zerodte.dashboard.analytics import pnl_curve
from zerodte.dashboard.context import Ctx, require_read
from zerodte.dashboard.schemas import Health, PnlCurve, RunDetail, RunList, TradeList, problems

router = APIRouter(
    prefix="/api",
    tags=["runs"],
    dependencies=[Depends(require_read)],
    responses=problems(401, 403, 404),
)

JSON = "application/json"
RunId = Annotated[str, Query(min_length=1, max_length=128, description="a run's id")]


def _known(ctx: Ctx, run_id: str) -> dict[str, Any]:
    run = ctx.runs.run(run_id)
    if run is None:
        raise HTTPException(404, f"no run {run_id!r} in the store; GET /api/runs lists them")
    return run


@router.get("/runs", response_model=RunList)
def list_runs(
    ctx: Ctx,
    *,
    controller: Annotated[str | None, Query(max_length=128)] = None,
    mode: Annotated[str | None, Query(max_length=64, description="prefix: backtest, live")] = None,
    since: Annotated[dt.date | None, Query(description="first session on or after")] = None,
    until: Annotated[dt.date | None, Query(description="first session before")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """Recorded runs, newest first, with their summaries."""
    rows, total = ctx.runs.runs(
        controller=controller, mode=mode, since=since, until=until, limit=limit, offset=offset
    )
    return {"total": total, "limit": limit, "offset": offset, "runs": rows}


@router.get("/runs/{run_id}", response_model=RunDetail)
def get_run(ctx: Ctx, run_id: str) -> dict[str, Any]:
    """One run: its columns, summary and meta."""
    return _known(ctx, run_id)


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def _cached(ctx: Ctx, run: dict[str, Any], what: str, make: Any) -> Response:
    """A finished run's response, made once per version of the run (see dashboard/cache.py)."""
    key = (what, run["run_id"], run["created_at"], run["summary"].get("trades"))
    return Response(ctx.cache.get_or_make(key, lambda: _json(make())), media_type=JSON)


@router.get("/trades", response_model=TradeList)
def list_trades(
    ctx: Ctx,
    run_id: RunId,
    limit: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """A run's trades with their entry and exit context, by trade id."""
    run = _known(ctx, run_id)

    def make() -> dict[str, Any]:
        rows, total = ctx.runs.trades(run_id, limit=limit, offset=offset)
        return {"run_id": run_id, "total": total, "limit": limit, "offset": offset, "trades": rows}

    return _cached(ctx, run, f"trades:{limit}:{offset}", make)


@router.get("/trades/pnl-curve", response_model=PnlCurve)
def trades_pnl_curve(ctx: Ctx, run_id: RunId) -> Response:
    """Cumulative P&L and drawdown after every trade of a run, in exit order."""
    run = _known(ctx, run_id)

    def make() -> dict[str, Any]:
        points = pnl_curve(ctx.runs.pnl_points(run_id))
        return {
            "run_id": run_id,
            "trades": len(points),
            "pnl": points[-1]["cum_pnl"] if points else 0.0,
            "max_drawdown": min((p["drawdown"] for p in points), default=0.0),
            "points": points,
        }

    return _cached(ctx, run, "pnl-curve", make)


@router.get("/health", response_model=Health)
def health(ctx: Ctx) -> dict[str, Any]:
    """The server is up and its store answers (store kinds only, never a URL)."""
    _, total = ctx.runs.runs(limit=1)
    return {
        "status": "ok",
        "version": __version__,
        "store": ctx.store_kind,
        "journal": ctx.journal_kind,
        "runs": total,
    }
