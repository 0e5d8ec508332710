"""Claiming work for a job, so two scheduler processes never do the same piece of it (ARCHITECTURE.md).

A job reads a batch of due row ids, then claims each row in its own transaction before working on it:

- PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED``. A row another process holds is skipped, not waited for,
  and the lock lasts until the claimer commits. The row is re-read under the lock, so one another process
  finished meanwhile no longer matches ``due``.
- SQLite (one writer at a time): a conditional ``UPDATE ... WHERE due`` as the transaction's first statement,
  with a rowcount check. Its write lock, too, lasts until commit; a second process's UPDATE waits for it and
  then finds the row no longer due.

Either way the claim writes ``done``, which must make ``due`` false: once the claimer commits, nobody claims the
row again. The work goes in the same transaction, so a claimer killed before its commit leaves the row due and
nothing half-written: the next run does the work. The same pattern as tracker/services/messaging/delivery.py, for jobs
whose unit of work is one row; `claim_batch` does the same for many rows at once (the relapse scan's batches),
in two statements; on PostgreSQL it skips the rows another claimer holds and never waits for them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

from tracker.db import ids_in
from tracker.jobs.registry import DbSession
from tracker.unit_of_work import end_read


def on_postgresql(session: DbSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def due_ids(
    session: DbSession,
    id_column: InstrumentedAttribute[uuid.UUID],
    due: sa.ColumnElement[bool],
    after: uuid.UUID | None,
    limit: int,
) -> list[uuid.UUID]:
    """The next batch of ids where ``due`` holds, in id order after ``after`` (None: from the start).

    Ends the read transaction: SQLite cannot turn a read snapshot another writer overtook into a write, and
    each claim that follows should start a transaction of its own.
    """
    query = sa.select(id_column).where(due).order_by(id_column).limit(limit)
    if after is not None:
        query = query.where(id_column > after)
    ids = list(session.scalars(query))
    end_read(session)
    return ids


def claim(
    session: DbSession,
    id_column: InstrumentedAttribute[uuid.UUID],
    row_id: uuid.UUID,
    due: sa.ColumnElement[bool],
    done: Mapping[str, Any],
) -> bool:
    """Claim one row for the current transaction: True when it was still due and is now this caller's.

    ``done`` (column name to value or SQL expression) is written at once and must make ``due`` false.
    The caller does the work, then commits (or rolls back, leaving the row due).
    """
    model = id_column.class_
    write = (
        sa.update(model)
        .where(id_column == row_id)
        .values(**done)
        # ORM objects are not kept in step: callers load the row after claiming it.
        .execution_options(synchronize_session=False)
    )
    if on_postgresql(session):
        locked = session.execute(
            sa.select(id_column).where(id_column == row_id, due).with_for_update(skip_locked=True)
        ).first()
        if locked is None:  # another process holds it, or it is no longer due
            return False
        session.execute(write)
        return True
    claimed = session.execute(write.where(due))
    return cast(sa.CursorResult[Any], claimed).rowcount == 1


def claim_batch(
    session: DbSession,
    id_column: InstrumentedAttribute[uuid.UUID],
    row_ids: Sequence[uuid.UUID],
    due: sa.ColumnElement[bool],
    done: Mapping[str, Any],
) -> list[uuid.UUID]:
    """Claim many rows for the current transaction in two statements at most; returns those now the caller's.

    As `claim`, for a job whose unit of work is a batch: rows another process holds or finished are left out,
    ``done`` is written to the rest at once, and a rollback (or a kill) leaves every one of them due.
    """
    if not row_ids:
        return []
    model = id_column.class_
    write = sa.update(model).values(**done).execution_options(synchronize_session=False)
    if on_postgresql(session):
        locked = list(
            session.scalars(
                sa.select(id_column)
                .where(ids_in(session, id_column, row_ids), due)
                .order_by(id_column)
                .with_for_update(skip_locked=True)
            )
        )
        if locked:
            session.execute(write.where(ids_in(session, id_column, locked)))
        return locked
    # SQLite: the transaction holds the write lock from BEGIN IMMEDIATE; RETURNING names the rows still due.
    claimed = session.scalars(write.where(id_column.in_(row_ids), due).returning(id_column))
    return sorted(claimed)
