"""``zerodte dashboard --status`` against a served dashboard, and a port nothing answers on."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zerodte.cli.main import app

from .conftest import Served, free_port


@pytest.fixture(autouse=True)
def _clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env or settings file of the checkout
    for name in list(os.environ):
        if name.startswith("ZERODTE_"):
            monkeypatch.delenv(name, raising=False)


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["dashboard", *args])
    return result.exit_code, result.output


def test_status_of_a_running_dashboard(served: Served) -> None:
    code, out = _invoke("--status", "--host", served.host, "--port", str(served.port))
    assert code == 0, out
    assert f"dashboard at {served.url}: ok" in out and "store sqlite with 4 run(s)" in out
    code, out = _invoke("--status", "--json", "--port", str(served.port))
    assert code == 0 and json.loads(out)["runs"] == 4


def test_status_when_nothing_answers() -> None:
    code, out = _invoke("--status", "--port", str(free_port()))
    assert code == 1 and "no dashboard answers at http://127.0.0.1:" in out
    res = CliRunner().invoke(app, ["dashboard", "--status", "--json", "--port", str(free_port())])
    assert res.exit_code == 1 and res.stdout == "" and "no dashboard answers" in res.stderr


def test_a_bad_port_is_a_configuration_error() -> None:
    result = CliRunner().invoke(app, ["dashboard", "--status", "--port", "0"])
    assert result.exit_code == 2 and "dashboard.port = 0" in result.output


def test_an_address_it_cannot_listen_on_is_refused_before_serving() -> None:
    """A port another process listens on, or a host name that is not this machine's, is a
    configuration error naming the address (exit 2), not uvicorn's log line and exit 3."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = CliRunner().invoke(app, ["dashboard", "--port", str(port)])
    assert taken.exit_code == 2, taken.output
    assert f"cannot listen on 127.0.0.1:{port} (Address already in use)" in taken.stderr
    unknown = CliRunner().invoke(app, ["dashboard", "--host", "notahost.invalid"])
    assert unknown.exit_code == 2 and "cannot listen on notahost.invalid:" in unknown.stderr
