"""The data manager: the real server on loopback, its key, sync into a local store with the
interval kept, the fallback to the local store, and a collection round through a router."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pandas as pd
import pytest

from zerodte.config import Settings
from zerodte.config.overrides import with_overrides
from zerodte.errors import ConfigError, DataError
from zerodte.market.manager import ManagerSource, collect_once, sync
from zerodte.market.manager_app import Server, create_app
from zerodte.market.router import SourceRouter
from zerodte.market.sources import SyntheticSource
from zerodte.market.store import ParquetStore
from zerodte.market.synthetic import SyntheticConfig, generate_market

KEY = "k3y-for-tests"
TODAY = date(2024, 3, 11)


def _five_minute(vix: pd.DataFrame) -> pd.DataFrame:
    five = vix[vix["timestamp"].dt.minute % 5 == 0].reset_index(drop=True)
    return five.assign(volume=0.0)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, ParquetStore]]:
    store = ParquetStore(tmp_path_factory.mktemp("manager") / "data")
    bars = generate_market(date(2024, 3, 4), 5, seed=4)
    store.write("SPY", bars["SPY"], "polygon:collect", feed="sip")
    store.write("VIX", _five_minute(bars["VIX"]), "polygon:collect", interval="5min")
    server = Server(create_app(store, KEY)).start()
    yield server, store
    server.stop()


def test_status_and_bars_need_the_key(served: tuple[Server, ParquetStore]) -> None:
    server, store = served
    with httpx.Client(base_url=server.url) as http:
        assert http.get("/v1/status").status_code == 401
        assert http.get("/v1/status", headers={"X-API-Key": "wrong"}).status_code == 401
        status = http.get("/v1/status", headers={"X-API-Key": KEY}).json()
        assert status["symbols"]["VIX"]["interval"] == "5min"
        assert status["symbols"]["SPY"]["feeds"] == ["sip"]
        assert status["data_hash"] == store.data_hash()
        page = http.get("/")
        assert page.status_code == 200 and "zerodte data manager" in page.text
    source = ManagerSource(httpx.Client(), server.url, KEY)
    day = source.fetch("SPY", date(2024, 3, 5), date(2024, 3, 5))
    assert len(day) == 390
    pd.testing.assert_frame_equal(
        day, store.load(["SPY"], date(2024, 3, 5), date(2024, 3, 5))["SPY"]
    )
    with pytest.raises(DataError, match="key was refused"):
        ManagerSource(httpx.Client(), server.url, "nope").fetch("SPY", TODAY, TODAY)


def test_sync_pulls_the_last_days_and_keeps_the_interval(
    served: tuple[Server, ParquetStore], tmp_path: Path
) -> None:
    server, _ = served
    local = ParquetStore(tmp_path / "local")
    res = sync(
        ManagerSource(httpx.Client(), server.url, KEY), local, ["SPY", "VIX"], days=3, today=TODAY
    )
    assert res.fallback is None and res.rows == {"SPY": 3 * 390, "VIX": 3 * 78}
    assert local.sessions() == [date(2024, 3, 6), date(2024, 3, 7), date(2024, 3, 8)]
    assert local.intervals() == {"SPY": "1min", "VIX": "5min"}
    assert local.provenance()["SPY"]["feeds"] == ["sip"]
    assert local.verify().ok


def test_sync_of_a_series_that_mixes_feeds_records_both(tmp_path: Path) -> None:
    """A served symbol whose days come from two feeds (stored with --mix-feeds) reaches the
    local store with both feeds named, not refused and not relabelled."""
    remote = ParquetStore(tmp_path / "remote")
    spy = generate_market(date(2024, 3, 4), 2, seed=4)["SPY"]
    first = spy["timestamp"].dt.date == date(2024, 3, 4)
    remote.write("SPY", spy[first], "polygon:collect", feed="sip")
    iex = spy[~first].assign(volume=(spy[~first]["volume"] / 20).round().clip(lower=1))
    remote.write("SPY", iex, "alpaca:collect", feed="iex", mix_feeds=True)
    server = Server(create_app(remote, KEY)).start()
    try:
        local = ParquetStore(tmp_path / "local")
        res = sync(ManagerSource(httpx.Client(), server.url, KEY), local, ["SPY"], days=2,
                   today=date(2024, 3, 6))  # fmt: skip
    finally:
        server.stop()
    assert res.rows == {"SPY": 2 * 390}
    assert local.provenance()["SPY"]["feeds"] == ["iex", "sip"]


def test_sync_falls_back_to_the_local_store_when_the_manager_is_down(tmp_path: Path) -> None:
    local = ParquetStore(tmp_path / "local")
    local.write("SPY", generate_market(date(2024, 3, 4), 1, seed=4)["SPY"], "file:spy.csv")
    before = local.data_hash()
    down = ManagerSource(httpx.Client(timeout=1.0), "http://127.0.0.1:9", KEY)
    res = sync(down, local, ["SPY"], days=2, today=TODAY)
    assert res.fallback is not None and "unreachable" in res.fallback
    assert local.data_hash() == before


def test_sync_cli_with_the_manager_down_warns_or_fails_on_an_empty_store(tmp_path: Path) -> None:
    """With bars in the local store the command warns on stderr and exits 0 (training goes
    on with them); with an empty local store there is nothing to fall back on: exit 2."""
    from typer.testing import CliRunner

    from zerodte.cli.main import app

    down = ["data", "sync", "--from", "http://127.0.0.1:9", "--days", "2", "--data-dir"]
    empty = CliRunner().invoke(app, [*down, str(tmp_path / "empty")])
    assert empty.exit_code == 2, empty.output
    assert "nothing to fall back on" in empty.stderr and "holds no bars" in empty.stderr
    local = ParquetStore(tmp_path / "local")
    local.write("SPY", generate_market(date(2024, 3, 4), 1, seed=4)["SPY"], "file:spy.csv")
    warned = CliRunner().invoke(app, [*down, str(tmp_path / "local")])
    assert warned.exit_code == 0, warned.output
    assert "\nwarning: local store" in warned.stderr and warned.stdout == ""


def test_serve_on_an_address_that_is_not_this_machines_is_a_data_error(tmp_path: Path) -> None:
    """An unknown host name is a DataError naming it, not a socket traceback."""
    with pytest.raises(DataError, match=r"cannot listen on notahost\.invalid"):
        Server(create_app(ParquetStore(tmp_path / "s"), KEY), host="notahost.invalid")


def test_collect_once_through_the_router(tmp_path: Path) -> None:
    class Down:
        name = "polygon"

        def fetch(self, symbol: str, start: date, end: date) -> pd.DataFrame:
            raise DataError("polygon down")

    synthetic = SyntheticSource(SyntheticConfig(seed=2, days=6, start=date(2024, 3, 4)))
    store = ParquetStore(tmp_path / "s")
    written = collect_once(SourceRouter([Down(), synthetic]), store, ["SPY"], days=2, today=TODAY)
    assert written == {"SPY": 780}
    assert store.provenance()["SPY"]["sources"] == ["synthetic:collect"]


def test_a_manager_url_without_http_is_refused() -> None:
    """A mistyped URL is a ConfigError naming it, never a fallback to the local store that
    exits 0 as if the manager were merely down."""
    for url in ("notaurl", "127.0.0.1:8765", "ftp://host/x"):
        with pytest.raises(
            ConfigError, match=re.escape(f"data manager URL '{url}' is not an http")
        ):
            ManagerSource(httpx.Client(), url, "k")
    with pytest.raises(ConfigError, match=re.escape("data.manager_url = 'notaurl'")):
        with_overrides(Settings(), {"data.manager_url": "notaurl"})
    ManagerSource(httpx.Client(), "https://manager.example:8765/", "k")  # accepted
