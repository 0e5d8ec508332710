"""The clinic admin's pages: settings, staff (invitations, deactivation) and the audit log."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from tracker import audit_words, clock, safety
from tracker.countries import country_name
from tracker.errors import Conflict, FieldProblem, Invalid
from tracker.extensions import db
from tracker.local_time import zone_of
from tracker.models import Clinic, User
from tracker.services import scope
from tracker.services.accounts import enrolment, password_reset, staff_names
from tracker.services.accounts import users as accounts
from tracker.services.audit import log as audit_log
from tracker.services.clinic import settings as clinic_settings
from tracker.web import schedule_form
from tracker.web.forms import (
    CRISIS_LINE_NUMBERS,
    LINE_REACH,
    AuditFilterForm,
    ClinicSettingsForm,
    ConfirmForm,
    InviteStaffForm,
    StaffNameForm,
)
from tracker.web.landing import land
from tracker.web.roles import admin_required

bp = Blueprint("admin", __name__, url_prefix="/admin")

# The settings page's sections, in order: (heading, what it is about, the fields).
SETTINGS_SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "Relapse thresholds",
        "When returning symptoms raise a booster request for the clinic to decide (modelled on SUSTAIN-1).",
        ("signal_min_total", "signal_min_rise", "confirm_min_days", "confirm_max_days", "urgent_min_total"),
    ),
    (
        "On-call and backup contacts",
        "Who is told at once about a safety event, and who next when nobody acknowledges it.",
        ("oncall_phone", "backup_phone", "safety_ack_minutes", "phone"),
    ),
    (
        "Reminder defaults",
        "Weekly check-in reminders, quiet hours and nudges; patients may choose their own day and time.",
        (
            "reminder_weekday",
            "reminder_local_time",
            "quiet_start",
            "quiet_end",
            "missed_checkin_grace_days",
            "missed_checkin_alert_days",
        ),
    ),
    ("Treatment course", "How induction ends.", ("induction_infusion_count", "post_induction_phase")),
    (
        "Blood pressure at the visit",
        "When giving an infusion needs a clinician's confirmation (default 180/110).",
        ("bp_hold_systolic", "bp_hold_diastolic"),
    ),
    ("Clinic", "Its name and the time zone its times are in.", ("name", "timezone")),
)
SETTINGS = tuple(name for _heading, _about, names in SETTINGS_SECTIONS for name in names)
# CLINICAL.md §3: the crisis resources' part of the page; the form's lines become the service's one list.
CRISIS_LINE_FIELDS = tuple(
    tuple(f"line{number}_{part}" for part in ("name", "phone", "reach", "keyword")) for number in CRISIS_LINE_NUMBERS
)
CRISIS_FIELDS = ("country", "emergency_numbers", *(name for names in CRISIS_LINE_FIELDS for name in names))
CRISIS_LABELS = {"country": "Country", "crisis_lines": "Crisis lines", "emergency_numbers": "Emergency number"}
# The changes saved that are no one field of the form, as the confirmation names them.
CRISIS_LABELS |= {"instrument_schedule": "Check-in schedule"}
REACH_OF = {(call, sms): value for value, _words, call, sms in LINE_REACH}
SAVED = "save"  # where the settings page lands once saved: its Save button, with the confirmation beside it


def show_problems(form: FlaskForm, error: Invalid) -> None:
    """Put each problem the service named beside its field, as a sentence."""
    for problem in error.problems:
        message = problem.message[:1].upper() + problem.message[1:]
        message = message if message.endswith(".") else message + "."
        field = getattr(form, _form_field(problem.field), None)
        if field is not None:
            field.errors.append(message)
        else:
            form.form_errors.append(message)


@bp.route("/")
@admin_required
def home() -> str:
    return render_template("admin/home.html")


def _form_data(clinic: Clinic) -> dict[str, Any]:
    """The clinic's settings as the form shows them (choices are strings, empty phones empty)."""
    data: dict[str, Any] = {name: getattr(clinic, name) for name in SETTINGS}
    data["reminder_weekday"] = str(clinic.reminder_weekday)
    for name in clinic_settings.PHONES:
        data[name] = data[name] or ""
    return data


def _changes(form: ClinicSettingsForm, clinic: Clinic) -> dict[str, Any]:
    """Only the settings the admin changed: the audit names those, and unchanged thresholds rescan nobody."""
    changes: dict[str, Any] = {}
    for name in SETTINGS:
        value = getattr(form, name).data
        if name == "reminder_weekday":
            value = int(value)
        elif isinstance(value, str):
            value = value.strip()
        current = getattr(clinic, name)
        if value != (current if current is not None else ""):
            changes[name] = value
    return changes


