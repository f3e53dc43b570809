"""Empty stores show empty states; tokens guard writes (and reads when asked); CORS is off
unless configured; no secret reaches a response or a page."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from zerodte.dashboard import create_app

from .conftest import TOKEN, Filled, add_family, copy_sqlite, dashboard_settings

READS = [
    "/api/runs",
    "/api/health",
    "/api/agent/summary",
    "/api/agent/experiments",
    "/api/agent/experiments/best",
    "/api/agent/experiments/compare?runs=a,b",
    "/api/agent/suggest",
    "/api/agent/status",
    "/api/agent/ideas",
    "/api/live/runs",
    "/api/training",
    "/api/stream/live?max_events=1",
    "/api/stream/training?max_events=1",
]
PAGES = ["/live", "/training", "/history", "/regimes"]


def test_an_empty_store_shows_empty_states(tmp_path: Path) -> None:
    client = TestClient(create_app(dashboard_settings(tmp_path)))
    for path in READS + PAGES:
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text[:300])
    assert client.get("/api/runs").json()["total"] == 0
    assert client.get("/api/agent/summary").json()["best"] is None
    assert client.get("/api/live/runs").json() == {"runs": []}
    assert "No runs in the store" in client.get("/history").text
    assert "No live or paper session" in client.get("/live").text
    assert "no experiments system reports here yet" in client.get("/training").text
    assert "The queue is empty" in client.get("/training").text
    assert "No runs in the store yet" in client.get("/regimes").text
    assert not (tmp_path / "journal.db").exists(), "looking at the journal must not create it"
    assert client.get("/api/live/some-run").status_code == 404
    assert client.get("/runs/some-run").status_code == 404


def test_writes_need_the_token(tmp_path: Path) -> None:
    idea = {"params": {"exits.take_profit_pct": 15}}
    no_token = TestClient(create_app(dashboard_settings(tmp_path, ZERODTE_DASHBOARD__API_TOKEN="")))
    refused = no_token.post("/api/agent/ideas", json=idea)
    assert refused.status_code == 403 and "ZERODTE_DASHBOARD__API_TOKEN" in refused.json()["detail"]
    client = TestClient(create_app(dashboard_settings(tmp_path)))
    assert client.post("/api/agent/ideas", json=idea).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert client.post("/api/agent/ideas", json=idea, headers=wrong).status_code == 401
    right = {"Authorization": f"Bearer {TOKEN}"}
    add_family(client)
    assert client.post("/api/agent/ideas", json=idea, headers=right).status_code == 201
    assert client.get("/api/runs").status_code == 200  # reads open by default


def test_reads_can_need_the_token(tmp_path: Path) -> None:
    settings = dashboard_settings(tmp_path, ZERODTE_DASHBOARD__PROTECT_READS="true")
    client = TestClient(create_app(settings))
    right = {"Authorization": f"Bearer {TOKEN}"}
    for path in ["/api/runs", "/api/agent/summary", "/api/training", "/history"]:
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers=right).status_code == 200, path


def test_cors_is_off_unless_configured(tmp_path: Path) -> None:
    origin = {"Origin": "http://elsewhere.example"}
    closed = TestClient(create_app(dashboard_settings(tmp_path)))
    assert "access-control-allow-origin" not in closed.get("/api/runs", headers=origin).headers
    settings = dashboard_settings(
        tmp_path, ZERODTE_DASHBOARD__CORS_ORIGINS='["http://elsewhere.example"]'
    )
    opened = TestClient(create_app(settings))
    answer = opened.get("/api/runs", headers=origin)
    assert answer.headers["access-control-allow-origin"] == "http://elsewhere.example"


@pytest.mark.parametrize("protect", [False, True])
def test_no_secret_in_any_response_or_page(filled: Filled, tmp_path: Path, protect: bool) -> None:
    copy_sqlite(filled.store, tmp_path / "store.db")
    secrets = {
        "ZERODTE_BROKER__TRADIER_TOKEN": "sandbox-secret-1a2b3c",
        "ZERODTE_BROKER__TRADIER_LIVE_TOKEN": "live-secret-4d5e6f",
        "ZERODTE_DATA__POLYGON_API_KEY": "polygon-secret-7a8b9c",
    }
    env = {**secrets, "ZERODTE_DASHBOARD__PROTECT_READS": str(protect).lower()}
    client = TestClient(create_app(dashboard_settings(tmp_path, **env)))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    add_family(client)
    idea = {"params": {"exits.stop_loss_pct": 7}, "source": "secret-check"}
    assert client.post("/api/agent/ideas", json=idea, headers=auth).status_code == 201
    run_id = filled.run_ids[0]
    paths = READS + PAGES
    paths += [f"/api/runs/{run_id}", f"/api/trades?run_id={run_id}", f"/runs/{run_id}"]
    paths += [f"/api/trades/pnl-curve?run_id={run_id}", "/openapi.json", "/docs"]
    for path in paths:
        answer = client.get(path, headers=auth)
        assert answer.status_code == 200, path
        for value in [*secrets.values(), TOKEN]:
            assert value not in answer.text, f"{path} leaks a secret"


def test_a_browser_logs_in_for_protected_pages(tmp_path: Path) -> None:
    settings = dashboard_settings(tmp_path, ZERODTE_DASHBOARD__PROTECT_READS="true")
    client = TestClient(create_app(settings))
    assert client.get("/history").status_code == 401
    assert client.get("/login").status_code == 200
    wrong = client.post("/login", data={"token": "nope"}, follow_redirects=False)
    assert wrong.status_code == 401 and "zerodte_token" not in wrong.headers.get("set-cookie", "")
    right = client.post("/login", data={"token": TOKEN}, follow_redirects=False)
    assert right.status_code == 303
    cookie = right.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/history").status_code == 200  # the client keeps the cookie
    assert client.get("/api/runs").status_code == 200
    assert (
        client.post("/api/agent/ideas", json={"params": {"exits.stop_loss_pct": 5}}).status_code
        == 401
    )
