"""The fake Tradier as a FastAPI app, served by uvicorn on loopback.

Every route of :data:`~zerodte.broker.tradier.fake.server.ROUTES` is registered with its
path template; each hands the request to :meth:`FakeTradier.handle`. Transport faults are
real: a ``timeout`` holds the reply past the client's timeout, a ``drop`` starts the reply
and breaks the connection mid-body.

::

    server = LoopbackServer(create_app(fake)).start()   # a thread, a free 127.0.0.1 port
    ... http://127.0.0.1:{server.port}/v1 ...
    server.stop()
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from zerodte.broker.tradier.fake.server import ROUTES, FakeTradier
from zerodte.errors import BrokerError
from zerodte.net import bound_port

logger = logging.getLogger(__name__)


def create_app(fake: FakeTradier, hang_s: float = 30.0) -> FastAPI:
    """The FastAPI app serving ``fake`` (``hang_s``: how long a ``timeout`` fault holds)."""
    app = FastAPI(title="fake Tradier", docs_url=None, redoc_url=None, openapi_url=None)

    async def endpoint(request: Request) -> Response:
        body = await request.body()
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True)) if body else {}
        reply = await asyncio.to_thread(
            fake.handle,
            request.method,
            request.url.path,
            dict(request.query_params),
            form,
            request.headers,
        )
        if reply.fault == "timeout":
            await asyncio.sleep(hang_s)
            return PlainTextResponse("too late", status_code=504)
        if reply.fault == "drop":
            return StreamingResponse(_broken(), media_type="application/json")
        if reply.text is not None:
            return PlainTextResponse(reply.text, reply.status, headers=reply.headers)
        return JSONResponse(reply.body, reply.status, headers=reply.headers)

    for method, path, name in ROUTES:
        app.add_api_route(path, endpoint, methods=[method], name=f"{name}-{method.lower()}")
    return app


async def _broken() -> AsyncIterator[bytes]:
    yield b'{"order": '
    raise ConnectionResetError("fake Tradier dropped the connection")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    return bound_port("127.0.0.1")


class LoopbackServer:
    """uvicorn serving an app on 127.0.0.1 in a background thread."""

    def __init__(self, app: FastAPI, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, name="fake-tradier", daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> LoopbackServer:
        """Start and wait until it accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise BrokerError(f"the fake Tradier did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving and join the thread."""
        self.server.should_exit = True
        self._thread.join(timeout=10)
