"""The experiments seam: a source that reports running trials, a promotion and PBO is shown
by the agent API, the training monitor and its page, with every result's safeguards."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from zerodte.dashboard import create_app
from zerodte.dashboard.experiments import (
    ExperimentMonitor,
    ExperimentResult,
    Friction,
    Interval,
)

from .conftest import dashboard_settings


class ReportingSource:
    """What an experiments system would report through :class:`ExperimentSource`."""

    def results(self) -> list[ExperimentResult]:
        return [
            ExperimentResult(
                run_id=f"trial-{k}",
                family="study-a",
                controller="q_scorer",
                mode="backtest:vectorised",
                start="2024-01-02",
                end="2024-06-28",
                created_at=f"2025-01-0{k + 1}T00:00:00+00:00",
                config_hash=f"cfg{k}",
                trades=120 + k,
                pnl=100.0 * k,
                per_trade_pnl=float(k),
                interval=Interval(low=k - 3.0, high=k + 3.0, level=0.95, method="session_block"),
                friction=Friction(fees_paid=150.0, spread_cost=400.0),
                sharpe=0.5 * k,
                max_drawdown=300.0,
                win_rate=0.5,
                family_trials=3,
                deflated_sharpe={"dsr": 0.2 * k, "reason": "DSR below 0.95: not significant"},
            )
            for k in range(3)
        ]

    def monitor(self) -> ExperimentMonitor:
        return ExperimentMonitor(
            system="running",
            message="study-a: 3 of 50 trials done",
            running=[{"trial": 3, "params": {"exits.stop_loss_pct": 7.0}}],
            promotion={"state": "candidate", "run_id": "trial-2"},
            pbo={"value": 0.41, "reason": "CSCV over 16 blocks"},
        )


def test_a_reporting_source_is_shown(tmp_path: Path) -> None:
    client = TestClient(create_app(dashboard_settings(tmp_path), experiments=ReportingSource()))
    status = client.get("/api/agent/status").json()
    assert status["experiments_system"] == "running" and status["running"][0]["trial"] == 3
    assert status["promotion"]["state"] == "candidate" and status["pbo"]["value"] == 0.41
    best = client.get("/api/agent/experiments/best", params={"limit": 1}).json()
    assert best["experiments"][0]["run_id"] == "trial-2"
    assert best["experiments"][0]["family_trials"] == 3
    assert client.get("/api/agent/summary").json()["best"]["run_id"] == "trial-2"
    page = client.get("/training").text
    assert "study-a: 3 of 50 trials done" in page and "trial-2" in page and "0.41" in page
    assert '"trial": 3' in page
