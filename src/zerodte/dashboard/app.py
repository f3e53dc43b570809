"""``create_app``: one FastAPI application for the pages, the REST API and the agent API.

::

    app = create_app(settings)                      # the store and journal of ``settings``
    uvicorn.run(app, host=settings.dashboard.host, port=settings.dashboard.port)

Security (see docs/dashboard.md): the CLI binds to loopback unless told otherwise; write
endpoints (``POST /api/agent/ideas``) need ``Authorization: Bearer <token>`` equal to
``dashboard.api_token`` (from ``ZERODTE_DASHBOARD__API_TOKEN``) and are refused when no
token is set; ``dashboard.protect_reads`` puts every read behind the same token; CORS is off
unless ``dashboard.cors_origins`` names origins. No response or page carries a secret: the
health endpoint names the store's kind, never its URL.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from zerodte import __version__
from zerodte.config import Settings
from zerodte.config.settings import StoreSettings
from zerodte.dashboard.context import DashboardContext
from zerodte.dashboard.experiment_tables import ExperimentTables
from zerodte.dashboard.experiments import ExperimentSource, RunFamilies
from zerodte.dashboard.ideas import ExperimentQueue, IdeaQueue
from zerodte.dashboard.routes import agent, live, pages, runs
from zerodte.dashboard.routes.pages import SECTIONS
from zerodte.engine.clock import WallClock
from zerodte.store import RunStore, make_engine
from zerodte.store.experiments import ExperimentStore
from zerodte.store.live_view import LiveView
from zerodte.store.views import RunViews

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"


def journal_reader(settings: Settings) -> tuple[sa.Engine | None, str]:
    """The live journal's database for reading, and its kind; ``None`` when no bot has run
    (a missing SQLite journal is not created by looking at it)."""
    if settings.store.url:
        return make_engine(settings.store), "postgresql (the store)"
    path = Path(settings.live.journal_path).expanduser()
    if not path.is_file():
        return None, f"sqlite {path.name} (not created yet)"
    return make_engine(StoreSettings(path=path)), f"sqlite {path.name}"


def _finite(obj: Any) -> Any:
    """``obj`` with every non-finite float spelt as a string (``NaN``, ``Infinity``), so an
    error that echoes the request's input is still JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 for an invalid request, with non-finite inputs echoed as strings (the
    default handler cannot encode a body's ``NaN`` and answers 500)."""
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(
        status_code=422, content={"detail": _finite(jsonable_encoder(exc.errors()))}
    )


def create_app(
    settings: Settings,
    *,
    engine: sa.Engine | None = None,
    journal: sa.Engine | None = None,
    experiments: ExperimentSource | None = None,
    ideas: IdeaQueue | None = None,
    sections: Iterable[str] = SECTIONS,
) -> FastAPI:
    """The dashboard application.

    Parameters
    ----------
    settings
        Effective settings: the store, the live journal path, the dashboard's token, CORS
        and refresh interval; ideas are validated against this tree.
    engine
        The run store's database (default ``make_engine(settings.store)``), migrated here.
    journal
        The live journal's database (default: :func:`journal_reader`).
    experiments, ideas
        The experiment source and the idea queue (default: the experiments system's
        families, trials and queue in the store, with the recorded runs beside the trials).
    sections
        Page sections served (``live``, ``training``, ``history``); the API is always served.
    """
    enabled = frozenset(sections)
    unknown = enabled - set(SECTIONS)
    if unknown or not enabled:
        raise ValueError(
            f"sections must be a non-empty subset of {SECTIONS}; got {sorted(enabled)}"
        )
    engine = engine if engine is not None else make_engine(settings.store)
    RunStore(engine)  # migrates the schema to head (runs, trades, journal, experiments)
    journal_kind = f"{engine.dialect.name} (given)"
    if journal is None:
        journal, journal_kind = journal_reader(settings)
    views = RunViews(engine)
    queue_store = ExperimentStore(engine, clock=WallClock().utc, migrate_schema=False)
    ctx = DashboardContext(
        settings=settings,
        runs=views,
        live=LiveView(journal),
        experiments=experiments
        if experiments is not None
        else ExperimentTables(queue_store, settings.broker.initial_cash, RunFamilies(views)),
        ideas=ideas if ideas is not None else ExperimentQueue(queue_store, settings),
        store_kind=engine.dialect.name,
        journal_kind=journal_kind,
    )
    app = FastAPI(
        title="zerodte dashboard",
        version=__version__,
        description=(
            "Runs, trades and P&L curves, the live and training monitors, and the agent API. "
            "Every experiment result carries its trade count, friction, interval, the family's "
            "trial count and deflated Sharpe."
        ),
    )
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.state.ctx = ctx
    app.state.sections = enabled
    origins = list(settings.dashboard.cors_origins)
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in (runs.router, agent.router, live.router, pages.router, pages.login_router):
        app.include_router(router)
    logger.info("dashboard on store %s, sections %s", ctx.store_kind, sorted(enabled))
    return app
