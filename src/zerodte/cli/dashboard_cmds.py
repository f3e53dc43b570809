"""``zerodte dashboard``: serve the pages, the REST API and the agent API (or ask if one runs)."""

from __future__ import annotations

import ipaddress
import json
import sys
from typing import Annotated

import typer

from zerodte.cli.context import current_settings
from zerodte.config import with_overrides
from zerodte.errors import ConfigError


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_listen(host: str, port: int) -> None:
    """Refuse, before the app is built, an address uvicorn could not listen on."""
    from zerodte.net import bound_port

    try:
        bound_port(host, port)
    except OSError as exc:
        raise ConfigError(
            f"the dashboard cannot listen on {host}:{port} ({exc.strerror or exc}); choose "
            "a free port (--port) and an address of this machine (--host 127.0.0.1)"
        ) from exc


def dashboard(  # noqa: PLR0917 (typer options)
    ctx: typer.Context,
    live: Annotated[bool, typer.Option("--live", help="Serve the live/paper monitor.")] = False,
    training: Annotated[
        bool, typer.Option("--training", help="Serve the training and experiments monitor.")
    ] = False,
    history: Annotated[
        bool, typer.Option("--history", help="Serve the run history and run pages.")
    ] = False,
    port: Annotated[int | None, typer.Option(help="Port (default dashboard.port).")] = None,
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default dashboard.host, 127.0.0.1).")
    ] = None,
    status: Annotated[
        bool, typer.Option("--status", help="Ask whether a dashboard answers there; no serving.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="With --status: print JSON.")] = False,
) -> None:
    """Serve the dashboard: pages (all of them unless --live/--training/--history pick some),
    the REST API under /api and its OpenAPI schema at /docs and /openapi.json."""
    settings = current_settings(ctx)
    changes: dict[str, object] = {}
    if port is not None:
        changes["dashboard.port"] = port
    if host is not None:
        changes["dashboard.host"] = host
    if changes:
        settings = with_overrides(settings, changes, source="command line")
    where = f"http://{settings.dashboard.host}:{settings.dashboard.port}"
    if status:
        import httpx  # here: every other command would pay for importing it

        try:
            answer = httpx.get(f"{where}/api/health", timeout=3.0)
            answer.raise_for_status()
        except httpx.HTTPError as exc:
            print(
                f"no dashboard answers at {where} ({exc.__class__.__name__}: {exc})",
                file=sys.stderr,
            )
            raise typer.Exit(1) from None
        body = answer.json()
        if json_out:
            print(json.dumps({"url": where, **body}, indent=2))
        else:
            print(
                f"dashboard at {where}: {body['status']}, version {body['version']}, "
                f"store {body['store']} with {body['runs']} run(s), journal {body['journal']}"
            )
        return
    import uvicorn

    from zerodte.dashboard import create_app

    _check_listen(settings.dashboard.host, settings.dashboard.port)

    sections = [
        name for name, on in (("live", live), ("training", training), ("history", history)) if on
    ]
    app = create_app(settings, sections=sections or ("live", "training", "history"))
    if not _loopback(settings.dashboard.host):
        print(
            f"warning: binding to {settings.dashboard.host} exposes the dashboard beyond this "
            "machine; set dashboard.protect_reads and ZERODTE_DASHBOARD__API_TOKEN",
        )
    print(f"zerodte dashboard on {where} (API docs at {where}/docs); Ctrl-C stops it")
    uvicorn.run(
        app, host=settings.dashboard.host, port=settings.dashboard.port, log_level="warning"
    )


def register(root: typer.Typer) -> None:
    """Attach ``dashboard``."""
    root.command("dashboard")(dashboard)
