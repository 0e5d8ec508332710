"""Password resets (API.md, Authentication): patients by a texted one-time link, staff by one their admin issues.

OWASP ASVS V6.4: a reset link works once, for 30 minutes, and is stored only as a hash; using it ends every
session and token of the account. Asking for one looks the same whether or not the account exists, and texts
only a patient, whose phone is how the clinic reaches them. Staff may have no phone: their admin, who knows them,
issues their link and passes it on.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from tracker.errors import Conflict, Gone, Invalid
from tracker.extensions import db
from tracker.models import Clinic, Invitation, Patient, User
from tracker.services.accounts import password_links, sessions, tokens
from tracker.services.accounts import users as accounts
from tracker.services.audit import trail as audit
from tracker.services.messaging import texts as messages
from tracker.services.messaging.outbox import queue_sms

RESET_LIFETIME = timedelta(minutes=30)
# The one answer to a reset request, on the page and in the API: it never says whether the account exists.
ACCEPTED = (
    "If that is a patient's email or mobile number, a text with a link to choose a new password is on its way. "
    "It works once, for 30 minutes. Staff: ask your clinic's admin for a reset link."
)
PURPOSE = "reset"
UNKNOWN = "This password reset link is not known. Please check that it was copied in full."
GONE = (
    "Password reset links work once, for 30 minutes, and this one no longer does. Ask for a new one with "
    "“Forgot password?” on the login page; staff, ask your clinic's admin."
)


def request_reset(username: str) -> None:
    """Text an active patient a reset link. For anyone else (staff, deactivated, unknown) nothing happens, and
    the caller answers the same either way."""
    user = accounts.find_login(username)
    if user is None or not user.active or user.role != "patient":
        return
    found = db.session.execute(
        sa.select(Patient, Clinic).join(Clinic, Clinic.id == Patient.clinic_id).where(Patient.user_id == user.id)
    ).first()
    if found is None:
        return
    patient, clinic = found
    url = password_links.issue(user, PURPOSE, RESET_LIFETIME)
    queue_sms(
        patient.phone,
        messages.RESET_LINK.format(clinic=clinic.name, url=url),
        "password_reset",
        patient_id=patient.id,
        clinic_id=clinic.id,
    )


def issue_for_staff(admin: User, member: User) -> str:
    """A reset link for a staff member of the admin's clinic, for the admin to pass on (earlier ones stop
    working). Audited without the link: it is shown to the admin once, on the page that answers."""
    accounts.require_admin_of(admin, member.clinic_id)
    if not member.is_staff or not member.active or member.password_hash is None:
        raise Conflict("Only an active staff member with a password gets a reset link; send an invitation instead.")
    link = password_links.issue(member, PURPOSE, RESET_LIFETIME, by=admin)
    audit.record(admin, "staff.password_reset_link", target_type="user", target_id=member.id)
    return link


def find(secret: str) -> Invitation:
    """The live reset link: NotFound when unknown, Gone when used or expired."""
    return password_links.find(secret, PURPOSE, UNKNOWN, GONE)


def complete(secret: str, password: str) -> User:
    """Set the new password and use the link up; every session and token of the account ends. The caller logs
    the account holder in (a new web session, or a new API token)."""
    link = find(secret)
    if problem := accounts.password_problem(password):
        raise Invalid.one("password", problem)
    user = db.session.get(User, link.user_id)
    if user is None or not user.active:
        raise Gone("This account is no longer active. Ask your clinic.")
    password_links.claim(link, GONE)
    user.set_password(password)
    sessions.end_everywhere(user)
    audit.record(user, "account.password_reset", target_type="user", target_id=user.id)
    return user


def confirm(secret: str, password: str) -> tokens.IssuedToken:
    """The app's way in: complete the reset, then a new API token, as a login gives."""
    return tokens.issue(complete(secret, password))
