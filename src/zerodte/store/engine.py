"""Database engines for the run store and their migrations.

SQLite (one file, WAL journal, foreign keys on) is the default; PostgreSQL (psycopg 3) is
used when ``settings.url`` is given, so that several machines can report to one server.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event

from zerodte.config.settings import StoreSettings
from zerodte.errors import ConfigError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """Per-connection SQLite settings.

    WAL lets dashboards read while a backtest writes; SQLite leaves foreign keys off unless
    asked on every connection; a busy timeout makes concurrent writers wait, not fail.
    """
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
    finally:
        cursor.close()


def normalize_url(url: str) -> str:
    """Select the psycopg 3 driver for bare PostgreSQL URLs; leave other URLs unchanged."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(settings: StoreSettings) -> sa.Engine:
    """Create the store's engine from ``settings`` (``url`` wins over ``path``).

    Parameters
    ----------
    settings
        ``url``: a SQLAlchemy URL (``postgresql+psycopg://user@host/db``; a bare
        ``postgresql://`` gets the psycopg driver). Without it, a SQLite file at ``path``
        (parent directories are created). ``echo`` logs SQL.
    """
    if settings.url:
        url = normalize_url(settings.url)
        if not (url.startswith("postgresql") or url.startswith("sqlite")):
            raise ConfigError(
                f"store.url {sa.engine.make_url(url).render_as_string(hide_password=True)!r} "
                "is not supported; use postgresql+psycopg://user:pass@host:5432/db or leave it "
                "unset for SQLite at store.path"
            )
        engine = sa.create_engine(url, echo=settings.echo, pool_pre_ping=True)
    else:
        path = Path(settings.path).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(f"sqlite:///{path}", echo=settings.echo)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    logger.debug("store engine %s", engine.url.render_as_string(hide_password=True))
    return engine


def alembic_config() -> Config:
    """Alembic config pointing at the packaged migration scripts (no ini file needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def migrate(engine: sa.Engine, revision: str = "head") -> None:
    """Upgrade the database behind ``engine`` to ``revision`` (idempotent)."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    logger.debug("store migrated to %s", revision)
