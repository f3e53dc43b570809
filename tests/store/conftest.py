"""Fixtures of the store tests: an empty database on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from zerodte.config.settings import StoreSettings
from zerodte.store import make_engine
from zerodte.store.schema import metadata


def _drop_all(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        metadata.drop_all(conn)
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def open_engine(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[sa.Engine]:
    """An empty database on ``backend`` ("sqlite" or "postgres"), dropped afterwards."""
    if backend == "sqlite":
        eng = make_engine(StoreSettings(path=tmp_path / "nested" / "dir" / "runs.db"))
    else:
        eng = make_engine(StoreSettings(url=request.getfixturevalue("postgres_url")))
        _drop_all(eng)
    try:
        yield eng
    finally:
        if eng.dialect.name == "postgresql":
            _drop_all(eng)
        eng.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    yield from open_engine(request.param, request, tmp_path)
