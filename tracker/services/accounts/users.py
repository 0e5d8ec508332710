"""Clinics and accounts: creating them, and checking who someone is."""

from __future__ import annotations

import functools
import re
import uuid
import zoneinfo

import phonenumbers
import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from tracker import clock
from tracker.countries import country_of_zone, normalize_country
from tracker.db import insert_once
from tracker.errors import Conflict, FieldProblem, Forbidden, Invalid, Unauthenticated
from tracker.extensions import db
from tracker.models import Clinic, User
from tracker.models.user import password_method
from tracker.services.accounts import password_links, sessions, tokens
from tracker.services.audit import trail as audit

MIN_PASSWORD_LENGTH = 10
# Hashes to check against when no user matches, so a wrong username costs the same time: one per method,
# made the first time it is needed (the test suite's cheap scrypt, or production's).
_DUMMY_HASHES: dict[str, str] = {}
COMMON_PASSWORDS = {
    "password123",
    "1234567890",
    "qwertyuiop",
    "letmein123",
    "iloveyou12",
    "password1234",
    "welcome123",
    "0123456789",
}


# An address as people and mail servers write one: a local part of letters, digits and the few marks addresses
# use (no <, >, quotes, spaces or brackets), dots only between them; a domain of two labels or more.
_EMAIL = re.compile(
    r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
    r"@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_](?:[\w-]{0,61}[^\W_])?"
)
INVALID_EMAIL = "Enter an email address such as name@example.org."
INVALID_PHONE = "That is not a valid mobile number: enter one with its country code, such as +13125550123."


def normalize_email(raw: str) -> str | None:
    """The one rule for an email address (staff, patients, logins): lower case, or None if it is not plausible."""
    email = raw.strip().lower()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        return None
    return email


def normalize_phone(raw: str, region: str = "US") -> str | None:
    """E.164 for any way a person writes a number; None if it is not one."""
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def valid_timezone(name: str) -> bool:
    """A zone of the tz database by its full name ("America/Chicago", or "UTC").

    Looked up in the database's list rather than opened: an arbitrary string handed to ZoneInfo becomes a
    file path, and a long one fails with an OS error instead of "not found"."""
    return name in _known_zones() and ("/" in name or name == "UTC")


