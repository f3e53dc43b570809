"""``ExperimentStore``: experiment families, the idea queue and every trial, in SQL.

One store serves any number of workers on any number of machines (PostgreSQL by URL;
SQLite for one machine). The guarantees the experiments rely on are kept here:

* **Idempotent submission.** An idea is identified by its parameter hash (family plus the
  validated overrides, ``experiment_ideas.param_hash`` unique); adding it again returns the
  existing row.
* **A claim is exclusive.** On PostgreSQL :meth:`ExperimentStore.claim` takes the next idea
  with ``SELECT ... FOR UPDATE SKIP LOCKED`` (two workers never lock the same row and never
  wait for each other) and marks it ``running`` with a fresh claim token in the same
  transaction. SQLite has no row locks; there the claim is one ``UPDATE ... RETURNING``
  statement, which takes the database's write lock, so two workers cannot both win.
* **Counted once.** A trial row is written only by :meth:`finish`, in the same transaction
  as the status change and only while the caller still holds the claim token; its
  ``trial_key`` (``idea:<id>:<stage>``) is unique. A worker that was declared stale and
  whose idea was handed to another worker can no longer write anything.
* **Stale claims come back.** Workers heartbeat while they run;
  :meth:`requeue_stale` returns an idea whose heartbeat is older than the limit to the
  state before its claim (``pending`` for the quick test, ``passed_quick`` for the
  validation), or to ``error`` after ``max_attempts`` claims of the same stage.

Statuses: ``pending -> running -> passed_quick | rejected``, ``passed_quick -> running ->
validated | failed_validation``; ``error`` when a trial raised or was abandoned too often.

Times come from the injected ``clock`` (UTC); workers on several machines need their
clocks synchronised (NTP) to within a small fraction of the stale limit.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from zerodte.errors import ConfigError, DataError
from zerodte.research.serialize import jsonable
from zerodte.store.engine import migrate
from zerodte.store.schema import experiment_families, experiment_ideas, experiment_trials

logger = logging.getLogger(__name__)

STATUSES: tuple[str, ...] = (
    "pending",
    "running",
    "passed_quick",
    "rejected",
    "validated",
    "failed_validation",
    "error",
)
CLAIMABLE: dict[str, str] = {"pending": "quick", "passed_quick": "validation"}
"""Status an idea is claimed from -> the stage the claim runs."""
BEFORE_STAGE: dict[str, str] = {stage: status for status, stage in CLAIMABLE.items()}

Clock = Callable[[], dt.datetime]
"""The current time in UTC; the program's composition root passes the wall clock
(:meth:`zerodte.engine.clock.WallClock.utc`), tests a fake one."""


@dataclass(frozen=True)
class Claim:
    """An idea claimed by one worker for one stage; ``token`` proves the claim is current."""

    idea_id: int
    token: str
    stage: str
    family: str
    title: str
    overrides: dict[str, Any]
    param_hash: str
    attempts: int
    worker: str


@dataclass(frozen=True)
class TrialRow:
    """One trial: a configuration run once on one window, with its daily P&L vector."""

    trial_key: str
    family: str
    stage: str
    param_hash: str
    params: dict[str, Any]
    first_session: dt.date
    last_session: dt.date
    data_hash: str
    daily_pnl: tuple[float, ...]
    trades: int
    pnl: float
    idea_id: int | None = None
    worker: str | None = None
    run_dir: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    created_at: dt.datetime | None = None
    """When the store recorded it (set by the store; ignored on insert)."""

    def values(self) -> dict[str, Any]:
        """Column values for an insert (validated: a NaN day is an error, never 0)."""
        daily = [float(x) for x in self.daily_pnl]
        if any(math.isnan(x) for x in daily):
            raise DataError(
                f"trial {self.trial_key}: daily P&L has NaN; a day without trades made 0.0, "
                "a NaN means the run is broken"
            )
        return {
            "trial_key": self.trial_key,
            "family": self.family,
            "idea_id": self.idea_id,
            "stage": self.stage,
            "param_hash": self.param_hash,
            "params": jsonable(self.params),
            "first_session": self.first_session,
            "last_session": self.last_session,
            "data_hash": self.data_hash,
            "daily_pnl": daily,
            "trades": int(self.trades),
            "pnl": float(self.pnl),
            "worker": self.worker,
            "run_dir": self.run_dir,
        }


def _trial(row: Mapping[str, Any]) -> TrialRow:
    return TrialRow(
        trial_key=row["trial_key"],
        family=row["family"],
        stage=row["stage"],
        param_hash=row["param_hash"],
        params=dict(row["params"]),
        first_session=row["first_session"],
        last_session=row["last_session"],
        data_hash=row["data_hash"],
        daily_pnl=tuple(float(x) for x in row["daily_pnl"]),
        trades=int(row["trades"]),
        pnl=float(row["pnl"]),
        idea_id=row["idea_id"],
        worker=row["worker"],
        run_dir=row["run_dir"],
        created_at=row["created_at"],
    )


Decide = Callable[[list[TrialRow]], tuple[str, dict[str, Any]]]
"""Every trial of the family, every stage (the new one included) -> (status, result)."""


class ExperimentStore:
    """Families, ideas and trials (see the module docstring for the guarantees)."""

    def __init__(self, engine: sa.Engine, *, clock: Clock, migrate_schema: bool = True) -> None:
        self.engine = engine
        self.clock = clock
        if migrate_schema:
            migrate(engine)

    @property
    def is_postgres(self) -> bool:
        """Whether the store is PostgreSQL (row locks with SKIP LOCKED)."""
        return self.engine.dialect.name == "postgresql"

    # -- families ---------------------------------------------------------------------

    def ensure_family(self, name: str, config: Mapping[str, Any]) -> dict[str, Any]:
        """Create family ``name`` with ``config``, or return the stored config.

        Raises
        ------
        ConfigError
            The family exists with another config: its windows and data are fixed at
            creation, since its trials are only comparable on the same days.
        """
        doc = jsonable(dict(config))
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(experiment_families.c.config).where(experiment_families.c.name == name)
            ).first()
            if row is None:
                try:
                    conn.execute(sa.insert(experiment_families).values(name=name, config=doc))
                except sa.exc.IntegrityError:
                    logger.debug("family %s created concurrently", name)
                else:
                    return doc
        stored = self.family(name)
        assert stored is not None
        if stored != doc:
            changed = sorted(k for k in set(stored) | set(doc) if stored.get(k) != doc.get(k))
            raise ConfigError(
                f"experiment family {name!r} already exists with other {', '.join(changed)} "
                f"(stored {[stored.get(k) for k in changed]}, given "
                f"{[doc.get(k) for k in changed]}); its trials are comparable only on the same "
                "windows and data. Use the stored values or name a new family (--family)"
            )
        return stored

    def family(self, name: str) -> dict[str, Any] | None:
        """The stored config of family ``name``, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(experiment_families.c.config).where(experiment_families.c.name == name)
            ).first()
        return None if row is None else dict(row[0])

    def families(self) -> list[str]:
        """Every family name, in creation order."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(experiment_families.c.name).order_by(
                    experiment_families.c.created_at, experiment_families.c.name
                )
            )
            return [r[0] for r in rows]

    # -- ideas -----------------------------------------------------------------------

    def add_idea(  # noqa: PLR0917 (the columns of an idea)
        self,
        family: str,
        title: str,
        overrides: Mapping[str, Any],
        param_hash: str,
        hypothesis: str | None = None,
        source: str = "user",
        provenance: Mapping[str, Any] | None = None,
        priority: int = 0,
    ) -> tuple[int, bool]:
        """Queue an idea; returns ``(id, created)``. The same ``param_hash`` is one idea."""
        values = {
            "param_hash": param_hash,
            "family": family,
            "title": title[:255],
            "hypothesis": hypothesis,
            "overrides": jsonable(dict(overrides)),
            "source": source,
            "provenance": jsonable(dict(provenance)) if provenance else None,
            "priority": int(priority),
            "status": "pending",
            "attempts": 0,
        }
        if self.family(family) is None:
            raise ConfigError(f"no experiment family {family!r}; create it first")
        try:
            with self.engine.begin() as conn:
                new_id = conn.execute(
                    sa.insert(experiment_ideas).values(**values).returning(experiment_ideas.c.id)
                ).scalar_one()
            return int(new_id), True
        except sa.exc.IntegrityError:
            with self.engine.connect() as conn:
                found = conn.execute(
                    sa.select(experiment_ideas.c.id).where(
                        experiment_ideas.c.param_hash == param_hash
                    )
                ).scalar_one()
            return int(found), False

    def ideas(
        self, *, family: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """Ideas as dicts, oldest first (optionally one family or status)."""
        q = sa.select(experiment_ideas).order_by(experiment_ideas.c.id)
        if family is not None:
            q = q.where(experiment_ideas.c.family == family)
        if status is not None:
            q = q.where(experiment_ideas.c.status == status)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def idea(self, idea_id: int) -> dict[str, Any] | None:
        """One idea as a dict, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(experiment_ideas).where(experiment_ideas.c.id == idea_id)
            ).first()
        return None if row is None else dict(row._mapping)

    # -- claims ----------------------------------------------------------------------

    def claim(self, worker: str, *, family: str | None = None) -> Claim | None:
        """Claim the next claimable idea (highest priority, then oldest) for ``worker``."""
        t = experiment_ideas
        token = uuid.uuid4().hex
        now = self.clock()
        stage = sa.case((t.c.status == "pending", "quick"), else_="validation")
        claimable: sa.ColumnElement[bool] = t.c.status.in_(list(CLAIMABLE))
        if family is not None:
            claimable = sa.and_(claimable, t.c.family == family)
        values = {
            "status": "running",
            "stage": stage,
            "claim_token": token,
            "claimed_by": worker,
            "claimed_at": now,
            "heartbeat_at": now,
            "attempts": t.c.attempts + 1,
        }
        with self.engine.begin() as conn:
            pick = sa.select(t.c.id).where(claimable).order_by(t.c.priority.desc(), t.c.id).limit(1)
            if self.is_postgres:
                idea_id = conn.execute(pick.with_for_update(skip_locked=True)).scalar()
                if idea_id is None:
                    return None
                target: sa.ColumnElement[bool] = t.c.id == idea_id
            else:
                # one statement: it takes SQLite's write lock before it reads
                target = sa.and_(t.c.id == pick.scalar_subquery(), claimable)
            row = conn.execute(
                sa.update(t)
                .where(target)
                .values(**values)
                .returning(
                    t.c.id,
                    t.c.stage,
                    t.c.family,
                    t.c.title,
                    t.c.overrides,
                    t.c.param_hash,
                    t.c.attempts,
                )
            ).first()
        if row is None:
            return None
        m = row._mapping
        logger.info(
            "%s claimed idea %d (%s, attempt %d)", worker, m["id"], m["stage"], m["attempts"]
        )
        return Claim(
            idea_id=int(m["id"]),
            token=token,
            stage=str(m["stage"]),
            family=str(m["family"]),
            title=str(m["title"]),
            overrides=dict(m["overrides"]),
            param_hash=str(m["param_hash"]),
            attempts=int(m["attempts"]),
            worker=worker,
        )

    def _held(self, claim: Claim) -> sa.ColumnElement[bool]:
        t = experiment_ideas
        return sa.and_(
            t.c.id == claim.idea_id, t.c.claim_token == claim.token, t.c.status == "running"
        )

    def heartbeat(self, claim: Claim) -> bool:
        """Refresh the claim's heartbeat; False when the claim was lost (requeued)."""
        with self.engine.begin() as conn:
            done = conn.execute(
                sa.update(experiment_ideas)
                .where(self._held(claim))
                .values(heartbeat_at=self.clock())
            )
        return bool(done.rowcount == 1)

    def requeue_stale(self, max_age_s: float, *, max_attempts: int = 3) -> list[int]:
        """Return running ideas without a heartbeat for ``max_age_s`` to their queue state.

        An idea claimed ``max_attempts`` times for the same stage goes to ``error``.
        Returns the ids changed.
        """
        t = experiment_ideas
        cutoff = self.clock() - dt.timedelta(seconds=max_age_s)
        stale = sa.and_(t.c.status == "running", t.c.heartbeat_at < cutoff)
        back = sa.case((t.c.stage == "quick", "pending"), else_="passed_quick")
        status = sa.case((t.c.attempts >= max_attempts, "error"), else_=back)
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.update(t)
                .where(stale)
                .values(status=status, claim_token=None, claimed_by=None)
                .returning(t.c.id, t.c.status)
            ).all()
        for idea_id, new in rows:
            logger.warning("idea %d had no heartbeat for %g s: now %s", idea_id, max_age_s, new)
        return [int(r[0]) for r in rows]

    def finish(
        self, claim: Claim, trial: TrialRow, decide: Decide
    ) -> tuple[str, dict[str, Any]] | None:
        """Record ``trial`` and the idea's new status in one transaction.

        ``decide`` gets every trial of the family (all stages), the new one included, while
        the family is locked (PostgreSQL: its row ``FOR UPDATE``; SQLite: the write lock),
        so two ideas finishing at once each count the other's trial or wait for it.
        Returns ``decide``'s result, or None (nothing written) when the claim was lost.
        """
        if trial.trial_key != trial_key(claim.idea_id, claim.stage):
            raise ValueError(f"trial key {trial.trial_key!r} does not belong to this claim")
        t = experiment_ideas
        with self.engine.begin() as conn:
            if self.is_postgres:
                conn.execute(
                    sa.select(experiment_families.c.name)
                    .where(experiment_families.c.name == claim.family)
                    .with_for_update()
                )
            held = conn.execute(
                sa.update(t).where(self._held(claim)).values(heartbeat_at=self.clock())
            )
            if held.rowcount != 1:
                logger.warning(
                    "idea %d: claim lost before finishing; trial discarded", claim.idea_id
                )
                return None
            conn.execute(sa.insert(experiment_trials).values(**trial.values()))
            rows = self._trial_rows(conn, claim.family, None)
            status, result = decide(rows)
            if status not in STATUSES:
                raise ValueError(f"decide returned unknown status {status!r}")
            previous = dict(self._result(conn, claim.idea_id) or {})
            previous[claim.stage] = jsonable(result)
            conn.execute(
                sa.update(t)
                .where(t.c.id == claim.idea_id)
                .values(status=status, stage=None, claim_token=None, attempts=0, result=previous)
            )
        return status, result

    def fail(self, claim: Claim, message: str) -> bool:
        """Mark the claimed idea ``error`` (the trial raised); False if the claim was lost."""
        t = experiment_ideas
        with self.engine.begin() as conn:
            previous = dict(self._result(conn, claim.idea_id) or {})
            previous[f"{claim.stage}_error"] = message
            done = conn.execute(
                sa.update(t)
                .where(self._held(claim))
                .values(status="error", claim_token=None, result=previous)
            )
        return bool(done.rowcount == 1)

    @staticmethod
    def _result(conn: sa.Connection, idea_id: int) -> dict[str, Any] | None:
        value = conn.execute(
            sa.select(experiment_ideas.c.result).where(experiment_ideas.c.id == idea_id)
        ).scalar()
        return None if value is None else dict(value)

    # -- trials ----------------------------------------------------------------------

    @staticmethod
    def _trial_rows(conn: sa.Connection, family: str, stage: str | None) -> list[TrialRow]:
        q = sa.select(experiment_trials).where(experiment_trials.c.family == family)
        if stage is not None:
            q = q.where(experiment_trials.c.stage == stage)
        return [_trial(dict(r._mapping)) for r in conn.execute(q.order_by(experiment_trials.c.id))]

    def trials(self, family: str, stage: str | None = None) -> list[TrialRow]:
        """Every trial of ``family`` (optionally one stage), in the order they were recorded."""
        with self.engine.connect() as conn:
            return self._trial_rows(conn, family, stage)

    def record_trials(self, rows: Sequence[TrialRow]) -> int:
        """Insert trials not yet recorded (by ``trial_key``); returns how many were new."""
        if not rows:
            return 0
        keys = [r.trial_key for r in rows]
        with self.engine.begin() as conn:
            have = set(
                conn.execute(
                    sa.select(experiment_trials.c.trial_key).where(
                        experiment_trials.c.trial_key.in_(keys)
                    )
                ).scalars()
            )
            new = [r.values() for r in rows if r.trial_key not in have]
            if new:
                conn.execute(sa.insert(experiment_trials), new)
        return len(new)


def trial_key(idea_id: int, stage: str) -> str:
    """The unique key of an idea's trial in one stage."""
    return f"idea:{idea_id}:{stage}"
