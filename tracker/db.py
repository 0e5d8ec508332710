"""Engine settings per database, and the helpers every service uses to talk to it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import InstrumentedAttribute, Session, scoped_session

# The app's scoped session in production, a plain one in some tests and scripts.
DbSession = Session | scoped_session[Any]


def insert_once(session: DbSession, *rows: object) -> bool:
    """Add the rows and flush them in a SAVEPOINT: True when this call inserted them, False when it did not.

    What must happen once (a text, an alert, a conversation) carries a unique key; False means the database
    refused the rows (an IntegrityError: the key was already taken, by an earlier call or a concurrent one).
    The SAVEPOINT and the rows with it are then rolled back, and the caller's transaction goes on.
    """
    try:
        with session.begin_nested():
            session.add_all(rows)
            session.flush()
    except sa.exc.IntegrityError:
        return False
    return True


def row_values(row: object) -> dict[str, Any]:
    """The attributes a new model object's constructor set, for a bulk insert: column defaults (the id,
    timestamps) fill in the rest, row by row."""
    return {name: value for name, value in vars(row).items() if not name.startswith("_")}


def insert_many_once(session: DbSession, rows: Sequence[Any], key: InstrumentedAttribute[Any]) -> set[Any]:
    """Insert new rows of one model (not added to the session) in bulk: the keys of those that went in.

    `key` is a unique column: a row whose key is already taken, by an earlier run or a concurrent transaction
    (PostgreSQL waits for that one to end), is skipped by ``ON CONFLICT DO NOTHING``, not an error, and the
    others go in. The set-based twin of `insert_once`, for jobs that write many such rows at once.
    """
    if not rows:
        return set()
    model = type(rows[0])
    values = [row_values(row) for row in rows]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(model) if dialect == "postgresql" else sqlite.insert(model)
    statement = insert.on_conflict_do_nothing(index_elements=[key.property.columns[0]]).returning(key)
    return set(session.scalars(statement, values))


def ids_in(session: DbSession, column: Any, ids: Sequence[Any]) -> sa.ColumnElement[bool]:
    """``column IN ids`` for a long list of ids: on PostgreSQL ``= ANY(:ids)``, one array parameter, which the
    driver sends as it is, where an IN list is a parameter per id to render and convert on every run."""
    if session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.literal(list(ids), postgresql.ARRAY(column.type)))
    result: sa.ColumnElement[bool] = column.in_(ids)
    return result


def configure_engine(engine: Engine) -> None:
    """SQLite: WAL, foreign keys on, a busy timeout, writers queued at BEGIN, real SAVEPOINT handling."""
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin,
        # so SAVEPOINTs (tests, nested work) behave as on PostgreSQL.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 15000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # IMMEDIATE: take the write lock at the start, waiting up to the busy timeout for it. A deferred
        # transaction that read first and then writes cannot wait (its snapshot may be stale) and fails
        # at once with "database is locked"; here a read-then-write simply queues behind the writer.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
