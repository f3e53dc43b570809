"""Eight processes opening one fresh store at the same moment: 0 failures over 20 rounds.

Each process migrates the schema (``RunStore(make_engine(...))``), records one run with
three trades and lists the runs; a barrier releases all eight at once. The processes are
forked from a forkserver with the store preloaded, so a round costs well under a second.
On PostgreSQL every round gets a new, empty schema (the connections' search path).
Also: malformed and unreachable URLs end in a ``ConfigError`` that names the URL (password
masked), not a traceback.
"""

from __future__ import annotations

import traceback
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from zerodte.config.settings import StoreSettings
from zerodte.errors import ConfigError
from zerodte.store import RunStore, make_engine

from .helpers import at_once

PROCESSES = 8
ROUNDS = 20


def _open_and_record(
    settings: StoreSettings, index: int, barrier: Any, results: Any, trades: pd.DataFrame
) -> None:
    try:
        barrier.wait(timeout=60)
        engine = make_engine(settings)
        store = RunStore(engine)
        store.record_run({"run_id": f"p{index}", "controller": "x"}, {"pnl": 1.0}, trades)
        listed = {r["run_id"] for r in store.list_runs()}
        results.put((index, "ok" if f"p{index}" in listed else "run missing after record"))
        engine.dispose()
    except Exception:
        results.put((index, traceback.format_exc()))


def _round(ctx: Any, settings: StoreSettings, trades: pd.DataFrame) -> list[str]:
    outcomes = at_once(ctx, _open_and_record, PROCESSES, settings, trades)
    failures = [f"process {i}: {o}" for i, o in outcomes if o != "ok"]
    engine = make_engine(settings)
    runs = {r["run_id"] for r in RunStore(engine, migrate_schema=False).list_runs()}
    engine.dispose()
    if runs != {f"p{i}" for i in range(PROCESSES)}:
        failures.append(f"runs recorded: {sorted(runs)}")
    return failures


def test_fresh_sqlite_store_under_concurrent_first_use(
    tmp_path: Path,
    make_trades,  # type: ignore[no-untyped-def]
    forkserver: Any,
) -> None:
    ctx = forkserver
    trades = make_trades([{"pnl": 10.0 * k} for k in range(3)])
    failures = []
    for r in range(ROUNDS):
        failures += _round(ctx, StoreSettings(path=tmp_path / f"round{r}" / "runs.db"), trades)
    assert not failures, "\n".join(failures[:5])


@pytest.mark.postgres
def test_fresh_postgres_store_under_concurrent_first_use(
    postgres_url: str,
    make_trades,  # type: ignore[no-untyped-def]
    forkserver: Any,
) -> None:
    ctx = forkserver
    trades = make_trades([{"pnl": 10.0 * k} for k in range(3)])
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    failures = []
    try:
        for _ in range(ROUNDS):
            # a fresh, empty schema per round, made the connections' search path
            name = f"round_{uuid.uuid4().hex[:10]}"
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
            url = sa.engine.make_url(postgres_url).update_query_dict(
                {"options": f"-csearch_path={name}"}
            )
            settings = StoreSettings(url=url.render_as_string(hide_password=False))
            try:
                failures += _round(ctx, settings, trades)
            finally:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
    finally:
        admin.dispose()
    assert not failures, "\n".join(failures[:5])


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("not a url", "not a database URL"),
        ("mysql://u@h/db", "not supported"),
        ("postgresql+psycopg://u:secret@127.0.0.1:1/db", "cannot open the run store"),
    ],
)
def test_bad_store_urls_are_config_errors(url: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle) as err:
        RunStore(make_engine(StoreSettings.model_construct(url=url, path=Path("x"), echo=False)))
    assert "secret" not in str(err.value)


def test_interrupted_sqlite_migration_leaves_no_half_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_trades: Any
) -> None:
    """A migration that dies after its first CREATE TABLE (a kill -9, an error) must leave
    the previous revision, so the next start migrates cleanly instead of failing on
    "table ... already exists"."""
    from alembic import op

    settings = StoreSettings(path=str(tmp_path / "runs.db"))
    engine = make_engine(settings)
    real = op.create_table
    calls = {"n": 0}

    def dies_on_second_table(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("killed mid-migration")
        return real(*args, **kwargs)

    monkeypatch.setattr(op, "create_table", dies_on_second_table)
    with pytest.raises(RuntimeError, match="killed mid-migration"):
        RunStore(engine)
    assert sa.inspect(engine).get_table_names() == []  # the first table was rolled back
    monkeypatch.setattr(op, "create_table", real)
    store = RunStore(engine)
    store.record_run({"run_id": "after", "controller": "x"}, {"pnl": 1.0}, make_trades([]))
    assert [r["run_id"] for r in store.list_runs()] == ["after"]
    engine.dispose()


def test_a_migration_sqlite_answers_locked_is_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite may answer "database is locked" at once, without its busy timeout, when several
    processes open a new file together: the idempotent migration is tried again; any other
    driver error is reported at once, as a ConfigError."""
    from zerodte.store import engine as store_engine

    real = store_engine._migrate_once
    calls: list[int] = []

    def flaky(engine: sa.Engine, revision: str) -> None:
        calls.append(1)
        if len(calls) < 3:
            raise sa.exc.OperationalError("BEGIN", {}, Exception("database is locked"))
        real(engine, revision)

    monkeypatch.setattr(store_engine, "_migrate_once", flaky)
    engine = make_engine(StoreSettings(path=tmp_path / "runs.db"))
    store_engine.migrate(engine)
    assert len(calls) == 3 and RunStore(engine, migrate_schema=False).list_runs() == []

    def broken(engine: sa.Engine, revision: str) -> None:
        calls.append(1)
        raise sa.exc.OperationalError("SELECT", {}, Exception("disk I/O error"))

    calls.clear()
    monkeypatch.setattr(store_engine, "_migrate_once", broken)
    with pytest.raises(ConfigError, match="disk I/O error"):
        store_engine.migrate(engine)
    assert len(calls) == 1
    engine.dispose()
