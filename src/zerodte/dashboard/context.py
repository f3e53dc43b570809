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


def _matches(ctx: DashboardContext, credentials: HTTPAuthorizationCredentials | None) -> bool:
    token = ctx.settings.dashboard.api_token
    if token is None or credentials is None:
        return False
    return secrets.compare_digest(
        credentials.credentials.encode(), token.get_secret_value().encode()
    )


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


def require_read(ctx: Ctx, credentials: Credentials) -> None:
    """Read endpoints: open unless ``dashboard.protect_reads``, then as :func:`require_write`."""
    if ctx.settings.dashboard.protect_reads:
        require_write(ctx, credentials)
