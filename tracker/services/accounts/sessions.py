"""Web sessions that end: at logout on the server, after idling, after a fixed time, everywhere at once.

HIPAA 45 CFR 164.312(a)(2)(iii) automatic logoff; OWASP ASVS V7. Staff sessions end after 15 minutes idle and
12 hours in all; patients' after 30 days. The cookie holds a random secret, the database only its hash.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from tracker import clock
from tracker.extensions import db
from tracker.models import ApiToken, User, WebSession
from tracker.models.access import hash_secret, new_secret

STAFF_IDLE = timedelta(minutes=15)
STAFF_LIFETIME = timedelta(hours=12)
PATIENT_IDLE = timedelta(days=30)
PATIENT_LIFETIME = timedelta(days=30)
# "Seen" is written at most this often: a page view is not a write for its own sake.
SEEN_EVERY = timedelta(minutes=1)


def limits_for(user: User) -> tuple[timedelta, timedelta]:
    """(idle, lifetime) for this account's role."""
    return (STAFF_IDLE, STAFF_LIFETIME) if user.is_staff else (PATIENT_IDLE, PATIENT_LIFETIME)


def start(user: User) -> str:
    """A new session for a login; returns the secret the cookie keeps."""
    secret, now = new_secret(), clock.now()
    db.session.add(WebSession(user_id=user.id, secret_hash=hash_secret(secret), started_at=now, seen_at=now))
    db.session.flush()
    return secret


def is_live(row: WebSession, user: User, now: datetime) -> bool:
    idle, lifetime = limits_for(user)
    return row.ended_at is None and now - row.seen_at < idle and now - row.started_at < lifetime


def resume(login_id: str, secret: str | None) -> User | None:
    """The active account a browser is still logged in as (one query), or None: logged out, idle past the
    limit, too old, or a session this server never began. A session that timed out is ended here."""
    if not secret:
        return None
    row = db.session.execute(
        sa.select(User, WebSession)
        .join(WebSession, WebSession.user_id == User.id)
        .where(User.login_id == login_id, User.active.is_(True), WebSession.secret_hash == hash_secret(secret))
    ).first()
    if row is None:
        return None
    user, web_session = row
    now = clock.now()
    if not is_live(web_session, user, now):
        if web_session.ended_at is None:
            web_session.ended_at = now
        return None
    if now - web_session.seen_at >= SEEN_EVERY:
        web_session.seen_at = now
    return user


def end(secret: str | None) -> None:
    """Logout: this browser's session ends on the server, so a copy of its cookie stops working too."""
    if secret:
        db.session.execute(
            sa.update(WebSession)
            .where(WebSession.secret_hash == hash_secret(secret), WebSession.ended_at.is_(None))
            .values(ended_at=clock.now())
            .execution_options(synchronize_session=False)
        )


def end_everywhere(user: User, keep_token_id: object | None = None, keep_secret: str | None = None) -> None:
    """Every web session and API token of the account ends, but the one the request itself uses (if kept)."""
    now = clock.now()
    sessions = sa.update(WebSession).where(WebSession.user_id == user.id, WebSession.ended_at.is_(None))
    if keep_secret:
        sessions = sessions.where(WebSession.secret_hash != hash_secret(keep_secret))
    db.session.execute(sessions.values(ended_at=now).execution_options(synchronize_session=False))
    tokens = sa.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if keep_token_id is not None:
        tokens = tokens.where(ApiToken.id != keep_token_id)
    db.session.execute(tokens.values(revoked_at=now).execution_options(synchronize_session=False))
