"""The pages in a real headless Chromium (Debian's, driven by Playwright): browse the history,
open a run and see its P&L chart drawn with the run's points, watch the live monitor, open
the experiments page, submit an idea through the API and see it queued there (pushed over
server-sent events, no reload). Screenshots go to ``test-artifacts/dashboard/``
(``ZERODTE_TEST_ARTIFACTS`` overrides the root)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import ARTIFACTS, TOKEN, Filled, Served

SHOTS = ARTIFACTS / "dashboard"


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        yield tab
    finally:
        context.close()
    assert not errors, f"the page logged errors: {errors}"


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_history_run_and_its_pnl_chart(page: Any, served: Served, filled: Filled) -> None:
    page.goto(f"{served.url}/history")
    rows = page.locator("#runs tbody tr")
    assert rows.count() == 4  # three backtests and the replayed paper session
    _shot(page, "history")
    run_id = filled.run_ids[0]
    page.click(f"a[href='/runs/{run_id}']")
    page.wait_for_url(f"**/runs/{run_id}")
    page.wait_for_function(
        "() => Chart.getChart(document.getElementById('pnl-chart')) !== undefined"
    )
    drawn = page.evaluate(
        "() => Chart.getChart(document.getElementById('pnl-chart')).data.datasets[0].data"
    )
    curve = httpx.get(f"{served.url}/api/trades/pnl-curve", params={"run_id": run_id}).json()
    assert len(drawn) == curve["trades"] == filled.trades[run_id]
    # drawn in cents
    pairs = zip(drawn, curve["points"], strict=True)
    assert all(math.isclose(a, p["cum_pnl"], abs_tol=0.005) for a, p in pairs)
    box = page.locator("#pnl-chart").bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 100
    assert page.locator("#trades tbody tr").count() == min(filled.trades[run_id], 200)
    assert page.locator("#fig-trades").inner_text() == str(filled.trades[run_id])
    _shot(page, "run")
    page.click(f"a[href='/regimes?run_id={run_id}']")
    page.wait_for_url("**/regimes*")
    assert "Regime view" in page.inner_text("h1")
    _shot(page, "regimes")


def test_live_monitor_draws_the_session(page: Any, served: Served) -> None:
    page.goto(f"{served.url}/live")
    page.wait_for_function(
        "() => { const c = Chart.getChart(document.getElementById('equity-chart'));"
        " return c !== undefined && c.data.datasets[0].data.length === 70; }"
    )
    assert page.inner_text("#live-alignment") == "exact"
    assert page.locator("#decisions tbody tr").count() > 0
    _shot(page, "live")


def test_experiments_page_shows_a_submitted_idea_queued(page: Any, served: Served) -> None:
    page.goto(f"{served.url}/training")
    assert "experiments: 1 family, 0 quick trial(s)" in page.inner_text("#training-system")
    assert page.locator("#scoreboard tbody tr").count() == 4
    params = {"exits.take_profit_pct": 14.0, "entry.momentum_threshold_pct": 0.2}
    answer = httpx.post(
        f"{served.url}/api/agent/ideas",
        json={"params": params, "note": "browser test", "source": "test"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert answer.status_code in (200, 201), answer.text
    digest = answer.json()["idea"]["param_hash"][:12]
    row = page.locator("#queue tbody tr", has_text=digest)
    row.wait_for(timeout=10_000)  # pushed by the training stream, no reload
    assert "pending" in row.inner_text() and "default" in row.inner_text()
    assert not page.locator("#queue-empty").is_visible()
    _shot(page, "training")
