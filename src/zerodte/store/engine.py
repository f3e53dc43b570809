"""Database engines for the run store and their migrations.

SQLite (one file, WAL journal, foreign keys on) is the default; PostgreSQL (psycopg 3) is
used when ``settings.url`` is given, so that several machines can report to one server.

Migrations are safe under concurrent first use: on PostgreSQL the upgrade runs inside one
transaction that first takes a transaction-level advisory lock (DDL is transactional
there, so a waiting process then finds the schema at head and does nothing); on SQLite a
file lock beside the database (``<db>.migrate.lock``, via ``filelock``) serialises the
upgrade (and the first connection, which switches a new file to WAL) across processes, and
the upgrade runs in one explicit SQLite transaction, DDL included, so a kill mid-migration
leaves the previous revision. A PostgreSQL database already at head is detected without
taking the lock.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from filelock import FileLock, Timeout
from sqlalchemy import event
from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from zerodte.config.settings import StoreSettings
from zerodte.errors import ConfigError
from zerodte.store.pragmas import SQLITE_PRAGMAS
from zerodte.store.revisions import MIGRATIONS_DIR, script_head

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)


def __getattr__(name: str) -> Any:
    """``command``: alembic's command module, imported on first use (alembic costs about
    0.3 s at start-up and a database at head does not need it)."""
    if name == "command":
        from alembic import command

        return command
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """Per-connection SQLite settings (:data:`~zerodte.store.pragmas.SQLITE_PRAGMAS`)."""
    cursor = dbapi_conn.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def normalize_url(url: str) -> str:
    """Select the psycopg 3 driver for bare PostgreSQL URLs; leave other URLs unchanged."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def shown_url(engine_or_url: sa.Engine | str) -> str:
    """The URL with its password masked, for messages."""
    url = engine_or_url.url if isinstance(engine_or_url, sa.Engine) else engine_or_url
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<not a URL>"


def sqlite_url(path: Path) -> sa.URL:
    """The URL of the SQLite file ``path``, taken as it is: a ``sqlite:///<path>`` string
    would be parsed, decoding ``%xx`` and ending the file name at ``?`` (another file).
    Its ``render_as_string(hide_password=False)`` is the escaped string form."""
    return sa.engine.URL.create("sqlite", database=str(path))


def make_engine(settings: StoreSettings) -> sa.Engine:
    """Create the store's engine from ``settings`` (``url`` wins over ``path``).

    Parameters
    ----------
    settings
        ``url``: a SQLAlchemy URL (``postgresql+psycopg://user@host/db``; a bare
        ``postgresql://`` gets the psycopg driver). Without it, a SQLite file at ``path``
        (parent directories are created). ``echo`` logs SQL.

    Raises
    ------
    ConfigError
        A malformed or unsupported URL, a missing database driver, or a SQLite path whose
        directory cannot be created.
    """
    if settings.url:
        url = normalize_url(settings.url)
        try:
            parsed = sa.engine.make_url(url)
        except sa.exc.ArgumentError:
            raise ConfigError(
                f"store.url {shown_url(url)} is not a database URL; use "
                "postgresql+psycopg://user:pass@host:5432/db, or leave it unset for SQLite at "
                "store.path"
            ) from None
        if parsed.get_backend_name() not in ("postgresql", "sqlite"):
            raise ConfigError(
                f"store.url {shown_url(url)!r} is not supported; use "
                "postgresql+psycopg://user:pass@host:5432/db or leave it unset for SQLite at "
                "store.path"
            )
        try:
            engine = sa.create_engine(parsed, echo=settings.echo, pool_pre_ping=True)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
            raise ConfigError(
                f"store.url {shown_url(url)}: cannot create the engine ({exc}); for PostgreSQL "
                "install the driver with `pip install 'zerodte[postgres]'`"
            ) from None
    else:
        path = Path(settings.path).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"store.path {path}: cannot create its directory ({exc.strerror}); set "
                "store.path to a writable location"
            ) from None
        if path.is_dir():
            raise ConfigError(f"store.path {path} is a directory; name a database file in it")
        engine = sa.create_engine(sqlite_url(path), echo=settings.echo)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    logger.debug("store engine %s", engine.url.render_as_string(hide_password=True))
    return engine


def alembic_config() -> Config:
    """Alembic config pointing at the packaged migration scripts (no ini file needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


MIGRATE_LOCK_TIMEOUT = 120.0
_PG_LOCK_KEY = 0x7A65726F64746531  # "zerodte1": the advisory lock of the schema migration


def _current(conn: sa.Connection) -> tuple[str, ...] | None:
    """The revisions in ``alembic_version``, or None when the table does not exist yet."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    return tuple(str(r[0]) for r in rows)


