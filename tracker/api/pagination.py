"""Cursor pagination: `?limit=&cursor=`, answered with `{"items", "next_cursor"}` (API.md)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadData, URLSafeSerializer

from tracker.errors import Invalid
from tracker.extensions import db


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


def _signer() -> URLSafeSerializer:
    # Signed with the app's secret: a cursor is ours or it is nothing, so no forged offset or moment (a huge
    # number, a year the database cannot hold, a nested document) ever reaches a query.
    return URLSafeSerializer(current_app.secret_key or "", salt="tracker.api.cursor")


def _unsigned(cursor: str) -> Any:
    try:
        return _signer().loads(cursor)
    except (BadData, ValueError, TypeError, RecursionError):
        raise Invalid.one("cursor", "not a cursor this API gave out") from None


def encode_cursor(moment: datetime, row_id: uuid.UUID) -> str:
    return _signer().dumps([moment.isoformat(), str(row_id)])


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The position a cursor stands for; anything else is a 422 naming `cursor`."""
    try:
        moment, row_id = _unsigned(cursor)
        parsed = datetime.fromisoformat(moment)
        if parsed.tzinfo is None:
            raise ValueError("naive")
        return parsed, uuid.UUID(row_id)
    except (ValueError, TypeError):
        raise Invalid.one("cursor", "not a cursor this API gave out") from None


def newest_first(query: sa.Select[Any], time_column: Any, id_column: Any, limit: int, cursor: str | None) -> Page:
    """One page of a query, newest first, keyed on (time, id) so rows never repeat or go missing."""
    if cursor:
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
    if not cursor:
        return 0
    try:
        offset = _unsigned(cursor)["o"]
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise ValueError("offset")
        return offset
    except (ValueError, TypeError, KeyError):
        raise Invalid.one("cursor", "not a cursor this API gave out") from None


def offset_page(query: sa.Select[Any], limit: int, cursor: str | None) -> Page:
    """One page of an already ordered query, for orders no single column keys (urgent first, then oldest)."""
    offset = decode_offset(cursor)
    rows = list(db.session.scalars(query.limit(limit + 1).offset(offset)))
    items = rows[:limit]
    return Page(items, encode_offset(offset + len(items)) if len(rows) > limit else None)
