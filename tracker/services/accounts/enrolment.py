"""Enrolling a patient and their first login through a one-time invitation (API.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from tracker import clock
from tracker.countries import country_name
from tracker.errors import Conflict, FieldProblem, Gone, Invalid, NotFound
from tracker.extensions import db
from tracker.models import Clinic, Invitation, Patient, PhaseChange, User
from tracker.models.access import hash_secret, new_secret
from tracker.models.patient import PHASES
from tracker.services.accounts import tokens
from tracker.services.accounts import users as accounts
from tracker.services.audit import trail as audit
from tracker.services.messaging import texts as messages
from tracker.services.messaging.outbox import queue_sms


@dataclass(frozen=True)
class Enrolment:
    patient: Patient
    invitation_url: str


def invitation_url(secret: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/invite/{secret}"


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
    problems = []
    name = display_name.strip()
    if not name or len(name) > 120:
        problems.append(FieldProblem("display_name", "Enter a name of 1 to 120 characters."))
    normalized_phone = accounts.normalize_phone(phone)
    if normalized_phone is None:
        problems.append(FieldProblem("phone", "Enter a mobile number in E.164 form, such as +13125550123."))
    normalized_email = None
    if email:
        normalized_email = accounts.normalize_email(email)
        if normalized_email is None:
            problems.append(FieldProblem("email", "Enter an email address such as name@example.org."))
    if not accounts.valid_timezone(timezone):
        problems.append(FieldProblem("timezone", "Use a time zone name such as America/Chicago."))
    if phase not in PHASES:
        problems.append(FieldProblem("phase", f"Choose one of {', '.join(PHASES)}."))
    if problems or normalized_phone is None:
        raise Invalid(problems)
    taken = sa.or_(User.phone == normalized_phone, Patient.phone == normalized_phone)
    if normalized_email:
        taken = sa.or_(taken, User.email == normalized_email)
    if db.session.scalar(sa.select(sa.func.count()).select_from(User).outerjoin(Patient).where(taken)):
        raise Conflict("A person with this phone number or email is already enrolled.")

    now = clock.now()
    user = User(clinic_id=clinic.id, role="patient", phone=normalized_phone, email=normalized_email, created_at=now)
    db.session.add(user)
    db.session.flush()
    patient = Patient(
        user_id=user.id,
        clinic_id=clinic.id,
        display_name=name,
        phone=normalized_phone,
        timezone=timezone,
        phase=phase,
        created_at=now,
        changed_at=now,
    )
    db.session.add(patient)
    db.session.flush()
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


def invite_staff(admin: User, role: str, email: str) -> StaffInvitation:
    """A new clinician or admin of the admin's clinic and their one-time link; written to the audit log.

    No password until the invitation is accepted: nobody, not even the admin, ever knows one.
    """
    accounts.require_admin_of(admin, admin.clinic_id)
    member = accounts.create_staff(admin.clinic, role, email, None)
    link = invite(member, admin)
    audit.record(admin, "staff.invite", target_type="user", target_id=member.id, detail={"role": role})
    return StaffInvitation(member, link)


def reinvite_staff(admin: User, member: User) -> str:
    """A new link for a staff member who has not set a password yet (earlier ones stop working); audited."""
    accounts.require_admin_of(admin, member.clinic_id)
    link = invite(member, admin)
    audit.record(admin, "staff.reinvite", target_type="user", target_id=member.id)
    return link


def invite(user: User, by: User | None) -> str:
    """A new one-time link for the user; earlier unused ones stop working."""
    now = clock.now()
    db.session.execute(
        sa.update(Invitation).where(Invitation.user_id == user.id, Invitation.used_at.is_(None)).values(used_at=now)
    )
    secret = new_secret()
    db.session.add(
        Invitation(
            user_id=user.id,
            token_hash=hash_secret(secret),
            created_by_id=by.id if by else None,
            created_at=now,
            expires_at=now + timedelta(hours=current_app.config["INVITATION_HOURS"]),
        )
    )
    db.session.flush()
    return invitation_url(secret)


def find_invitation(secret: str) -> Invitation:
    invitation = db.session.scalar(sa.select(Invitation).where(Invitation.token_hash == hash_secret(secret)))
    if invitation is None:
        raise NotFound("This invitation link is not known.")
    if invitation.used_at is not None or invitation.expires_at <= clock.now():
        raise Gone("This invitation link has been used or has expired. Ask your clinic for a new one.")
    return invitation


def activate(secret: str, password: str) -> User:
    """Set the patient's password and use up the link; the caller logs them in (web or API)."""
    invitation = find_invitation(secret)
    if problem := accounts.password_problem(password):
        raise Invalid.one("password", problem)
    user = db.session.get(User, invitation.user_id)
    if user is None or not user.active:
        raise Gone("This account is no longer active. Ask your clinic.")
    user.set_password(password)
    invitation.used_at = clock.now()
    return user


def accept_invitation(secret: str, password: str) -> tokens.IssuedToken:
    """The app's way in: activate, then a new API token."""
    return tokens.issue(activate(secret, password))
