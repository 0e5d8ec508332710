"""The one unit of work: a request, a job's claimed item or a CLI command commits once, here.

Services only flush. The ways in end their work through this module and nowhere else, so a
forgotten commit cannot silently drop an audit row, and a failure anywhere rolls back all of it.
Nested units (a job run inside a CLI command, or inside the demo build) become SAVEPOINTs, so
the outermost unit decides what is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from tracker.db import DbSession

_DEPTH = "tracker.unit_of_work.depth"


def _info(session: DbSession) -> dict[str, Any]:
    return session.info if isinstance(session, Session) else session().info


@contextmanager
def transaction(session: DbSession) -> Iterator[None]:
    """Commit what the block did, or roll all of it back if it raises; inside another unit, a SAVEPOINT."""
    info = _info(session)
    depth = info.get(_DEPTH, 0)
    if depth:
        info[_DEPTH] = depth + 1
        try:
            with session.begin_nested():
                yield
        finally:
            info[_DEPTH] = depth
        return
    info[_DEPTH] = 1
    try:
        yield
    except BaseException:
        session.rollback()
        raise
    else:
        session.commit()
    finally:
        info[_DEPTH] = 0


def finish_request(session: DbSession, status_code: int) -> None:
    """The request's one commit, after the view returned: kept on success, rolled back on an error answer."""
    if status_code < 400:
        session.commit()
    else:
        session.rollback()


def end_read(session: DbSession) -> None:
    """End the transaction a job's batch read opened, so each item after it is a unit of its own.

    Nothing written is pending there; it ends by commit so what the batch loaded stays readable. Inside an
    outer unit (a CLI command, the demo build) there is nothing to end.
    """
    if not _info(session).get(_DEPTH):
        session.commit()
