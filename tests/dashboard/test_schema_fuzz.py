"""schemathesis over the OpenAPI schema: no 5xx for any generated input, and every response
matches the schema (status codes the schema declares, bodies of the declared shape).

The server-sent event streams are left out: they never end unless told, and they are not
JSON; tests/dashboard/test_live.py reads them.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from zerodte.dashboard import create_app

from .conftest import TOKEN, Filled, copy_sqlite, dashboard_settings

# The schema is read from the app at import; the store behind it is filled (from the
# session's real backtests, with the backup API into the same file) before any case runs.
ROOT = Path(tempfile.mkdtemp(prefix="zerodte-fuzz-"))
APP = create_app(dashboard_settings(ROOT))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).exclude(path_regex="^/api/stream/")


@pytest.fixture(scope="module", autouse=True)
def _filled_store(filled: Filled) -> Iterator[None]:
    copy_sqlite(filled.store, ROOT / "store.db")
    yield
    shutil.rmtree(ROOT, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_server_error_and_responses_match_the_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {TOKEN}"},
        checks=[not_a_server_error, response_schema_conformance],
    )


def test_the_schema_lists_every_endpoint_of_the_issue(filled: Filled, tmp_path: Path) -> None:
    copy_sqlite(filled.store, tmp_path / "store.db")
    paths = create_app(dashboard_settings(tmp_path)).openapi()["paths"]
    for path in (
        "/api/runs",
        "/api/runs/{run_id}",
        "/api/trades",
        "/api/trades/pnl-curve",
        "/api/health",
        "/api/agent/summary",
        "/api/agent/experiments",
        "/api/agent/experiments/best",
        "/api/agent/experiments/compare",
        "/api/agent/suggest",
        "/api/agent/ideas",
        "/api/agent/status",
    ):
        assert path in paths, path
    assert "post" in paths["/api/agent/ideas"]
