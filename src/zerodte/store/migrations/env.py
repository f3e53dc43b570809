"""Alembic environment of the run store.

Run programmatically by ``zerodte.store.engine.migrate(engine)``, which passes an open
connection in ``config.attributes["connection"]``. Run from the command line
(``alembic -c src/zerodte/store/alembic.ini upgrade head``) it connects to the URL given by
``-x url=...`` or the ini's ``sqlalchemy.url``. Logging is left to the application: no
``fileConfig`` here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from zerodte.store.schema import metadata

config = context.config


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations() -> None:
    """Upgrade on the given connection, or on a new engine for the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError(
            "no database URL for the migration: pass -x url=sqlite:///runs/zerodte.db or set "
            "sqlalchemy.url in alembic.ini"
        )
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; run them online")
run_migrations()
