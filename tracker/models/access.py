"""Secrets that grant access: API bearer tokens, web sessions, password links, one-time check-in links.

Each is stored only as a SHA-256 hash: a leaked database yields no usable token.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.clock import system_now
from tracker.models.base import Base, id_column, one_of


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[uuid.UUID] = id_column()
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=system_now)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class WebSession(Base):
    """A logged-in browser: the cookie holds the secret, the server decides whether it still counts.

    Logout ends it here, so a copied cookie stops working; idle and absolute limits are checked on each
    request (services/accounts/sessions.py).
    """

    __tablename__ = "web_session"

    id: Mapped[uuid.UUID] = id_column()
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    started_at: Mapped[datetime] = mapped_column(default=system_now)
    seen_at: Mapped[datetime] = mapped_column(default=system_now)
    ended_at: Mapped[datetime | None]


# What a password link is for: the first password (an invitation, 72 h) or a new one (a reset, 30 min).
LINK_PURPOSES = ("invitation", "reset")


class Invitation(Base):
    """A one-time link with which the account holder chooses a password (services/accounts/password_links.py)."""

    __tablename__ = "invitation"
    __table_args__ = (one_of("purpose", LINK_PURPOSES),)

    id: Mapped[uuid.UUID] = id_column()
    purpose: Mapped[str] = mapped_column(sa.String(20), default="invitation", server_default="invitation")
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=system_now)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class CheckinLink(Base):
    """A single-use link in a reminder that opens one check-in without a password."""

    __tablename__ = "checkin_link"

    id: Mapped[uuid.UUID] = id_column()
    patient_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=system_now)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    checkin_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("checkin.id", ondelete="SET NULL"))
