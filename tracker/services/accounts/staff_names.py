"""Staff display names: how colleagues name each other on every page ("Dr Lee"), set at invitation and changed by
the clinic's admin. The email stays the login; the API names staff by id (API.md)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from tracker.errors import Invalid
from tracker.extensions import db
from tracker.models import User
from tracker.models.user import STAFF_ROLES
from tracker.plain_text import one_line_problem
from tracker.services.accounts import users as accounts
from tracker.services.audit import trail as audit

NAME_MAX = 120  # User.display_name


def default_name(email: str | None) -> str | None:
    """Until someone names them: the email's local part ('sam.lee' of sam.lee@clinic.org)."""
    return email.split("@", 1)[0][:NAME_MAX] if email else None


def checked(name: str | None, field: str = "display_name") -> str | None:
    """The name as stored (one line, trimmed; None when blank); Invalid naming the field otherwise."""
    text = (name or "").strip()
    if not text:
        return None
    if len(text) > NAME_MAX:
        raise Invalid.one(field, f"use at most {NAME_MAX} characters")
    if problem := one_line_problem(text):
        raise Invalid.one(field, f"this field {problem}")
    return text


def refuse_taken(clinic_id: uuid.UUID, name: str, but: User | None = None, field: str = "display_name") -> None:
    """Invalid naming the field when another active staff member of the clinic is already shown by this name
    (whatever the case): colleagues read these names to tell who took charge."""
    rows = db.session.execute(
        sa.select(User.id, User.display_name).where(
            User.clinic_id == clinic_id, User.active.is_(True), User.role.in_(STAFF_ROLES)
        )
    ).all()
    if any(
        (but is None or row.id != but.id) and (row.display_name or "").casefold() == name.casefold() for row in rows
    ):
        raise Invalid.one(field, f"another staff member of the clinic is already shown as {name}: choose another name")


def rename(admin: User, member: User, name: str | None) -> bool:
    """The clinic's admin names a staff member (blank: back to the email's local part); audited; whether it
    changed."""
    accounts.require_admin_of(admin, member.clinic_id)
    new = checked(name) or default_name(member.email)
    if new == member.display_name:
        return False
    if new is not None:
        refuse_taken(member.clinic_id, new, but=member)
    before = member.display_name
    member.display_name = new
    audit.record(
        admin, "staff.rename", target_type="user", target_id=member.id, detail={"before": before, "after": new}
    )
    return True
