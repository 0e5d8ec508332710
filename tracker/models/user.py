"""Accounts: patients, clinicians and admins, each of one clinic."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.clock import system_now
from tracker.models.base import Base, id_column, one_of
from tracker.models.clinic import Clinic

ROLES = ("patient", "clinician", "admin")
STAFF_ROLES = ("clinician", "admin")
# werkzeug's scrypt at full strength (N=2**15, r=8, p=1): what every real account's password gets.
PASSWORD_METHOD = "scrypt"  # noqa: S105  (a hashing method, not a password)
# The same scrypt with a small N, for the test suite, which makes thousands of accounts. Honoured only by an
# app whose TRACKER_ENV is "test" and whose config sets FAST_PASSWORD_HASHES_IN_TESTS; never in production.
FAST_PASSWORD_METHOD = "scrypt:1024:8:1"  # noqa: S105  (a hashing method, not a password)


def password_method() -> str:
    """How a new password is hashed: full strength, unless a test app asked for the cheap scrypt."""
    if has_app_context():
        config = current_app.config
        if config.get("TRACKER_ENV") == "test" and config.get("FAST_PASSWORD_HASHES_IN_TESTS") is True:
            return FAST_PASSWORD_METHOD
    return PASSWORD_METHOD


def new_login_id() -> str:
    return secrets.token_urlsafe(24)


class User(Base):
    __tablename__ = "user_account"
    __table_args__ = (
        one_of("role", ROLES),
        sa.CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="has_contact"),
    )

    id: Mapped[uuid.UUID] = id_column()
    clinic_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("clinic.id", ondelete="RESTRICT"), index=True)
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)  # stored lower-cased
    phone: Mapped[str | None] = mapped_column(sa.String(20), unique=True)  # E.164
    # How colleagues name a staff member on every page (the email stays the login); None for patients.
    display_name: Mapped[str | None] = mapped_column(sa.String(120))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))  # None until an invitation is accepted
    role: Mapped[str] = mapped_column(sa.String(20))
    active: Mapped[bool] = mapped_column(default=True)
    # What the session cookie holds instead of the id: rotating it ends every session.
    login_id: Mapped[str] = mapped_column(sa.String(64), unique=True, default=new_login_id)
    created_at: Mapped[datetime] = mapped_column(default=system_now)
    last_login_at: Mapped[datetime | None]

    clinic: Mapped[Clinic] = relationship()

    # Flask-Login's protocol, written out so nothing is inherited by accident.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return self.login_id

    @property
    def name(self) -> str:
        """A staff member as colleagues read them: their display name, else their email, else their phone."""
        return (self.display_name or "").strip() or self.email or self.phone or "a colleague"

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=password_method())
        self.revoke_sessions()

    def check_password(self, password: str) -> bool:
        return self.password_hash is not None and check_password_hash(self.password_hash, password)

    def revoke_sessions(self) -> None:
        self.login_id = new_login_id()

    def __repr__(self) -> str:
        return f"<User {self.role} {self.id}>"