def _check_the_rest(form: ClinicSettingsForm, clinic: Clinic) -> None:
    """Every problem at once: the settings the form could read go to the service's checks as well, so a value
    it refuses, or one that does not fit with another, is shown beside the ones the form refused."""
    unreadable = frozenset(name for name in SETTINGS if getattr(form, name).errors)
    changes = {}
    for name in SETTINGS:
        value = getattr(form, name).data
        if name in unreadable or value is None:
            continue
        value = int(value) if name == "reminder_weekday" else value.strip() if isinstance(value, str) else value
        if value != (getattr(clinic, name) if getattr(clinic, name) is not None else ""):
            changes[name] = value
    if not any(form[name].errors for name in CRISIS_FIELDS):
        changes |= _crisis_changes(form, clinic)
    if not any(form[name].errors for name in schedule_form.FIELD_NAMES.values()):
        changes |= schedule_form.changes(form, clinic.instrument_schedule)
    problems = clinic_settings.check(clinic, changes, unreadable)
    show_problems(form, Invalid([p for p in problems if not getattr(getattr(form, p.field, None), "errors", None)]))


def _form_field(problem_field: str) -> str:
    """The form field a service problem belongs beside: crisis_lines[0].phone is line1_phone."""
    if (schedule_field := schedule_form.field_of(problem_field)) is not None:
        return schedule_field
    if match := re.fullmatch(r"crisis_lines\[(\d+)\]\.(\w+)", problem_field):
        part = {"call": "reach", "sms": "reach", "sms_keyword": "keyword"}.get(match[2], match[2])
        return f"line{int(match[1]) + 1}_{part}"
    return "line1_name" if problem_field == "crisis_lines" else problem_field


def _crisis_form_data(clinic: Clinic) -> dict[str, Any]:
    """The crisis resources as the form shows them: the ones patients are given now, built in or entered."""
    resources = clinic.crisis_resources
    data: dict[str, Any] = {"country": clinic.country or "", "emergency_numbers": " or ".join(resources.emergency)}
    for (name, phone, reach, keyword), line in zip(CRISIS_LINE_FIELDS, resources.lines, strict=False):
        data |= {name: line.name, phone: line.phone, reach: REACH_OF[line.call, line.sms], keyword: line.sms_keyword}
    return data


def _crisis_changes(form: ClinicSettingsForm, clinic: Clinic) -> dict[str, Any]:
    """The crisis settings the admin changed. Lines and numbers left as shown keep following the country;
    all emptied, they go back to its built-in ones."""
    changes: dict[str, Any] = {}
    country = form.country.data or None
    if country != clinic.country:
        changes["country"] = country
    lines = []
    for name, phone, reach, keyword in CRISIS_LINE_FIELDS:
        entered = {field: (form[field].data or "").strip() for field in (name, phone, keyword)}
        if any(entered.values()):
            _value, _words, call, sms = next(r for r in LINE_REACH if r[0] == form[reach].data)
            line = {"name": entered[name], "phone": entered[phone], "call": call, "sms": sms}
            lines.append(line | {"sms_keyword": entered[keyword] or None})
    shown = [line.entered() for line in clinic.crisis_resources.lines]
    if lines != shown and (lines or clinic.crisis_lines is not None):
        changes["crisis_lines"] = lines or None
    numbers = safety.split_numbers(form.emergency_numbers.data or "")
    if numbers != list(clinic.crisis_resources.emergency) and (numbers or clinic.emergency_numbers is not None):
        changes["emergency_numbers"] = numbers or None
    return changes


@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def settings() -> ResponseReturnValue:
    clinic = current_user.clinic
    schedule_data = schedule_form.form_data(clinic.instrument_schedule)
    form = ClinicSettingsForm(data={**_form_data(clinic), **_crisis_form_data(clinic), **schedule_data})
    if form.validate_on_submit():
        changes = {**_changes(form, clinic), **_crisis_changes(form, clinic)}
        changes |= schedule_form.changes(form, clinic.instrument_schedule)
        if not changes:
            return land("Nothing changed.", "admin.settings", SAVED)
        try:
            clinic_settings.update(current_user, clinic, changes)
        except Invalid as error:
            show_problems(form, error)
        else:
            labels = (CRISIS_LABELS.get(name) or getattr(form, name).label.text for name in changes)
            return land(f"Saved: {', '.join(labels)}.", "admin.settings", SAVED)
    elif form.is_submitted() and form.errors and "csrf_token" not in form.errors:
        _check_the_rest(form, clinic)
    status = 422 if form.errors else 200
    return (
        render_template(
            "admin/settings.html",
            form=form,
            sections=SETTINGS_SECTIONS,
            schedule_rows=schedule_form.rows(),
            schedule_about=schedule_form.ABOUT,
            crisis_lines=CRISIS_LINE_FIELDS,
            crisis=clinic.crisis_resources,
            country_name=country_name(clinic.country),
        ),
        status,
    )


