"""The sqlite3 writer of a run's rows stores exactly what ``RunStore.record_run`` stores.

Each case records the same run through SQLAlchemy (``RunStore``) into one database and
through :func:`record_run_if_current` into another, then compares every column of every
row as SQLite holds it (value and storage class). The writer declines, writing nothing,
whenever the store is not an existing SQLite file at the scripts' head.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import traceback
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from zerodte.config.settings import StoreSettings
from zerodte.errors import DataError
from zerodte.store import RunStore, make_engine, migrate
from zerodte.store.columns import RUN_COLUMNS
from zerodte.store.revisions import script_head
from zerodte.store.schema import runs
from zerodte.store.sqlite_rows import record_run_if_current

from .helpers import at_once

NY = "America/New_York"

META: dict[str, Any] = {
    "run_id": "momentum-0123456789ab",
    "controller": "momentum",
    "mode": "backtest:synthetic",
    "seed": np.int64(7),
    "start": "2024-03-04",
    "end": "2024-03-05",
    "config_hash": "c0ffee",
    "data_hash": "d00d",
    "code_version": "0.1.0+gabc",
    "created_at": "2024-03-06T09:15:02.123456-05:00",
    "run_dir": "runs/momentum-0123456789ab",
    "publish_token": "a1b2c3d4e5f6",
}
SUMMARY: dict[str, Any] = {
    "pnl": 100.5,
    "sharpe": None,
    "trades": 3,
    "exit_reasons": {"max_hold": 1, "stop_loss": 2},
    "sharpe_ci95": [-0.5, 1.25],
    "note": "naïve ±0.1%",
}


@pytest.fixture
def trades(make_trades) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    frame = make_trades(
        [
            {
                "pnl": 120.0,
                "entry_time": "2024-03-04 09:45:30.250001",
                "hmm_trend": 2.0,
                "q_call": 0.4,
                "signal_reasoning": "breakout; volume 2.1x ±",
                "spread_cost": 0.1 + 0.2,
            },
            {"pnl": -60.0, "entry_time": "2024-03-04 11:00", "right": "P", "qty": 3},
            {"pnl": 40.0, "entry_time": "2024-03-05 15:59", "exit_reason": "max_hold"},
        ]
    )
    frame["predicted_return"] = pd.Series([None, 0.25, None], dtype=object)
    frame["extra_column"] = 1.0  # not a store column: ignored by both writers
    return frame


def _store(path: Path) -> StoreSettings:
    settings = StoreSettings(path=path)
    RunStore(make_engine(settings)).engine.dispose()  # created and migrated to head
    return settings


def _rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        names = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        cols = ", ".join(f'"{n}", typeof("{n}")' for n in names)
        return conn.execute(f"SELECT {cols} FROM {table} ORDER BY rowid").fetchall()


def _both(
    tmp_path: Path, meta: dict[str, Any], summary: dict[str, Any], trades: pd.DataFrame
) -> tuple[Path, Path]:
    """Record twice (a rerun replaces) through each writer; return both databases."""
    old, new = tmp_path / "sqlalchemy.db", tmp_path / "sqlite3.db"
    old_settings, new_settings = _store(old), _store(new)
    engine = make_engine(old_settings)
    store = RunStore(engine)
    for _ in range(2):
        store.record_run(meta, summary, trades)
        assert record_run_if_current(new_settings, meta, summary, trades)
    store.record_run({**meta, "run_id": "other"}, {}, trades.iloc[:1])
    assert record_run_if_current(new_settings, {**meta, "run_id": "other"}, {}, trades.iloc[:1])
    engine.dispose()
    return old, new


def test_the_runs_columns_are_the_tables() -> None:
    assert tuple(c.name for c in runs.columns) == RUN_COLUMNS


def test_same_rows_as_sqlalchemy(tmp_path: Path, trades: pd.DataFrame) -> None:
    old, new = _both(tmp_path, META, SUMMARY, trades)
    assert _rows(new, "runs") == _rows(old, "runs")
    assert _rows(new, "trades") == _rows(old, "trades")
    run_ids = [r[2] for r in _rows(new, "trades")]
    assert run_ids == [META["run_id"]] * 3 + ["other"]  # the rerun replaced the first rows
    stored = RunStore(make_engine(StoreSettings(path=new)), migrate_schema=False)
    assert stored.get_run(META["run_id"])["summary"] == SUMMARY  # type: ignore[index]
    back = stored.trades(META["run_id"])
    assert back["entry_time"].tolist() == trades["entry_time"].tolist()
    stored.engine.dispose()


def test_same_rows_with_defaults_and_nulls(tmp_path: Path, trades: pd.DataFrame) -> None:
    """No created_at (the database clock), no other meta keys (JSON null), naive times."""
    meta = {"run_id": "bare", "start": dt.date(2024, 3, 4), "end": None, "seed": None}
    naive = trades.assign(entry_time=trades["entry_time"].dt.tz_localize(None))
    old, new = _both(tmp_path, meta, {}, naive)
    created = RUN_COLUMNS.index("created_at") * 2
    strip = [r[:created] + r[created + 2 :] for r in _rows(old, "runs")]
    assert [r[:created] + r[created + 2 :] for r in _rows(new, "runs")] == strip
    assert all(r[created] is not None for r in _rows(new, "runs"))
    assert _rows(new, "trades") == _rows(old, "trades")


def test_no_trades(tmp_path: Path, trades: pd.DataFrame) -> None:
    old, new = _both(tmp_path, META, SUMMARY, trades.iloc[:0])
    assert _rows(new, "runs") == _rows(old, "runs")
    assert _rows(new, "trades") == _rows(old, "trades")


def test_bad_inputs_raise_as_runstore(tmp_path: Path, trades: pd.DataFrame) -> None:
    settings = _store(tmp_path / "runs.db")
    with pytest.raises(DataError, match="lacks columns"):
        record_run_if_current(settings, META, {}, trades.drop(columns=["q_put"]))
    with pytest.raises(ValueError, match="non-finite"):
        record_run_if_current(settings, META, {"sharpe": float("nan")}, trades)
    with pytest.raises(ValueError, match="run_id"):
        record_run_if_current(settings, {"controller": "x"}, {}, trades)
    assert _rows(tmp_path / "runs.db", "runs") == []


def test_declines_without_a_current_sqlite_store(tmp_path: Path, trades: pd.DataFrame) -> None:
    missing = tmp_path / "none" / "runs.db"
    assert not record_run_if_current(StoreSettings(path=missing), META, SUMMARY, trades)
    assert not missing.exists() and not missing.parent.exists()  # nothing created
    url = StoreSettings(url=f"sqlite:///{tmp_path / 'url.db'}")
    assert not record_run_if_current(url, META, SUMMARY, trades)
    echo = _store(tmp_path / "echo.db").model_copy(update={"echo": True})
    assert not record_run_if_current(echo, META, SUMMARY, trades)

    behind = tmp_path / "behind.db"
    engine = make_engine(StoreSettings(path=behind))
    migrate(engine, "0001")
    assert not record_run_if_current(StoreSettings(path=behind), META, SUMMARY, trades)
    with engine.begin() as conn:  # a store migrated by newer code
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'zz99'"))
    assert not record_run_if_current(StoreSettings(path=behind), META, SUMMARY, trades)
    engine.dispose()
    with sqlite3.connect(behind) as conn:
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone() == (0,)

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database" * 100)
    assert not record_run_if_current(StoreSettings(path=garbage), META, SUMMARY, trades)
    assert script_head() is not None  # the check above is the head check, not a parse failure


WRITERS = 8


def _write(settings: StoreSettings, index: int, barrier: Any, results: Any, trades: Any) -> None:
    """Record run ``p<index>``: even writers through sqlite3, odd ones through RunStore."""
    try:
        barrier.wait(timeout=60)
        meta = {"run_id": f"p{index}", "controller": "x"}
        if index % 2 == 0:
            done = record_run_if_current(settings, meta, {"pnl": 1.0}, trades)
            results.put((index, "ok" if done else "declined"))
            return
        engine = make_engine(settings)
        RunStore(engine).record_run(meta, {"pnl": 1.0}, trades)
        engine.dispose()
        results.put((index, "ok"))
    except Exception:
        results.put((index, traceback.format_exc()))


def test_concurrent_writers(
    tmp_path: Path,
    trades: pd.DataFrame,
    forkserver: Any,
) -> None:
    """Eight processes recording at the same moment, both writers mixed: every run lands."""
    ctx = forkserver
    failures: list[str] = []
    for r in range(3):
        path = tmp_path / f"round{r}.db"
        settings = _store(path)
        outcomes = at_once(ctx, _write, WRITERS, settings, trades)
        failures += [f"round {r} writer {i}: {o}" for i, o in outcomes if o != "ok"]
        with sqlite3.connect(path) as conn:
            counts = dict(conn.execute("SELECT run_id, COUNT(*) FROM trades GROUP BY run_id"))
        if counts != {f"p{i}": len(trades) for i in range(WRITERS)}:
            failures.append(f"round {r}: trades per run {counts}")
    assert not failures, "\n".join(failures[:5])


def test_the_same_file_as_sqlalchemy(tmp_path: Path, trades: pd.DataFrame) -> None:
    """Both writers open the file ``store.path`` names, whatever its characters: a path is
    never read as a URL (``%xx`` decoded, ``?`` starting a query)."""
    for name in ("a b#c@d:e+f", "g~h", "p%20q", "r?s=1", "t%3Fu"):
        path = tmp_path / name / "runs.db"
        engine = make_engine(StoreSettings(path=path))
        assert engine.url.database == str(path)
        engine.dispose()
        assert record_run_if_current(_store(path), META, SUMMARY, trades)
        with sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True) as conn:
            assert conn.execute("SELECT run_id FROM runs").fetchall() == [(META["run_id"],)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["a b#c@d:e+f", "g~h", "p%20q", "r?s=1", "t%3Fu"]
    )


def _die_mid_insert(settings: StoreSettings, trades: pd.DataFrame) -> None:
    """Rerun ``META``'s run and die (no cleanup) after inserting half of its trade rows."""
    import os

    from zerodte.store import sqlite_rows

    real = sqlite_rows._encoded_trades

    def dying(run_id: str, columns: Any) -> Any:
        rows = real(run_id, columns)
        yield from rows[: len(rows) // 2]
        os._exit(3)

    sqlite_rows._encoded_trades = dying  # type: ignore[assignment]
    record_run_if_current(settings, {**META, "code_version": "rerun"}, {"pnl": -1.0}, trades)


def test_a_kill_mid_transaction_keeps_the_previous_run(
    tmp_path: Path, trades: pd.DataFrame, forkserver: Any
) -> None:
    """The rows are one transaction: a writer killed after the deletes, the run row and half
    the trades leaves the run as it was recorded before."""
    path = tmp_path / "runs.db"
    settings = _store(path)
    assert record_run_if_current(settings, META, SUMMARY, trades)
    before = (_rows(path, "runs"), _rows(path, "trades"))
    proc = forkserver.Process(target=_die_mid_insert, args=(settings, trades))
    proc.start()
    proc.join(timeout=120)
    assert proc.exitcode == 3
    assert (_rows(path, "runs"), _rows(path, "trades")) == before
    assert record_run_if_current(settings, META, SUMMARY, trades)  # the store is usable
