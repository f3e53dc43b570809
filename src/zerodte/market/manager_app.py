"""The data manager's HTTP API (FastAPI) and a loopback/LAN server for it.

Routes and payloads: :mod:`zerodte.market.manager`. The key is compared in constant time;
a missing or wrong key is 401. Collection runs in a background thread every
``collect_minutes`` through the injected ``collect`` callable (built by the CLI from the
router), and its last outcome is in ``/v1/status``.
"""

from __future__ import annotations

import hmac
import html
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

import numpy as np
import pandas as pd
import uvicorn
from fastapi import FastAPI, Header, HTTPException, Query
from fastapi.responses import HTMLResponse, Response

from zerodte.errors import DataError
from zerodte.market.manager import bars_payload
from zerodte.market.store import ParquetStore
from zerodte.net import bound_port

logger = logging.getLogger(__name__)


def create_app(store: ParquetStore, api_key: str) -> FastAPI:
    """The API over ``store`` behind ``api_key`` (empty key: refused at start)."""
    if not api_key:
        raise DataError("zerodte data serve needs an API key: set ZERODTE_DATA__SERVE_API_KEY")
    app = FastAPI(title="zerodte data manager")
    app.state.last_collect = None
    cache = _Published(store)

    def check(key: str | None) -> None:
        if key is None or not hmac.compare_digest(key.encode(), api_key.encode()):
            raise HTTPException(status_code=401, detail="missing or wrong X-API-Key")

    @app.get("/v1/status")
    def status(x_api_key: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        check(x_api_key)
        info = store.info().to_dict()
        intervals, prov = store.intervals(), store.provenance()
        symbols: dict[str, dict[str, Any]] = dict(info["symbols"])  # type: ignore[call-overload]
        for sym, row in symbols.items():
            row["interval"] = intervals.get(sym, "1min")
            row["feeds"] = prov.get(sym, {}).get("feeds", [])
        return {**info, "symbols": symbols, "last_collect": app.state.last_collect}

    @app.get("/v1/bars")
    def bars(
        symbol: Annotated[str, Query(pattern=r"^[A-Za-z^.:]{1,10}$")],
        start: date,
        end: date,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> Response:
        check(x_api_key)
        if end < start:
            raise HTTPException(status_code=422, detail=f"end {end} is before start {start}")
        # encoded once per generation and range: FastAPI's encoder would walk every float
        return Response(content=cache.encoded(symbol, start, end), media_type="application/json")

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        info = store.info()
        rows = "".join(
            f"<tr><td>{html.escape(s)}</td><td>{i.first_day}</td><td>{i.last_day}</td>"
            f"<td>{i.trading_days}</td><td>{i.rows}</td></tr>"
            for s, i in info.symbols.items()
        )
        last = html.escape(str(app.state.last_collect))
        return (
            "<html><head><title>zerodte data manager</title></head><body>"
            f"<h1>zerodte data manager</h1><p>store {html.escape(str(store.data_dir))}, "
            f"data hash {info.data_hash[:16]}</p><p>last collection: {last}</p>"
            "<table><tr><th>symbol</th><th>first</th><th>last</th><th>days</th><th>rows</th>"
            f"</tr>{rows}</table></body></html>"
        )

    return app


class _Published:
    """The store's bars and provenance, read once per published generation.

    A request then slices one symbol's sorted timestamps (binary search) instead of reading
    Parquet, and the JSON of a range is encoded once (the last ``CACHED`` ranges are kept);
    a collection round publishes a new generation (``CURRENT`` changes) and the next request
    reloads.
    """

    CACHED = 256

    def __init__(self, store: ParquetStore) -> None:
        self._store = store
        self._key: object = None
        self._bars: dict[str, Any] = {}
        self._meta: dict[str, dict[str, Any]] = {}
        self._encoded: OrderedDict[tuple[str, date, date], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def _generation(self) -> object:
        name = self._store.generation()
        # the legacy flat layout has no CURRENT pointer: its file list identifies it
        return name if name is not None else tuple(str(p) for p in self._store.files())

    def _refresh(self) -> None:
        key = self._generation()
        if key == self._key:
            return
        bars = self._store.load()
        prov, intervals = self._store.provenance(), self._store.intervals()
        self._bars = {
            s: (f["timestamp"].to_numpy(dtype="datetime64[ns]").astype("int64"), f)
            for s, f in bars.items()
        }
        self._meta = {
            s: {
                "interval": intervals.get(s, "1min"),
                "feed": ",".join(prov.get(s, {}).get("feeds", [])) or "unknown",
                "sources": prov.get(s, {}).get("sources", []),
            }
            for s in bars
        }
        self._encoded.clear()
        self._key = key

    def encoded(self, symbol: str, start: date, end: date) -> bytes:
        """The JSON of :meth:`payload` (``NaN`` refused: the store holds none)."""
        key = (symbol.upper(), start, end)
        with self._lock:
            self._refresh()
            generation = self._key
            hit = self._encoded.get(key)
            if hit is not None:
                self._encoded.move_to_end(key)
                return hit
        body = json.dumps(self.payload(symbol, start, end), allow_nan=False).encode()
        with self._lock:
            if self._key != generation:  # published meanwhile: do not keep an old answer
                return body
            self._encoded[key] = body
            while len(self._encoded) > self.CACHED:
                self._encoded.popitem(last=False)
        return body

    def payload(self, symbol: str, start: date, end: date) -> dict[str, Any]:
        sym = symbol.upper()
        with self._lock:
            self._refresh()
            found = self._bars.get(sym)
            meta = self._meta.get(sym, {"interval": "1min", "feed": "unknown", "sources": []})
        if found is None:
            return bars_payload(self._store, sym, start, end)  # the empty answer
        ns, frame = found
        lo = pd.Timestamp(start, tz="America/New_York").value
        hi = (pd.Timestamp(end, tz="America/New_York") + pd.Timedelta(days=1)).value
        a, b = np.searchsorted(ns, lo), np.searchsorted(ns, hi)
        part = frame.iloc[a:b]
        cols: dict[str, list[Any]] = {"t": ns[a:b].tolist()}
        for col in ("open", "high", "low", "close", "volume"):
            cols[col] = part[col].to_numpy(dtype=float).tolist()
        return {"symbol": sym, **meta, "bars": cols}


def start_collector(
    app: FastAPI, collect: Callable[[], dict[str, int]], every_minutes: float
) -> threading.Event:
    """Run ``collect`` now and every ``every_minutes`` in a daemon thread; set the returned
    event to stop it. A failed round is logged and recorded in the status, and the next
    round runs as planned (a vendor outage must not stop the service)."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            started = time.time()
            try:
                app.state.last_collect = {"at": started, "written": collect(), "error": None}
            except DataError as exc:  # logged and shown in /v1/status; retried next round
                logger.exception("collection round failed")
                app.state.last_collect = {"at": started, "written": {}, "error": str(exc)}
            stop.wait(every_minutes * 60.0)

    threading.Thread(target=loop, name="data-collector", daemon=True).start()
    return stop


class Server:
    """uvicorn serving ``app`` in a background thread (``host`` 127.0.0.1 by default)."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        if port == 0:
            try:
                port = bound_port(host)
            except OSError as exc:  # an unknown name or another machine's address
                raise DataError(
                    f"the data manager cannot listen on {host} ({exc.strerror or exc}); "
                    "use an address of this machine, such as 127.0.0.1 or 0.0.0.0"
                ) from exc
        self.host, self.port = host, port
        cfg = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(cfg)
        self._thread = threading.Thread(target=self.server.run, name="data-manager", daemon=True)

    @property
    def url(self) -> str:
        """``http://HOST:PORT``."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> Server:
        """Start and wait until it accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise DataError(
                    f"the data manager did not start on {self.url} (the error above says why: "
                    "the port in use, or an address that is not this machine's)"
                )
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving and join the thread."""
        self.server.should_exit = True
        self._thread.join(timeout=10)