def _members() -> list[User]:
    return list(db.session.scalars(scope.staff_users(current_user).order_by(User.email)))


# The session's hold on a link just issued, until its page shows it once (`link_once`).
SHOWN_ONCE = "link_shown_once"


def _show_once(member: User, kind: str, link: str, reactivated: bool = False) -> Response:
    """POST, then redirect to GET: the new link is held for one showing, so a reload of its page mints no other.

    Held in the signed session cookie for the one redirect; never logged or audited."""
    session[SHOWN_ONCE] = {"member": str(member.id), "kind": kind, "link": link, "reactivated": reactivated}
    return redirect(url_for("admin.link_once", user_id=member.id), 303)


@bp.route("/staff/<user_id>/link")
@admin_required
def link_once(user_id: str) -> ResponseReturnValue:
    """The invitation or password reset link just issued for a member, shown once; again, a way back to staff."""
    member = _member(user_id)
    held = session.pop(SHOWN_ONCE, None)
    if not isinstance(held, dict) or held.get("member") != str(member.id):
        return _at_member(
            member, "That link was shown once. If it was lost, make a new one: the old one then stops working."
        )
    zone = zone_of(current_user.clinic.timezone)
    if held.get("kind") == "reset":
        minutes = int(password_reset.RESET_LIFETIME.total_seconds() // 60)
        expires = (clock.now() + password_reset.RESET_LIFETIME).astimezone(zone)
        page = render_template(
            "admin/reset_link.html", member=member, link=held["link"], minutes=minutes, expires=expires
        )
    else:
        hours = current_app.config["INVITATION_HOURS"]
        expires = (clock.now() + timedelta(hours=hours)).astimezone(zone)
        page = render_template(
            "admin/invitation.html",
            member=member,
            link=held["link"],
            hours=hours,
            expires=expires,
            reactivated=bool(held.get("reactivated")),
        )
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"  # neither the back button nor a cache shows it again
    return response


@bp.route("/staff", methods=["GET", "POST"])
@admin_required
def staff() -> ResponseReturnValue:
    """The clinic's staff, and inviting a new member: an account without a password and a one-time link."""
    form = InviteStaffForm()
    if form.validate_on_submit():
        role, email = form.role.data or "clinician", form.email.data or ""
        try:
            invited = enrolment.invite_staff(current_user, role, email, form.display_name.data)
        except Invalid as error:
            show_problems(form, error)
        except Conflict as error:
            show_problems(form, Invalid([FieldProblem("email", error.detail)]))
        else:
            return _show_once(invited.member, "invitation", invited.link, invited.reactivated)
    status = 422 if form.errors else 200
    return _staff_page(form, status)


def _staff_page(
    form: InviteStaffForm, status: int, renaming: tuple[str, StaffNameForm] | None = None
) -> tuple[str, int]:
    """The staff table and the invitation form; `renaming` is a member's name form that was refused."""
    members = _members()
    names = {
        str(m.id): StaffNameForm(formdata=None, prefix=f"name-{m.id}", data={"display_name": m.display_name})
        for m in members
    }
    if renaming is not None:
        names[renaming[0]] = renaming[1]
    page = render_template("admin/staff.html", form=form, members=members, confirm=ConfirmForm(), names=names)
    return page, status


@bp.route("/staff/<user_id>/name", methods=["POST"])
@admin_required
def rename(user_id: str) -> ResponseReturnValue:
    """The name colleagues read for a staff member, on every page; audited."""
    member = _member(user_id)
    form = StaffNameForm(prefix=f"name-{member.id}")
    if form.validate_on_submit():
        try:
            changed = staff_names.rename(current_user, member, form.display_name.data)
        except Invalid as error:
            show_problems(form, error)
        else:
            return _at_member(
                member, f"{member.email} is now shown as {member.name}." if changed else "Nothing changed."
            )
    return _staff_page(InviteStaffForm(formdata=None), 422, (str(member.id), form))


def _at_member(member: User, message: str) -> Response:
    """Back to the staff table at the member's row, with what happened said there."""
    return land(message, "admin.staff", f"member-{member.id}")


def _member(user_id: str) -> User:
    """A staff member of the admin's own clinic; 404 for anyone else."""
    member = db.session.scalar(scope.staff_users(current_user).where(User.id == scope.parse_id(user_id)))
    if member is None:
        abort(404)
    return member


@bp.route("/staff/<user_id>/invite", methods=["POST"])
@admin_required
def reinvite(user_id: str) -> ResponseReturnValue:
    """A new link for a member who has not set a password yet; earlier links stop working."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    member = _member(user_id)
    if not member.active or member.password_hash is not None:
        return _at_member(
            member, f"{member.email} {'is deactivated' if not member.active else 'has already set a password'}."
        )
    return _show_once(member, "invitation", enrolment.reinvite_staff(current_user, member))


@bp.route("/staff/<user_id>/reset", methods=["POST"])
@admin_required
def reset_link(user_id: str) -> ResponseReturnValue:
    """A one-time password reset link for a member who has lost theirs, shown once on the page it redirects to."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    member = _member(user_id)
    try:
        link = password_reset.issue_for_staff(current_user, member)
    except Conflict as error:
        return _at_member(member, error.detail)
    return _show_once(member, "reset", link)


@bp.route("/staff/<user_id>/deactivate", methods=["GET", "POST"])
@admin_required
def deactivate(user_id: str) -> ResponseReturnValue:
    """Asks first (the table only links here); the answer's button deactivates."""
    member = _member(user_id)
    if member.id == current_user.id or not member.active:
        return _at_member(
            member, "You cannot deactivate your own account." if member.active else f"{member.email} is deactivated."
        )
    form = ConfirmForm()
    if request.method == "GET":
        return render_template("admin/deactivate.html", member=member, form=form)
    if not form.validate_on_submit():
        abort(400)
    accounts.deactivate_staff(current_user, member)
    return _at_member(
        member, f"{member.email} can no longer log in. Reactivate them from the table if this was a mistake."
    )


@bp.route("/staff/<user_id>/reactivate", methods=["POST"])
@admin_required
def reactivate(user_id: str) -> Response:
    """Undoes a deactivation: the member logs in with their own password, or sets one through a new invitation."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    member = _member(user_id)
    try:
        accounts.reactivate_staff(current_user, member)
    except Conflict as error:
        return _at_member(member, error.detail)
    if member.password_hash is None:
        return _at_member(
            member, f"{member.email} is active again. They have no password yet: give them a new invitation link."
        )
    return _at_member(member, f"{member.email} is active again and can log in with their own password.")


def _filter_form() -> AuditFilterForm:
    form = AuditFilterForm(formdata=request.args)
    actions, patients, members = audit_log.choices(current_user)
    form.action.choices = [("", "Any action"), *((action, action) for action in actions)]
    form.patient.choices = [("", "Any patient"), *((str(pid), name) for pid, name in patients)]
    form.staff.choices = [("", "Anyone"), *((str(uid), email) for uid, email in members)]
    return form


def _filters(form: AuditFilterForm) -> audit_log.Filters:
    """The validated form as filters (the choices held only known ids, so they parse)."""
    return audit_log.Filters(
        action=form.action.data or None,
        patient_id=uuid.UUID(form.patient.data) if form.patient.data else None,
        actor_id=uuid.UUID(form.staff.data) if form.staff.data else None,
        date_from=form.date_from.data,
        date_to=form.date_to.data,
    )


@bp.route("/audit")
@admin_required
def audit_events() -> ResponseReturnValue:
    """Who read or changed which patient, when and from where; reading it is recorded too."""
    form = _filter_form()
    page_number = request.args.get("page", 1, type=int)
    log = None
    if form.validate():
        filters = _filters(form)
        try:
            log = audit_log.read(current_user, filters, page_number)
        except Invalid as error:
            show_problems(form, error)
    # The filters again for the pager's links: only the form's own names (never url_for's _external and such).
    args = {name: request.args[name] for name in form.data if request.args.get(name)}
    # Repeated views of one record by one person within ten minutes read as one line (the log keeps each).
    lines = audit_words.merge(log.entries, key=lambda e: e.merge_key, at=lambda e: e.event.at) if log else []
    page = render_template(
        "admin/audit.html",
        form=form,
        log=log,
        lines=lines,
        args=args,
        describe=audit_log.describe,
        sentence=audit_words.sentence,
    )
    return page, (200 if log is not None else 422)
