"""The REST API over real stores (SQLite and PostgreSQL) filled by real backtests."""

from __future__ import annotations

import math

from fastapi.testclient import TestClient

from zerodte.records import TRADE_COLUMNS
from zerodte.store import RunStore
from zerodte.store.schema import RUN_COLUMNS

from .conftest import TOKEN, Filled, add_family


def test_runs_list_and_detail(client: TestClient, filled: Filled) -> None:
    body = client.get("/api/runs").json()
    assert body["total"] == 3
    assert {r["run_id"] for r in body["runs"]} == set(filled.run_ids)
    for run in body["runs"]:
        assert run["summary"]["trades"] == filled.trades[run["run_id"]]
    only = client.get("/api/runs", params={"controller": "random"}).json()
    assert [r["controller"] for r in only["runs"]] == ["random"]
    paged = client.get("/api/runs", params={"limit": 1, "offset": 1}).json()
    assert paged["total"] == 3 and len(paged["runs"]) == 1
    assert client.get("/api/runs", params={"mode": "live"}).json()["total"] == 0
    detail = client.get(f"/api/runs/{filled.run_ids[0]}").json()
    assert detail["run_id"] == filled.run_ids[0] and "meta" in detail
    missing = client.get("/api/runs/no-such-run")
    assert missing.status_code == 404 and "GET /api/runs" in missing.json()["detail"]


def test_trades_carry_every_column_and_page(client: TestClient, filled: Filled) -> None:
    run_id = filled.run_ids[0]
    body = client.get("/api/trades", params={"run_id": run_id}).json()
    assert body["total"] == filled.trades[run_id] == len(body["trades"])
    first = body["trades"][0]
    assert set(first) == set(TRADE_COLUMNS)
    assert first["entry_time"].endswith("-05:00")  # exchange time (January)
    ids = [t["trade_id"] for t in body["trades"]]
    assert ids == sorted(ids)
    page = client.get("/api/trades", params={"run_id": run_id, "limit": 5, "offset": 5}).json()
    assert [t["trade_id"] for t in page["trades"]] == ids[5:10]
    assert client.get("/api/trades", params={"run_id": "nope"}).status_code == 404
    assert client.get("/api/trades").status_code == 422


def test_pnl_curve_matches_the_trades(client: TestClient, filled: Filled) -> None:
    run_id = filled.run_ids[0]
    trades = client.get("/api/trades", params={"run_id": run_id}).json()["trades"]
    curve = client.get("/api/trades/pnl-curve", params={"run_id": run_id}).json()
    assert curve["trades"] == len(trades) == len(curve["points"])
    total = sum(t["pnl"] for t in trades)
    assert math.isclose(curve["pnl"], total, abs_tol=1e-6)
    summary = client.get(f"/api/runs/{run_id}").json()["summary"]
    assert math.isclose(curve["pnl"], summary["pnl"], abs_tol=1e-6)
    peak = 0.0
    for point in curve["points"]:
        peak = max(peak, point["cum_pnl"])
        assert math.isclose(point["drawdown"], point["cum_pnl"] - peak, abs_tol=1e-9)
    assert curve["max_drawdown"] == min(p["drawdown"] for p in curve["points"])
    times = [p["exit_time"] for p in curve["points"]]
    assert times == sorted(times)


def test_health_names_kinds_not_urls(client: TestClient) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "ok" and body["runs"] == 3
    assert body["store"] in ("sqlite", "postgresql")
    assert "://" not in str(body) and "/" not in body["store"]


def test_experiment_results_carry_what_prevents_cherry_picking(client: TestClient) -> None:
    body = client.get("/api/agent/experiments").json()
    assert body["total"] == 3
    families = {}
    for r in body["experiments"]:
        assert r["trades"] > 0
        assert r["friction"]["fees_paid"] > 0 and "spread_cost" in r["friction"]
        assert r["interval"]["low"] < r["per_trade_pnl"] < r["interval"]["high"]
        assert r["interval"]["method"]
        assert r["family_trials"] >= 1
        assert "dsr" in r["deflated_sharpe"] and "reason" in r["deflated_sharpe"]
        families.setdefault(r["family"], set()).add(r["config_hash"])
    # momentum and random on one window (2 trials); momentum alone on the other
    assert sorted(len(v) for v in families.values()) == [1, 2]
    for r in body["experiments"]:
        assert r["family_trials"] == len(families[r["family"]])
    best = client.get("/api/agent/experiments/best", params={"limit": 2, "min_trades": 0}).json()
    lows = [r["interval"]["low"] for r in best["experiments"]]
    assert len(lows) == 2 and lows == sorted(lows, reverse=True)
    assert client.get("/api/agent/experiments", params={"min_trades": 10**6}).json()["total"] == 0


def test_compare_and_suggest(client: TestClient, filled: Filled) -> None:
    a, b, c = filled.run_ids
    same = client.get("/api/agent/experiments/compare", params={"runs": f"{a},{b},ghost"}).json()
    assert [r["run_id"] for r in same["runs"]] == [a, b]
    assert same["missing"] == ["ghost"] and same["same_family"] is True
    other = client.get("/api/agent/experiments/compare", params={"runs": f"{a},{c}"}).json()
    assert other["same_family"] is False and "do not rank" in other["note"]
    assert client.get("/api/agent/experiments/compare", params={"runs": ","}).status_code == 400
    tips = client.get("/api/agent/suggest", params={"min_trades": 5}).json()
    assert tips["patterns"], "three runs of ~50 trades show at least one pattern"
    for p in tips["patterns"]:
        assert all(g["trades"] >= 5 for g in p["evidence"]["groups"])
    assert all(r["trades"] >= 5 for r in tips["worst_runs"])


