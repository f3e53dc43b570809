"""The live monitor over a real journal: a replayed paper session of the fake Tradier."""

from __future__ import annotations

import json
import math
from pathlib import Path

from fastapi.testclient import TestClient

from zerodte.config.settings import StoreSettings
from zerodte.dashboard import create_app
from zerodte.store import RunStore, make_engine

from .conftest import dashboard_settings


def _client(root: Path) -> TestClient:
    return TestClient(create_app(dashboard_settings(root)))


def test_live_snapshot_agrees_with_the_finished_run(live_session: Path) -> None:
    client = _client(live_session)
    runs = client.get("/api/live/runs").json()["runs"]
    assert len(runs) == 1 and runs[0]["cycle"] == 69
    run_id = runs[0]["run_id"]
    snap = client.get(f"/api/live/{run_id}").json()
    recorded = RunStore(make_engine(StoreSettings(path=live_session / "store.db"))).get_run(run_id)
    assert recorded is not None
    summary = recorded["summary"]
    assert snap["closed_trades"] == summary["trades"] > 0
    assert math.isclose(snap["realized_pnl"], summary["pnl"], abs_tol=1e-6)
    assert math.isclose(snap["equity"], summary["final_equity"], abs_tol=1e-6)
    assert math.isclose(snap["today_pnl"], snap["equity"] - snap["day_start_equity"])
    assert len(snap["equity_curve"]) == 70
    assert snap["bar"].startswith("2024-01-02T10:39")  # 09:30 + 69 minutes
    assert snap["equity_curve"][0]["bar"].startswith("2024-01-02T09:30")
    assert snap["alignment"] == "exact" and snap["controller"] == summary["controller"]
    assert snap["health"] == {"failures": {}, "last": {}}
    assert snap["decisions"], "the session decided something"
    executed = [d for d in snap["decisions"] if d["action"] != "HOLD"]
    assert executed and all(d["reason"] for d in executed)
    vetoed = [v for d in snap["decisions"] for v in d["vetoes"]]
    assert all(v["gate"] and v["reason"] for v in vetoed)
    assert snap["orders"] >= 2 * summary["trades"] and snap["reconciliations"] >= 1


def test_live_updates_are_pushed_as_server_sent_events(live_session: Path) -> None:
    client = _client(live_session)
    with client.stream("GET", "/api/stream/live", params={"max_events": 2}) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        text = "".join(stream.iter_text())
    events = [block for block in text.split("\n\n") if block.strip()]
    assert len(events) == 2
    data = [
        json.loads(line[5:]) for e in events for line in e.splitlines() if line.startswith("data:")
    ]
    assert [d["data"]["cycle"] for d in data] == [69, 69]
    assert all("event: update" in e for e in events)


def test_live_page_renders_the_snapshot(live_session: Path) -> None:
    page = _client(live_session).get("/live")
    assert page.status_code == 200
    assert 'id="equity-chart"' in page.text and "/api/stream/live" in page.text
    assert "cycle 69" in page.text