def password_problem(password: str) -> str | None:
    """Why a password is too weak, in words a patient understands; None if it will do."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(set(password)) < 4 or password.lower() in COMMON_PASSWORDS:
        return "That password is too easy to guess."
    if len(password) > 200:
        return "Use at most 200 characters."
    return None


def find_login(username: str) -> User | None:
    """The account a username names: an email, or a phone number in any usual spelling."""
    username = username.strip()
    if "@" in username:
        email = normalize_email(username)
        return db.session.scalar(sa.select(User).where(User.email == email)) if email else None
    phone = normalize_phone(username)
    return db.session.scalar(sa.select(User).where(User.phone == phone)) if phone else None


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, or None; the same work either way."""
    user = find_login(username)
    if user is None or user.password_hash is None:
        method = password_method()
        dummy = _DUMMY_HASHES.get(method) or _DUMMY_HASHES.setdefault(
            method, generate_password_hash("not-a-real-password", method=method)
        )
        check_password_hash(dummy, password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    user.last_login_at = clock.now()
    return user


def create_clinic(name: str, timezone: str, **settings: object) -> Clinic:
    """A new clinic. Its `country`, which picks its crisis resources, defaults from its time zone (CLINICAL.md §3)."""
    problems = []
    if not name.strip():
        problems.append(FieldProblem("name", "A clinic needs a name."))
    if not valid_timezone(timezone):
        problems.append(FieldProblem("timezone", f"Unknown time zone {timezone!r}; use a name like America/Chicago."))
    country = settings.pop("country", None)
    code = country_of_zone(timezone)
    if country is not None and (code := normalize_country(str(country))) is None:
        problems.append(FieldProblem("country", f"Unknown country {country!r}; use an ISO 3166-1 code such as GB."))
    if problems:
        raise Invalid(problems)
    clinic = Clinic(name=name.strip(), timezone=timezone, country=code, **settings)
    db.session.add(clinic)
    db.session.flush()
    return clinic


# Worded as enrolment.CONTACT_TAKEN is: says neither where the email is in use nor by whom, so an admin learns
# nothing of another clinic's staff or patients.
EMAIL_TAKEN = "This email is already in use: look for the colleague in your staff list, or ask them for another."


def create_staff(clinic: Clinic, role: str, email: str, password: str | None) -> User:
    """A clinician or admin of the clinic: with a password, able to log in at once; without one,
    waiting for an invitation (enrolment.invite) to set it."""
    problems = []
    if role not in ("clinician", "admin"):
        problems.append(FieldProblem("role", "Choose clinician or admin."))
    normalized = normalize_email(email)
    if normalized is None:
        problems.append(FieldProblem("email", INVALID_EMAIL))
    if password is not None and (problem := password_problem(password)):
        problems.append(FieldProblem("password", problem))
    if problems:
        raise Invalid(problems)
    if db.session.scalar(sa.select(User.id).where(User.email == normalized)) is not None:
        raise Invalid.one("email", EMAIL_TAKEN)
    # Named by their email's local part until the admin gives a name (services/accounts/staff_names.py).
    user = User(clinic_id=clinic.id, role=role, email=normalized, display_name=(normalized or "").split("@")[0][:120])
    if password is not None:
        user.set_password(password)
    if not insert_once(db.session, user):  # the unique email: another request made the account first
        raise Conflict(EMAIL_TAKEN)
    return user


def deactivate(user: User) -> None:
    """No more logins, and every open session, API token and unused one-time link ends now (so reactivating the
    account brings none of them back)."""
    user.active = False
    user.revoke_sessions()
    tokens.revoke_all(user)
    password_links.void_all(user)


def require_admin_of(admin: User, clinic_id: uuid.UUID) -> None:
    """Only an active admin of the clinic manages its staff."""
    if admin.role != "admin" or not admin.active or admin.clinic_id != clinic_id:
        raise Forbidden("Only the clinic's admin may manage its staff.")


def deactivate_staff(admin: User, member: User) -> None:
    """The clinic's admin ends a staff member's access (see deactivate); written to the audit log."""
    require_admin_of(admin, member.clinic_id)
    deactivate(member)
    audit.record(admin, "staff.deactivate", target_type="user", target_id=member.id)


def reactivate_staff(admin: User, member: User) -> None:
    """The clinic's admin undoes a deactivation; written to the audit log. The member logs in again with their own
    password (sessions, tokens and links ended by the deactivation stay ended); one who never set a password
    needs a new invitation."""
    require_admin_of(admin, member.clinic_id)
    if not member.is_staff:
        raise Forbidden("Only the clinic's staff are managed here.")
    if member.active:
        raise Conflict(f"{member.email} is already active.")
    member.active = True
    audit.record(admin, "staff.reactivate", target_type="user", target_id=member.id)


def change_own_password(user: User, current: str, new: str, keep_token_id: object | None = None) -> None:
    """The account holder changes their password, proving the current one first (ASVS V6).

    Every other web session and API token ends; the token making an API call may be kept (`keep_token_id`),
    and the web view starts this browser a fresh session.
    """
    if not user.check_password(current):
        raise Unauthenticated("The current password is not right.")
    if problem := password_problem(new):
        raise Invalid.one("new_password", problem)
    if check_password_hash(user.password_hash or "", new):
        raise Invalid.one("new_password", "Choose a password different from the current one.")
    user.set_password(new)
    sessions.end_everywhere(user, keep_token_id=keep_token_id)
    audit.record(user, "account.password_change", target_type="user", target_id=user.id)


def change_password(user: User, password: str) -> None:
    """A new password ends every session and API token the old one opened."""
    if problem := password_problem(password):
        raise Invalid.one("password", problem)
    user.set_password(password)
    tokens.revoke_all(user)
