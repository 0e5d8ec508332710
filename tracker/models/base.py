"""Declarative base, column types and small helpers shared by every model."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry

# Named constraints let Alembic alter them on PostgreSQL and SQLite alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores UTC and always returns an aware UTC datetime, on SQLite too."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        utc = value.astimezone(UTC)
        # SQLite has no time zones: store the naive UTC wall time.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class FiniteNumeric(sa.types.TypeDecorator[Decimal]):
    """A Numeric read back as None when it holds no number (NaN, an infinity): a row stored before its checks
    existed then shows as not recorded, instead of breaking every comparison and sum that reads it."""

    impl = sa.Numeric
    cache_ok = True

    def process_result_value(self, value: Decimal | None, dialect: Dialect) -> Decimal | None:
        return value if value is None or value.is_finite() else None


JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


class Base(DeclarativeBase):
    # One registry carries both, so Flask-SQLAlchemy's subclass keeps them.
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime(), uuid.UUID: sa.Uuid()},
    )


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def id_column() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, default=new_id)


def one_of(column: str, values: Iterable[str], name: str | None = None) -> sa.CheckConstraint:
    """A check constraint that keeps a string column to its allowed values."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({quoted})", name=name or column)


def between(column: str, low: Any, high: Any, name: str | None = None, nullable: bool = True) -> sa.CheckConstraint:
    condition = f"{column} BETWEEN {low} AND {high}"
    if nullable:
        condition = f"{column} IS NULL OR ({condition})"
    return sa.CheckConstraint(condition, name=name or f"{column}_range")
