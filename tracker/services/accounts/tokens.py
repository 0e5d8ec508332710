"""API bearer tokens: opaque, stored as a hash, expiring, revocable (API.md, Authentication)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from tracker import clock
from tracker.extensions import db
from tracker.models import ApiToken, Patient, User
from tracker.models.access import hash_secret, new_secret

# Writing last_used_at on every request would turn each read into a write; once an hour is enough.
LAST_USED_RESOLUTION = timedelta(hours=1)


@dataclass(frozen=True)
class IssuedToken:
    secret: str
    token: ApiToken
    user: User


def issue(user: User) -> IssuedToken:
    now = clock.now()
    secret = new_secret()
    token = ApiToken(
        user_id=user.id,
        token_hash=hash_secret(secret),
        created_at=now,
        expires_at=now + timedelta(days=current_app.config["API_TOKEN_DAYS"]),
    )
    db.session.add(token)
    db.session.flush()
    return IssuedToken(secret, token, user)


def verify(secret: str) -> tuple[ApiToken, User, Patient | None] | None:
    """The live token, its active user and, for a patient's account, their record; None when the token is
    unknown, expired or revoked, or the user deactivated.

    One query for all three: a patient's every API call needs their record, and each round trip counts.
    """
    now = clock.now()
    row = db.session.execute(
        sa.select(ApiToken, User, Patient)
        .join(User, User.id == ApiToken.user_id)
        .outerjoin(Patient, Patient.user_id == User.id)
        .where(ApiToken.token_hash == hash_secret(secret))
    ).first()
    if row is None:
        return None
    token, user, patient = row
    if token.revoked_at is not None or token.expires_at <= now or not user.active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    return token, user, patient


def revoke(token: ApiToken) -> None:
    token.revoked_at = token.revoked_at or clock.now()


def revoke_all(user: User, at: datetime | None = None) -> None:
    """On password change and deactivation: every token of the user stops working."""
    db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=at or clock.now())
    )
