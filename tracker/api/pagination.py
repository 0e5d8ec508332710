"""Cursor pagination: `?limit=&cursor=`, answered with `{"items", "next_cursor"}` (API.md)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, g, request
from itsdangerous import BadData, URLSafeSerializer

from tracker.errors import FieldProblem, Invalid
from tracker.extensions import db

NOT_OURS = "not a cursor this list gave you"
MAX_CURSOR = 300  # the longest we make is about 130 characters


class BadCursor(Invalid):
    """A cursor this list did not give this caller: forged, cut, or made for another list or person (400)."""

    status = 400
    title = "Bad request"

    def __init__(self) -> None:
        super().__init__([FieldProblem("cursor", NOT_OURS)])


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


def _signer() -> URLSafeSerializer:
    # Signed with the app's secret: a cursor is ours or it is nothing, so no forged offset or moment (a huge
    # number, a year the database cannot hold, a nested document) ever reaches a query. The list's path and the
    # caller are in the salt, so a cursor read on another list (another patient's) or by another caller fails its
    # signature like a forged one.
    caller = getattr(g.get("api_user"), "id", None)
    return URLSafeSerializer(current_app.secret_key or "", salt=f"tracker.api.cursor {request.path} {caller}")


def _unsigned(cursor: str) -> Any:
    if len(cursor) > MAX_CURSOR:
        raise BadCursor()
    try:
        return _signer().loads(cursor)
    except (BadData, ValueError, TypeError, RecursionError):
        raise BadCursor() from None


def encode_cursor(moment: datetime, row_id: uuid.UUID) -> str:
    return _signer().dumps([moment.isoformat(), str(row_id)])


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The position a cursor stands for; anything else is a 400 naming `cursor`."""
    try:
        moment, row_id = _unsigned(cursor)
        parsed = datetime.fromisoformat(moment)
        if parsed.tzinfo is None:
            raise ValueError("naive")
        return parsed, uuid.UUID(row_id)
    except (ValueError, TypeError):
        raise BadCursor() from None


def newest_first(query: sa.Select[Any], time_column: Any, id_column: Any, limit: int, cursor: str | None) -> Page:
    """One page of a query, newest first, keyed on (time, id) so rows never repeat or go missing."""
    if cursor is not None:  # an empty cursor is no cursor of ours either
        moment, row_id = decode_cursor(cursor)
        query = query.where(sa.or_(time_column < moment, sa.and_(time_column == moment, id_column < row_id)))
    rows: Sequence[Any] = db.session.scalars(
        query.order_by(time_column.desc(), id_column.desc()).limit(limit + 1)
    ).all()
    items = list(rows[:limit])
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor(getattr(last, time_column.key), getattr(last, id_column.key))
    return Page(items, next_cursor)


def encode_offset(offset: int) -> str:
    """For lists sorted by computed values, where a keyset cursor has no single column to key on."""
    return _signer().dumps({"o": offset})


def decode_offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        offset = _unsigned(cursor)["o"]
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise ValueError("offset")
        return offset
    except (ValueError, TypeError, KeyError):
        raise BadCursor() from None


def offset_page(query: sa.Select[Any], limit: int, cursor: str | None) -> Page:
    """One page of an already ordered query, for orders no single column keys (urgent first, then oldest)."""
    offset = decode_offset(cursor)
    rows = list(db.session.scalars(query.limit(limit + 1).offset(offset)))
    items = rows[:limit]
    return Page(items, encode_offset(offset + len(items)) if len(rows) > limit else None)