def _at_head_quick(engine: sa.Engine, revision: str) -> bool:
    """True when an existing database is already at the scripts' single head (no alembic)."""
    head = script_head()
    if revision != "head" or head is None:
        return False
    database = engine.url.database
    if engine.dialect.name == "sqlite" and (
        not database or database == ":memory:" or not Path(database).exists()
    ):
        return False  # a new file: its first connection switches it to WAL under the lock
    with engine.connect() as conn:
        return _current(conn) == (head,)


def _at(conn: sa.Connection, revision: str, cfg: Config) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    target = ScriptDirectory.from_config(cfg).as_revision_number(revision)
    heads = MigrationContext.configure(conn).get_current_heads()
    return tuple(heads) == ((target,) if isinstance(target, str) else tuple(target or ()))


def _upgrade(engine: sa.Engine, revision: str, cfg: Config) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        if _at(conn, revision, cfg):  # another process migrated while we waited
            return
        from alembic import command

        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def _sqlite_migration_engine(engine: sa.Engine) -> sa.Engine:
    """An engine on the same SQLite file whose transactions are real, DDL included.

    Python's sqlite3 driver opens a transaction only before DML, so ``CREATE TABLE`` would
    commit on its own: a kill in the middle of a migration would leave tables without their
    revision, and the next start would fail with "table ... already exists". Here the driver
    is put in autocommit mode and every transaction is started explicitly
    (``BEGIN IMMEDIATE``, SQLAlchemy's documented pysqlite recipe), so the whole upgrade
    commits or rolls back as one.
    """
    mig = sa.create_engine(engine.url, echo=engine.echo, poolclass=sa.pool.NullPool)

    def _connect(dbapi_conn: Any, record: Any) -> None:
        _sqlite_pragmas(dbapi_conn, record)
        dbapi_conn.isolation_level = None

    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(mig, "connect", _connect)
    event.listen(mig, "begin", _begin)
    return mig


def _sqlite_lock(engine: sa.Engine) -> FileLock | None:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return FileLock(f"{database}.migrate.lock")


SQLITE_BUSY_ATTEMPTS = 4
"""Tries of a migration that SQLite answered with "database is locked": it can answer so
at once, without its busy timeout, when waiting could deadlock (a file several processes
open and switch to WAL at the same moment). The migration is idempotent, so it is tried
again, then reported."""


def _sqlite_busy(exc: BaseException) -> bool:
    return isinstance(exc, sa.exc.OperationalError) and "database is locked" in str(exc)


def _migrate_once(engine: sa.Engine, revision: str) -> None:
    if _at_head_quick(engine, revision):
        return
    cfg = alembic_config()
    lock = _sqlite_lock(engine)
    if lock is None:
        with engine.connect() as conn:
            if _at(conn, revision, cfg):
                return
        _upgrade(engine, revision, cfg)
        return
    # SQLite: the first connection (which switches a new file to WAL) and the upgrade both
    # run under the lock; a migrated database takes it for a moment
    mig = _sqlite_migration_engine(engine)
    try:
        with lock.acquire(timeout=MIGRATE_LOCK_TIMEOUT):
            _upgrade(mig, revision, cfg)
    finally:
        mig.dispose()


def migrate(engine: sa.Engine, revision: str = "head") -> None:
    """Upgrade the database behind ``engine`` to ``revision`` (idempotent, race-safe).

    Raises
    ------
    ConfigError
        The database cannot be reached or opened (the message names the URL, password
        masked, and the driver's reason).
    """
    try:
        for attempt in Retrying(
            retry=retry_if_exception(_sqlite_busy),
            stop=stop_after_attempt(SQLITE_BUSY_ATTEMPTS),
            wait=wait_random_exponential(multiplier=0.2, max=2.0),
            before_sleep=before_sleep_log(logger, logging.INFO),
            reraise=True,
        ):
            with attempt:
                _migrate_once(engine, revision)
    except Timeout:
        raise ConfigError(
            f"the run store {shown_url(engine)} is being migrated by another process for more "
            f"than {MIGRATE_LOCK_TIMEOUT:g} s; retry when it has finished"
        ) from None
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ConfigError(
            f"cannot open the run store {shown_url(engine)}: {reason}. Check store.url (host, "
            "port, database, user) or store.path, and that the server is running"
        ) from None
    except sa.exc.DatabaseError as exc:  # reached, but not a database (a file of other bytes)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ConfigError(
            f"the run store {shown_url(engine)} cannot be used: {reason}. It is left as it is; "
            "name another database (store.path or store.url; --journal for an order "
            "journal), or move that file away"
        ) from None
    logger.debug("store migrated to %s", revision)
