"""What the dashboard's routes read from: the run views, the live journal, experiments, ideas.

:class:`DashboardContext` is built once by :func:`zerodte.dashboard.app.create_app` and
reached by routes through :func:`context` (FastAPI dependency), so that tests inject any
store, journal, experiment source or idea queue.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from zerodte.config import Settings
from zerodte.dashboard.cache import ResponseCache
from zerodte.dashboard.experiments import ExperimentSource
from zerodte.dashboard.ideas import IdeaQueue
from zerodte.store.live_view import LiveView
from zerodte.store.views import RunViews


@dataclass
class DashboardContext:
    """Everything the pages and the API read (and the one thing they write: ideas)."""

    settings: Settings
    runs: RunViews
    live: LiveView
    experiments: ExperimentSource
    ideas: IdeaQueue
    store_kind: str
    journal_kind: str
    cache: ResponseCache = field(default_factory=ResponseCache)


def context(request: Request) -> DashboardContext:
    """The application's context (a FastAPI dependency)."""
    ctx: DashboardContext = request.app.state.ctx
    return ctx


Ctx = Annotated[DashboardContext, Depends(context)]

bearer = HTTPBearer(auto_error=False, description="ZERODTE_DASHBOARD__API_TOKEN")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


COOKIE = "zerodte_token"
"""Cookie set by ``POST /login`` so that a browser can read protected pages."""


def token_matches(ctx: DashboardContext, given: str | None) -> bool:
    """``given`` equals ``dashboard.api_token`` (constant-time); False when either is unset."""
    token = ctx.settings.dashboard.api_token
    if token is None or not given:
        return False
    return secrets.compare_digest(given.encode(), token.get_secret_value().encode())


def _matches(ctx: DashboardContext, credentials: HTTPAuthorizationCredentials | None) -> bool:
    return credentials is not None and token_matches(ctx, credentials.credentials)


def require_write(ctx: Ctx, credentials: Credentials) -> None:
    """Write and control endpoints: a bearer token equal to ``dashboard.api_token``."""
    if ctx.settings.dashboard.api_token is None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "writes are disabled: set ZERODTE_DASHBOARD__API_TOKEN in the dashboard's "
            "environment and send it as 'Authorization: Bearer <token>'",
        )
    if not _matches(ctx, credentials):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or wrong token: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


def require_read(ctx: Ctx, credentials: Credentials, request: Request) -> None:
    """Read endpoints: open unless ``dashboard.protect_reads``; then the bearer token, or the
    cookie a browser got from ``POST /login``."""
    if not ctx.settings.dashboard.protect_reads:
        return
    if token_matches(ctx, request.cookies.get(COOKIE)):
        return
    require_write(ctx, credentials)
