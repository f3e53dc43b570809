"""One journal contract over MemoryJournal and SqlJournal (SQLite and PostgreSQL); a
journal write survives ``kill -9``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from zerodte.broker.journal import Journal, JournalOrder, MemoryJournal
from zerodte.broker.reconcile import JournalState
from zerodte.config.settings import StoreSettings
from zerodte.store.journal import SqlJournal, journal_engine
from zerodte.types import OptionContract, Order, OrderType, Right, Side

from .conftest import BACKENDS, open_engine

CALL = OptionContract("SPY", date(2024, 3, 15), Right.CALL, 500.0)
T = pd.Timestamp("2024-03-15 10:00", tz="America/New_York")


@pytest.fixture(params=["memory", *BACKENDS])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Journal]:
    if request.param == "memory":
        yield MemoryJournal()
    else:
        for engine in open_engine(request.param, request, tmp_path):
            yield SqlJournal(engine)


def test_orders_are_upserted_by_tag(journal: Journal) -> None:
    order = Order("z-1", CALL, Side.BUY, 2, OrderType.LIMIT, 1.25, reason="entry")
    journal.write_order("r", JournalOrder("z-1", order, JournalState.INTENT, submitted_at=T))
    journal.write_order("r", JournalOrder("z-2", order, JournalState.INTENT))
    placed = JournalOrder("z-1", order, JournalState.PLACED, "88", 1, 1.2, "", T)
    journal.write_order("r", placed)
    journal.write_order("other", JournalOrder("z-1", order, JournalState.REJECTED))
    first, second = journal.orders("r")
    assert first == placed and second.tag == "z-2"
    assert [o.state for o in journal.orders("other")] == [JournalState.REJECTED]


def test_events_are_numbered_in_order(journal: Journal) -> None:
    a = journal.append_event("r", "z-1", "fill", {"qty": 1, "price": 1.5})
    journal.append_event("other", "z-9", "fill", {"qty": 9})
    b = journal.append_event("r", "z-1", "rejection", {"reason": "expired"})
    assert a < b
    assert [(e.seq, e.kind, e.data) for e in journal.events("r")] == [
        (a, "fill", {"qty": 1, "price": 1.5}),
        (b, "rejection", {"reason": "expired"}),
    ]
    assert [e.seq for e in journal.events("r", after=a)] == [b]


def test_meta_and_checkpoints(journal: Journal) -> None:
    journal.set_meta("r", "initial_cash", 50_000.0)
    journal.set_meta("r", "initial_cash", 49_000.0)
    assert journal.meta("r") == {"initial_cash": 49_000.0}
    assert journal.checkpoint("r") is None
    for cycle in range(3):
        journal.save_cycle(
            "r",
            cycle=cycle,
            bar_time=T + pd.Timedelta(minutes=cycle),
            events_seen=cycle * 2,
            state={"book": {"trade_id": cycle}},
            row={"cycle": cycle, "cash": 1.5 * cycle},
        )
    cp = journal.checkpoint("r")
    assert cp is not None
    assert (cp.cycle, cp.events_seen, cp.state) == (2, 4, {"book": {"trade_id": 2}})
    assert cp.bar_time == T + pd.Timedelta(minutes=2)
    assert [r["cash"] for r in cp.rows] == [0.0, 1.5, 3.0]


def test_sqlite_journal_is_fsynced_wal(tmp_path: Path) -> None:
    engine = journal_engine(StoreSettings(path=tmp_path / "runs.db"), path=tmp_path / "j.db")
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(sa.text("PRAGMA synchronous")).scalar() == 2  # FULL
    assert (tmp_path / "j.db").exists() and not (tmp_path / "runs.db").exists()


def test_a_write_survives_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "journal.db"
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from zerodte.config.settings import StoreSettings
        from zerodte.store.journal import SqlJournal, journal_engine
        journal = SqlJournal(journal_engine(StoreSettings(), path=Path({str(db)!r})))
        journal.append_event("r", "z-1", "fill", {{"qty": 1}})
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], check=False, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    journal = SqlJournal(journal_engine(StoreSettings(), path=db))
    assert [e.data for e in journal.events("r")] == [{"qty": 1}]
    assert os.path.getsize(db) > 0
