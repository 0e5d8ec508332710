"""Enrolling a patient and their first login through a one-time invitation (API.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from tracker import clock
from tracker.countries import country_name
from tracker.db import insert_once
from tracker.errors import Conflict, FieldProblem, Gone, Invalid
from tracker.extensions import db
from tracker.models import Clinic, Invitation, Patient, PhaseChange, User
from tracker.models.patient import PHASES
from tracker.services.accounts import password_links, staff_names, tokens
from tracker.services.accounts import users as accounts
from tracker.services.audit import trail as audit
from tracker.services.messaging import texts as messages
from tracker.services.messaging.outbox import queue_sms

# Says neither where the phone or email is in use nor by whom: a clinic learns nothing of another's roster.
CONTACT_TAKEN = (
    "This phone number or email is already in use: look for the patient in your list, or ask them for another."
)


@dataclass(frozen=True)
class Enrolment:
    patient: Patient
    invitation_url: str


def invitation_url(secret: str) -> str:
    return password_links.url("invitation", secret)


def enrol_patient(
    staff: User,
    display_name: str,
    phone: str,
    timezone: str,
    email: str | None = None,
    phase: str = "screening",
) -> Enrolment:
    """Create the patient and their account, and queue the invitation SMS with its one-time link; audited."""
    clinic = db.session.get(Clinic, staff.clinic_id)
    assert clinic is not None
    require_crisis_resources(clinic)
    require_oncall_contact(clinic)
    problems = enrolment_problems(display_name, phone, timezone, email, phase)
    name = display_name.strip()
    normalized_phone = accounts.normalize_phone(phone)
    normalized_email = accounts.normalize_email(email) if email else None
    if problems or normalized_phone is None:
        raise Invalid(problems)
    # Phones and emails are unique across every clinic (they log in and route texts), so one taken anywhere
    # is refused, with the one answer whoever holds it: this clinic or another, a patient or staff.
    taken = sa.or_(User.phone == normalized_phone, Patient.phone == normalized_phone)
    if normalized_email:
        taken = sa.or_(taken, User.email == normalized_email)
    if db.session.scalar(sa.select(sa.func.count()).select_from(User).outerjoin(Patient).where(taken)):
        raise Conflict(CONTACT_TAKEN)

    now = clock.now()
    user = User(clinic_id=clinic.id, role="patient", phone=normalized_phone, email=normalized_email, created_at=now)
    patient = Patient(
        user=user,
        clinic_id=clinic.id,
        display_name=name,
        phone=normalized_phone,
        timezone=timezone,
        phase=phase,
        created_at=now,
        changed_at=now,
    )
    if not insert_once(db.session, user, patient):  # taken meanwhile by a concurrent request: the same answer
        raise Conflict(CONTACT_TAKEN)
    db.session.add(PhaseChange(patient_id=patient.id, to_phase=phase, changed_by_id=staff.id, changed_at=now))
    url = invite(user, staff)
    queue_sms(
        normalized_phone,
        messages.INVITATION.format(clinic=clinic.name, url=url),
        "invitation",
        patient_id=patient.id,
        clinic_id=clinic.id,
    )
    audit.record(staff, "patient.enrol", patient=patient, target_type="patient", target_id=patient.id)
    return Enrolment(patient, url)


def enrolment_problems(
    display_name: str, phone: str, timezone: str, email: str | None = None, phase: str = "screening"
) -> list[FieldProblem]:
    """What is wrong with an enrolment's fields, field by field: also asked by a form refused for the clinic's
    own reasons (require_oncall_contact), so its fields are marked at the same time."""
    problems = []
    name = display_name.strip()
    if not name or len(name) > 120:
        problems.append(FieldProblem("display_name", "Enter a name of 1 to 120 characters."))
    if accounts.normalize_phone(phone) is None:
        problems.append(FieldProblem("phone", accounts.INVALID_PHONE))
    if email and accounts.normalize_email(email) is None:
        problems.append(FieldProblem("email", accounts.INVALID_EMAIL))
    if not accounts.valid_timezone(timezone):
        problems.append(FieldProblem("timezone", "Use a time zone name such as America/Chicago."))
    if phase not in PHASES:
        problems.append(FieldProblem("phase", f"Choose one of {', '.join(PHASES)}."))
    return problems


def require_oncall_contact(clinic: Clinic) -> None:
    """Issue 11 / CLINICAL.md §3: a positive item 9 texts on-call at once, so a clinic without one takes no one."""
    if not clinic.oncall_contact:
        raise Conflict(
            "This clinic cannot enrol patients yet: it has no on-call phone for safety alerts. "
            "Its admin must first enter one in the clinic settings."
        )


def require_crisis_resources(clinic: Clinic) -> None:
    """CLINICAL.md §3: a clinic takes patients only once it has a crisis line and an emergency number to give them."""
    missing = clinic.crisis_resources.missing
    if missing:
        where = country_name(clinic.country) if clinic.country else None
        because = f"none are built in for {where}" if where else "the clinic has no country set"
        raise Conflict(
            f"This clinic cannot enrol patients yet: {because}. Its admin must first enter "
            f"{' and '.join(missing)} under Crisis resources in the clinic settings."
        )


@dataclass(frozen=True)
class StaffInvitation:
    member: User
    link: str
    reactivated: bool = False  # a deactivated member's own account, invited again


def invite_staff(admin: User, role: str, email: str, display_name: str | None = None) -> StaffInvitation:
    """A new clinician or admin of the admin's clinic and their one-time link; written to the audit log.

    No password until the invitation is accepted: nobody, not even the admin, ever knows one. `display_name` is
    how colleagues will read them ("Dr Lee"); without one, their email's local part.
    """
    accounts.require_admin_of(admin, admin.clinic_id)
    name = staff_names.checked(display_name)
    former = _deactivated_member(admin, email)
    if name is not None:
        staff_names.refuse_taken(admin.clinic_id, name, but=former)
    if former is not None:
        if name is not None:
            former.display_name = name
        return _invite_again(admin, former, role)
    member = accounts.create_staff(admin.clinic, role, email, None)
    if name is not None:
        member.display_name = name
    link = invite(member, admin)
    audit.record(admin, "staff.invite", target_type="user", target_id=member.id, detail={"role": role})
    return StaffInvitation(member, link)


def _deactivated_member(admin: User, email: str) -> User | None:
    """The admin's own deactivated staff member with this email (anyone else's email stays "already exists")."""
    normalized = accounts.normalize_email(email)
    if normalized is None:
        return None
    found = db.session.scalar(sa.select(User).where(User.email == normalized))
    if found is None or found.active or not found.is_staff or found.clinic_id != admin.clinic_id:
        return None
    return found


def _invite_again(admin: User, member: User, role: str) -> StaffInvitation:
    """A deactivated member invited again gets their own account back, not a twin: one email, one account, so the
    audit log keeps one history per person. They choose a new password through the link; the old one is gone."""
    if role not in ("clinician", "admin"):
        raise Invalid.one("role", "Choose clinician or admin.")
    member.active, member.role, member.password_hash = True, role, None
    link = invite(member, admin)
    audit.record(
        admin, "staff.invite", target_type="user", target_id=member.id, detail={"role": role, "reactivated": True}
    )
    return StaffInvitation(member, link, reactivated=True)


def reinvite_staff(admin: User, member: User) -> str:
    """A new link for a staff member who has not set a password yet (earlier ones stop working); audited."""
    accounts.require_admin_of(admin, member.clinic_id)
    link = invite(member, admin)
    audit.record(admin, "staff.reinvite", target_type="user", target_id=member.id)
    return link


def invite(user: User, by: User | None) -> str:
    """A new one-time link for the user; earlier unused ones stop working."""
    lifetime = timedelta(hours=current_app.config["INVITATION_HOURS"])
    return password_links.issue(user, "invitation", lifetime, by)


INVITATION_GONE = "This invitation link has been used or has expired. Ask your clinic for a new one."


def find_invitation(secret: str) -> Invitation:
    return password_links.find(secret, "invitation", "This invitation link is not known.", INVITATION_GONE)


def activate(secret: str, password: str) -> User:
    """Set the patient's password and use up the link; the caller logs them in (web or API)."""
    invitation = find_invitation(secret)
    if problem := accounts.password_problem(password):
        raise Invalid.one("password", problem)
    user = db.session.get(User, invitation.user_id)
    if user is None or not user.active:
        raise Gone("This account is no longer active. Ask your clinic.")
    password_links.claim(invitation, INVITATION_GONE)
    user.set_password(password)
    return user


def accept_invitation(secret: str, password: str) -> tokens.IssuedToken:
    """The app's way in: activate, then a new API token."""
    return tokens.issue(activate(secret, password))