def test_summary_and_status(client: TestClient) -> None:
    summary = client.get("/api/agent/summary").json()
    assert summary["runs"] == 3 and summary["families"] == 2
    assert set(summary["controllers"]) == {"momentum", "random"}
    assert summary["experiments_system"] == "absent"
    status = client.get("/api/agent/status").json()
    assert status["running"] == [] and status["promotion"] is None
    assert status["queue"] == {} and status["live_runs"] == []


def test_ideas_are_validated_idempotent_and_queued(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    idea_in = {"params": {"exits.stop_loss_pct": 6}}
    none = client.post("/api/agent/ideas", json=idea_in, headers=auth)
    assert none.status_code == 409 and "no experiment family exists yet" in none.json()["detail"]
    add_family(client)
    first = client.post(
        "/api/agent/ideas", json={"params": {"exits.stop_loss_pct": 6}}, headers=auth
    )
    assert first.status_code == 201 and first.json()["created"] is True
    idea = first.json()["idea"]
    assert idea["params"] == {"exits.stop_loss_pct": 6.0} and idea["status"] == "pending"
    assert idea["family"] == "default" and idea["source"] == "agent"
    again = client.post(
        "/api/agent/ideas",
        json={"params": {"exits.stop_loss_pct": 6.0}, "note": "same idea", "source": "other"},
        headers=auth,
    )
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["idea"]["id"] == idea["id"]
    assert again.json()["idea"]["param_hash"] == idea["param_hash"]
    typo = client.post("/api/agent/ideas", json={"params": {"exits.stop_los_pct": 6}}, headers=auth)
    assert typo.status_code == 400 and "did you mean exits.stop_loss_pct" in typo.json()["detail"]
    bad = client.post(
        "/api/agent/ideas", json={"params": {"exits.stop_loss_pct": -1}}, headers=auth
    )
    assert bad.status_code == 400 and "greater than 0" in bad.json()["detail"]
    secret = client.post(
        "/api/agent/ideas", json={"params": {"broker.tradier_token": "x"}}, headers=auth
    )
    assert secret.status_code == 400
    assert client.post("/api/agent/ideas", json={"params": {}}, headers=auth).status_code == 400
    listed = client.get("/api/agent/ideas").json()
    assert [i["id"] for i in listed["ideas"]] == [idea["id"]]
    assert client.get("/api/agent/status").json()["queue"] == {"pending": 1}
    training = client.get("/api/training").json()
    assert [i["param_hash"] for i in training["queue"]] == [idea["param_hash"]]
    # a body with NaN or Infinity (Python's JSON reader takes them) is a 422 that echoes them
    # as strings, not a 500 from encoding the echo; a NaN setting is refused like any other
    for raw in (b'{"params": {}, "note": NaN}', b'{"params": {"x": 1}, "extra": -Infinity}'):
        odd = client.post("/api/agent/ideas", content=raw,
                          headers={**auth, "Content-Type": "application/json"})  # fmt: skip
        assert odd.status_code == 422, odd.text
        assert {"NaN", "-Infinity"} & {str(e.get("input")) for e in odd.json()["detail"]}
    nan = client.post("/api/agent/ideas", content=b'{"params": {"exits.stop_loss_pct": NaN}}',
                      headers={**auth, "Content-Type": "application/json"})  # fmt: skip
    assert nan.status_code == 400 and "finite number" in nan.json()["detail"]
    assert client.get("/api/agent/status").json()["queue"] == {"pending": 1}


def test_a_rerun_that_replaces_a_run_is_not_served_from_the_cache(
    client: TestClient, filled: Filled
) -> None:
    run_id = filled.run_ids[0]
    before = client.get("/api/trades", params={"run_id": run_id}).json()
    assert client.get("/api/trades", params={"run_id": run_id}).json() == before  # cached
    app_ctx = client.app.state.ctx  # type: ignore[attr-defined]
    store = RunStore(app_ctx.runs.engine)
    run = store.get_run(run_id)
    assert run is not None
    meta = {k: run[k] for k in RUN_COLUMNS if k not in ("summary", "meta", "created_at")}
    fewer = store.trades(run_id).iloc[:3]
    store.record_run(meta, {**run["summary"], "trades": 3}, fewer)
    after = client.get("/api/trades", params={"run_id": run_id}).json()
    assert after["total"] == 3 and [t["trade_id"] for t in after["trades"]] == [
        t["trade_id"] for t in before["trades"][:3]
    ]
    curve = client.get("/api/trades/pnl-curve", params={"run_id": run_id}).json()
    assert curve["trades"] == 3


def test_history_page_filters(client: TestClient, filled: Filled) -> None:
    page = client.get("/history", params={"controller": "random"})
    assert page.status_code == 200 and "1 run(s)" in page.text
    assert client.get("/history", params={"since": "2030-01-01"}).text.count("/runs/") == 0
    assert client.get("/history", params={"since": "not-a-date"}).status_code == 422
    run = client.get(f"/runs/{filled.run_ids[0]}")
    assert run.status_code == 200 and 'id="pnl-chart"' in run.text
