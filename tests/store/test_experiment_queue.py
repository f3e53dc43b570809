"""The idea queue on SQLite and PostgreSQL: idempotent submission, exclusive claims,
heartbeats, stale requeue, and trials written once and only with the claim."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import sqlalchemy as sa

from zerodte.errors import ConfigError, DataError
from zerodte.store.experiments import ExperimentStore, TrialRow, trial_key


class FakeClock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(engine: sa.Engine, clock: FakeClock) -> ExperimentStore:
    s = ExperimentStore(engine, clock=clock)
    s.ensure_family("fam", {"quick_days": 5})
    return s


def _trial(claim_id: int, stage: str, pnl: float = 1.0) -> TrialRow:
    return TrialRow(
        trial_key=trial_key(claim_id, stage),
        family="fam",
        stage=stage,
        param_hash=f"h{claim_id}",
        params={"x": claim_id},
        first_session=dt.date(2024, 1, 2),
        last_session=dt.date(2024, 1, 8),
        data_hash="d",
        daily_pnl=(pnl, 0.0, -pnl / 2, pnl, 0.0),
        trades=3,
        pnl=pnl * 1.5,
        idea_id=claim_id,
    )


def _add(store: ExperimentStore, n: int, priority: int = 0) -> list[int]:
    return [
        store.add_idea("fam", f"idea {i}", {"k": i}, f"hash-{priority}-{i}", priority=priority)[0]
        for i in range(n)
    ]


def _keep(status: str) -> Any:
    return lambda rows: (status, {"n_trials": len(rows)})


def test_submission_is_idempotent(store: ExperimentStore) -> None:
    first = store.add_idea("fam", "wider stop", {"exits.stop_loss_pct": 12.0}, "abc")
    again = store.add_idea("fam", "same, other title", {"exits.stop_loss_pct": 12.0}, "abc")
    assert first == (first[0], True)
    assert again == (first[0], False)
    assert len(store.ideas()) == 1


def test_family_config_is_fixed(store: ExperimentStore) -> None:
    assert store.ensure_family("fam", {"quick_days": 5}) == {"quick_days": 5}
    with pytest.raises(ConfigError, match="quick_days"):
        store.ensure_family("fam", {"quick_days": 6})
    with pytest.raises(ConfigError, match="no experiment family"):
        store.add_idea("nope", "x", {}, "zzz")


def test_claims_follow_priority_then_age(store: ExperimentStore) -> None:
    low = _add(store, 2)
    high = _add(store, 1, priority=5)
    order = [store.claim("w") for _ in range(4)]
    assert [c.idea_id for c in order if c] == [*high, *low]
    assert order[-1] is None
    assert all(c.stage == "quick" and c.attempts == 1 for c in order if c)


def test_two_workers_never_claim_the_same_idea(store: ExperimentStore) -> None:
    ids = _add(store, 30)
    got: list[int] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        while (c := store.claim(name)) is not None:
            with lock:
                got.append(c.idea_id)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == ids


def test_finish_writes_the_trial_once_and_only_with_the_claim(
    store: ExperimentStore, clock: FakeClock
) -> None:
    (idea,) = _add(store, 1)
    claim = store.claim("a")
    assert claim is not None
    clock.advance(120)
    assert store.requeue_stale(60) == [idea]
    assert store.idea(idea)["status"] == "pending"  # type: ignore[index]
    assert not store.heartbeat(claim)
    again = store.claim("b")
    assert again is not None and again.attempts == 2
    # the first worker comes back: nothing it finishes is written
    assert store.finish(claim, _trial(idea, "quick"), _keep("rejected")) is None
    assert store.trials("fam") == []
    decided = store.finish(again, _trial(idea, "quick"), _keep("passed_quick"))
    assert decided == ("passed_quick", {"n_trials": 1})
    assert len(store.trials("fam")) == 1
    # the validation stage is claimed next, from passed_quick
    val = store.claim("c")
    assert val is not None and val.stage == "validation" and val.attempts == 1
    store.finish(val, _trial(idea, "validation"), _keep("validated"))
    row = store.idea(idea)
    assert row is not None and row["status"] == "validated"
    assert set(row["result"]) == {"quick", "validation"}
    assert [t.stage for t in store.trials("fam")] == ["quick", "validation"]


def test_a_live_heartbeat_is_not_requeued(store: ExperimentStore, clock: FakeClock) -> None:
    _add(store, 1)
    claim = store.claim("a")
    assert claim is not None
    for _ in range(5):
        clock.advance(30)
        assert store.heartbeat(claim)
        assert store.requeue_stale(60) == []


def test_too_many_abandoned_claims_end_in_error(store: ExperimentStore, clock: FakeClock) -> None:
    (idea,) = _add(store, 1)
    for _ in range(3):
        assert store.claim("a") is not None
        clock.advance(100)
        store.requeue_stale(60, max_attempts=3)
    row = store.idea(idea)
    assert row is not None and row["status"] == "error"
    assert store.claim("a") is None


def test_decide_sees_every_trial_of_the_family(store: ExperimentStore) -> None:
    ids = _add(store, 3)
    counts = []
    for idea in ids:
        claim = store.claim("w")
        assert claim is not None and claim.idea_id == idea
        _status, result = store.finish(claim, _trial(idea, "quick"), _keep("rejected"))  # type: ignore[misc]
        counts.append(result["n_trials"])
    assert counts == [1, 2, 3]


def test_a_trial_with_nan_days_is_refused(store: ExperimentStore) -> None:
    (idea,) = _add(store, 1)
    claim = store.claim("w")
    assert claim is not None
    bad = TrialRow(**{**_trial(idea, "quick").__dict__, "daily_pnl": (1.0, float("nan"))})
    with pytest.raises(DataError, match="NaN"):
        store.finish(claim, bad, _keep("rejected"))
    assert store.trials("fam") == []


def test_record_trials_is_idempotent(store: ExperimentStore) -> None:
    rows = [
        TrialRow(**{**_trial(0, "study").__dict__, "trial_key": f"s:{i}", "idea_id": None})
        for i in range(3)
    ]
    assert store.record_trials(rows) == 3
    assert store.record_trials(rows) == 0
    assert len(store.trials("fam", "study")) == 3


def test_an_interrupted_sqlite_upgrade_leaves_nothing_behind(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that dies mid-upgrade must not leave tables without their version row
    (every later start would fail with "table already exists")."""
    from zerodte.config.settings import StoreSettings
    from zerodte.store import engine as store_engine
    from zerodte.store import make_engine, migrate

    real = store_engine.command.upgrade

    def dies_halfway(cfg: Any, revision: str) -> None:
        real(cfg, "0001")  # runs and trades created in the open transaction
        raise RuntimeError("killed mid-upgrade")

    eng = make_engine(StoreSettings(path=tmp_path / "half.db"))
    monkeypatch.setattr(store_engine.command, "upgrade", dies_halfway)
    with pytest.raises(RuntimeError, match="killed"):
        migrate(eng)
    assert sa.inspect(eng).get_table_names() == []
    monkeypatch.setattr(store_engine.command, "upgrade", real)
    migrate(eng)
    assert "experiment_ideas" in sa.inspect(eng).get_table_names()


def test_the_old_dashboard_ideas_table_is_dropped_only_when_empty(tmp_path: Any) -> None:
    """Revision 0006 drops the dashboard's own ``ideas`` table (ideas now go to the
    experiments queue), and refuses, changing nothing, while it still holds an idea."""
    from zerodte.config.settings import StoreSettings
    from zerodte.store import make_engine
    from zerodte.store.engine import migrate

    engine = make_engine(StoreSettings(path=tmp_path / "old.db"))
    migrate(engine, "0005")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO ideas (param_hash, params, source, status) "
                "VALUES ('h', '{\"exits.stop_loss_pct\": 6.0}', 'agent', 'queued')"
            )
        )
    with pytest.raises(ConfigError, match="'ideas' still holds 1 idea"):
        migrate(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0005"
        assert conn.execute(sa.text("SELECT COUNT(*) FROM ideas")).scalar() == 1
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM ideas"))
    migrate(engine)
    assert not sa.inspect(engine).has_table("ideas")
