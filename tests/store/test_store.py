"""Run store on SQLite and on a real PostgreSQL: migrations, round trips, constraints."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from zerodte.config.settings import StoreSettings
from zerodte.errors import DataError
from zerodte.records import TRADE_COLUMNS
from zerodte.store import RunStore, make_engine, migrate
from zerodte.store.engine import alembic_config, normalize_url
from zerodte.store.schema import metadata

NY = "America/New_York"


@pytest.fixture
def trades(make_trades) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    frame = make_trades(
        [
            {
                "pnl": 120.0,
                "entry_time": "2024-03-04 09:45",
                "hmm_trend": 2.0,
                "q_call": 0.4,
                "ml_confidence": 0.8,
                "signal_reasoning": "breakout; volume 2.1x",
            },
            {
                "pnl": -60.0,
                "entry_time": "2024-03-04 11:00",
                "right": "P",
                "entry_controller": "bandit",
            },
            {"pnl": 40.0, "entry_time": "2024-03-05 13:00", "exit_reason": "max_hold"},
        ]
    )
    return frame


META = {
    "run_id": "bt-20240304-rules-0",
    "controller": "rules",
    "mode": "backtest",
    "start": "2024-03-04",
    "end": pd.Timestamp("2024-03-05 16:00", tz=NY),
    "seed": 7,
    "config_hash": "c0ffee",
    "data_hash": "d00d",
    "code_version": "0.1.0+abc",
    "run_dir": "runs/bt-20240304-rules-0",
    "cycles": 780,
}


def test_migration_from_empty_database(engine: sa.Engine) -> None:
    assert not sa.inspect(engine).get_table_names()
    migrate(engine)
    migrate(engine)  # idempotent
    names = set(sa.inspect(engine).get_table_names())
    assert {"runs", "trades", "alembic_version"} <= names
    with engine.connect() as conn:
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diffs == [], diffs
    cols = {c["name"] for c in sa.inspect(engine).get_columns("trades")}
    assert set(TRADE_COLUMNS) <= cols


def test_round_trip(engine: sa.Engine, trades: pd.DataFrame) -> None:
    store = RunStore(engine)
    summary = {"trades": 3, "pnl": 100.0, "sharpe": None, "exit_reasons": {"max_hold": 1}}
    store.record_run(META, summary, trades)
    back = store.trades(META["run_id"])
    assert list(back.columns) == list(TRADE_COLUMNS)
    expected = trades.copy()
    expected["signal_reasoning"] = expected["signal_reasoning"].astype(object)
    pd.testing.assert_frame_equal(
        back.reset_index(drop=True),
        expected.reset_index(drop=True),
        check_dtype=False,
        check_exact=False,
        rtol=1e-12,
    )
    assert str(back["entry_time"].dt.tz) == NY
    assert back.loc[0, "hmm_trend"] == 2.0 and np.isnan(back.loc[1, "hmm_trend"])
    with engine.connect() as conn:
        nulls = conn.execute(
            sa.text("SELECT COUNT(*) FROM trades WHERE hmm_trend IS NULL")
        ).scalar()
    assert nulls == 2  # NaN is stored as NULL, not 0

    run = store.get_run(META["run_id"])
    assert run is not None
    assert run["summary"] == summary
    assert run["controller"] == "rules" and run["seed"] == 7 and run["mode"] == "backtest"
    assert run["start"] == pd.Timestamp("2024-03-04", tz=NY)
    assert run["end"] == pd.Timestamp("2024-03-05 16:00", tz=NY)
    assert run["meta"] == {"cycles": 780}
    assert isinstance(run["created_at"], dt.datetime) and run["created_at"].tzinfo is not None
    assert store.get_run("nope") is None


def test_record_is_idempotent_per_run_id(engine: sa.Engine, trades: pd.DataFrame) -> None:
    store = RunStore(engine)
    store.record_run(META, {"trades": 3}, trades)
    store.record_run(META, {"trades": 1}, trades.iloc[:1])
    store.record_run({**META, "run_id": "other", "created_at": "2030-01-01 09:30"}, {}, trades)
    runs = store.list_runs()
    assert [r["run_id"] for r in runs] == [META["run_id"], "other"]
    assert runs[0]["summary"] == {"trades": 1}
    assert len(store.trades(META["run_id"])) == 1
    assert len(store.trades("other")) == 3


def test_query_trades(engine: sa.Engine, trades: pd.DataFrame) -> None:
    store = RunStore(engine)
    store.record_run(META, {}, trades)
    store.record_run({**META, "run_id": "b"}, {}, trades)
    allq = store.query_trades()
    assert len(allq) == 6 and list(allq.columns) == ["run_id", *TRADE_COLUMNS]
    assert len(store.query_trades(entry_controller="bandit")) == 2
    assert len(store.query_trades(run_id="b", exit_reason=["max_hold", "stop_loss"])) == 2
    assert len(store.query_trades(session="2024-03-05")) == 2
    assert len(store.query_trades(hmm_trend=None)) == 4
    assert len(store.query_trades(since="2024-03-04 10:00", until="2024-03-05 00:00")) == 2
    with pytest.raises(ValueError, match="did you mean 'exit_reason'"):
        store.query_trades(exit_reasn="x")


def test_foreign_key_enforced(engine: sa.Engine) -> None:
    RunStore(engine)
    row = {
        "run_id": "ghost",
        "trade_id": 0,
        "session": dt.date(2024, 3, 4),
        "entry_time": dt.datetime(2024, 3, 4, 15, tzinfo=dt.UTC),
        "exit_time": dt.datetime(2024, 3, 4, 15, 5, tzinfo=dt.UTC),
        "symbol": "X",
        "right": "C",
        "qty": 1,
        "entry_price": 1.0,
        "exit_price": 1.0,
        "fees": 0.0,
        "pnl": 0.0,
    }
    from zerodte.store.schema import trades as trades_table

    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(trades_table.insert().values(**row))


def test_bad_inputs_are_rejected(engine: sa.Engine, trades: pd.DataFrame) -> None:
    store = RunStore(engine)
    with pytest.raises(DataError, match="lacks columns"):
        store.record_run(META, {}, trades.drop(columns=["q_put"]))
    with pytest.raises(ValueError, match="non-finite"):
        store.record_run(META, {"sharpe": float("nan")}, trades)
    with pytest.raises(ValueError, match="run_id"):
        store.record_run({"controller": "x"}, {}, trades)
    assert store.list_runs() == []  # nothing half-written


def test_sqlite_wal_and_parent_dirs(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "zerodte.db"
    eng = make_engine(StoreSettings(path=path))
    RunStore(eng)
    assert path.exists()
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    eng.dispose()


def test_url_normalisation() -> None:
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_script_head_is_alembics_head() -> None:
    """The head read from the scripts' text (the quick at-head check) is alembic's head."""
    from zerodte.store.engine import script_head

    assert [script_head()] == ScriptDirectory.from_config(alembic_config()).get_heads()


def test_database_behind_head_is_still_migrated(tmp_path: Path) -> None:
    """The quick check only skips a database already at head: an older one is upgraded."""
    from zerodte.store.engine import script_head

    engine = make_engine(StoreSettings(path=tmp_path / "old.db"))
    migrate(engine, "0001")
    migrate(engine)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == (script_head(),)
        assert sa.inspect(conn).has_table("experiment_ideas")  # from a later revision
