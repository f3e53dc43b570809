"""Server-rendered pages (Jinja2): live monitor, training monitor, history, run, regimes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from zerodte.dashboard.analytics import COLUMNS as ANALYTICS_COLUMNS
from zerodte.dashboard.analytics import (
    breakdown,
    calibration,
    pnl_curve,
    q_distribution,
    regime_tables,
)
from zerodte.dashboard.context import COOKIE, Ctx, require_read, token_matches
from zerodte.dashboard.routes.live import live_snapshot, training_monitor

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))
TABLE_ROWS = 200
"""Trades shown in a run page's table unless ``?all=1`` (the API serves them all)."""
SECTIONS = ("live", "training", "history")
NAV = (
    ("live", "/live", "Live"),
    ("training", "/training", "Experiments"),
    ("history", "/history", "History"),
    ("history", "/regimes", "Regimes"),
)

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_read)])
login_router = APIRouter(include_in_schema=False)

LOGIN_FORM = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>zerodte</title>
<link rel="icon" href="data:,"></head><body><form method="post" action="/login">
<label>dashboard token <input type="password" name="token" autofocus></label>
<button type="submit">open the dashboard</button></form><p>{message}</p></body></html>"""


@login_router.get("/login", response_class=HTMLResponse)
def login_form() -> HTMLResponse:
    """A form for the token when ``dashboard.protect_reads`` is on."""
    return HTMLResponse(LOGIN_FORM.format(message=""))


@login_router.post("/login", response_class=HTMLResponse)
async def login(request: Request, ctx: Ctx) -> Response:
    """Check the token and keep it in an HTTP-only, same-site cookie."""
    body = (await request.body()).decode("utf-8", "replace")
    token = parse_qs(body).get("token", [""])[0]
    if not token_matches(ctx, token):
        return HTMLResponse(LOGIN_FORM.format(message="wrong token"), status_code=401)
    answer = RedirectResponse("/", status_code=303)
    answer.set_cookie(COOKIE, token, httponly=True, samesite="strict")
    return answer


def _page(request: Request, name: str, section: str, **values: Any) -> HTMLResponse:
    enabled: frozenset[str] = request.app.state.sections
    if section not in enabled:
        raise HTTPException(
            404, f"the {section} pages are not served (zerodte dashboard --{section})"
        )
    nav = [n for n in NAV if n[0] in enabled]
    path = request.url.path
    active = path if any(href == path for _, href, _ in nav) else f"/{section}"
    context = {"page": section, "active": active, "nav": nav, "stream": None, **values}
    return TEMPLATES.TemplateResponse(request, name, context)


@router.get("/")
def index(request: Request) -> Response:
    """The first enabled section."""
    enabled = request.app.state.sections
    first = next(s for s in SECTIONS if s in enabled)
    return RedirectResponse(f"/{first}", status_code=307)


@router.get("/regimes", response_class=HTMLResponse)
def regimes_page(
    request: Request, ctx: Ctx, run_id: Annotated[str | None, Query(max_length=128)] = None
) -> HTMLResponse:
    """A run's trades by the regime at entry (the newest run unless one is named)."""
    runs, _ = ctx.runs.runs(limit=200)
    run = ctx.runs.run(run_id) if run_id else (runs[0] if runs else None)
    if run_id and run is None:
        raise HTTPException(404, f"no run {run_id!r} in the store")
    trades = ctx.runs.trades(run["run_id"], columns=ANALYTICS_COLUMNS)[0] if run else []
    return _page(
        request,
        "regimes.html",
        "history",
        runs=runs,
        run=run,
        trades=len(trades),
        tables=regime_tables(trades),
    )


@router.get("/live", response_class=HTMLResponse)
def live_page(
    request: Request, ctx: Ctx, run_id: Annotated[str | None, Query(max_length=128)] = None
) -> HTMLResponse:
    """Positions, orders, P&L, equity, decisions, health, alignment and model, live."""
    stream = "/api/stream/live" + (f"?run_id={run_id}" if run_id else "")
    return _page(
        request,
        "live.html",
        "live",
        snap=live_snapshot(ctx, run_id),
        runs=ctx.live.runs(),
        journal_kind=ctx.journal_kind,
        stream=stream,
    )


@router.get("/training", response_class=HTMLResponse)
def training_page(request: Request, ctx: Ctx) -> HTMLResponse:
    """Queue, running trials, scoreboard, promotion; updated live."""
    return _page(
        request,
        "training.html",
        "training",
        mon=training_monitor(ctx),
        stream="/api/stream/training",
    )


@router.get("/history", response_class=HTMLResponse)
def history_page(
    request: Request,
    *,
    ctx: Ctx,
    controller: Annotated[str | None, Query(max_length=128)] = None,
    mode: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    """Every run, newest first, with filters."""

    def day(value: str | None) -> dt.date | None:
        if not value:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise HTTPException(422, f"{value!r} is not a date; use YYYY-MM-DD") from None

    runs, total = ctx.runs.runs(
        controller=controller or None,
        mode=mode or None,
        since=day(since),
        until=day(until),
        limit=500,
    )
    filters = {"controller": controller, "mode": mode, "since": since, "until": until}
    return _page(
        request,
        "history.html",
        "history",
        runs=runs,
        total=total,
        filters=filters,
        controllers=ctx.runs.controllers(),
    )


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request, ctx: Ctx, run_id: str, all_trades: Annotated[bool, Query(alias="all")] = False
) -> Response:
    """A run: figures, P&L curve, drawdown, breakdowns, calibration, Q, trades (the first
    :data:`TABLE_ROWS` in the table unless ``?all=1``; every trade in the charts and tables
    of groups). A finished run's page is rendered once per version of the run."""
    run = ctx.runs.run(run_id)
    if run is None:
        raise HTTPException(404, f"no run {run_id!r} in the store")

    def render() -> bytes:
        trades, total = ctx.runs.trades(run_id, columns=ANALYTICS_COLUMNS)
        table, _ = ctx.runs.trades(run_id, limit=None if all_trades else TABLE_ROWS)
        curve = pnl_curve(ctx.runs.pnl_points(run_id))
        page = _page(
            request,
            "run.html",
            "history",
            run=run,
            curve=curve,
            chart={
                "t": [p["exit_time"][:16].replace("T", " ") for p in curve],
                "cum": [round(p["cum_pnl"], 2) for p in curve],
                "dd": [round(p["drawdown"], 2) for p in curve],
            },
            trades=table,
            total_trades=total,
            by_exit=breakdown(trades, "exit_reason"),
            by_signal=breakdown(trades, "signal_strategy"),
            calibration=calibration(trades),
            q=q_distribution(trades),
            ope=run["summary"].get("ope"),
            page="run",
        )
        return bytes(page.body)

    key = ("run-page", run_id, run["created_at"], run["summary"].get("trades"), all_trades)
    return HTMLResponse(ctx.cache.get_or_make(key, render))
