"""A clinic day's work on the web: enrol a patient, enter a check-in taken in clinic, raise a booster request,
and record, correct, move or cancel an infusion through its visit form.

Each view parses its form, calls the one service the API calls too, commits once and redirects to where the
result shows (POST/redirect/GET), or shows its form again with each refusal beside its field (422), with the
unusual values to confirm (422), or with what changed under it (409).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from tracker import clock, local_time, phones
from tracker.errors import Conflict, Invalid
from tracker.extensions import db
from tracker.infusions import DEFAULT_DOSE_MG_PER_KG, DEFAULT_DURATION_MIN, out_of_range
from tracker.instruments import INSTRUMENTS, PHQ9, UnknownInstrument, get_instrument
from tracker.models import Infusion, Patient
from tracker.services import scope
from tracker.services.accounts import enrolment
from tracker.services.boosters import requests as boosters
from tracker.services.checkins import queries as checkin_queries
from tracker.services.checkins import submit as checkins
from tracker.services.clinic import medicines
from tracker.services.course import queries as course_queries
from tracker.services.course import writes as course
from tracker.vitals import NUMBER_LIMITS
from tracker.web.clinic_base import bp, landing_category, render
from tracker.web.clinic_day_forms import (
    CancelInfusionForm,
    EnrolForm,
    RaiseBoosterForm,
    RescheduleForm,
    VisitForm,
    clinic_checkin_form,
    show_warnings,
)
from tracker.web.clinic_forms import (
    NotALocalTime,
    OutOfRange,
    correct_marked,
    mark_cautions,
    put_problems,
    to_local_input,
    to_utc,
)
from tracker.web.clinic_pages import patient_page
from tracker.web.roles import staff_required

ANSWER_PREFIX = "answers["


def _zone() -> tzinfo:
    return local_time.zone_of(current_user.clinic.timezone)


def _moment(value: datetime | None, zone: tzinfo, field: str) -> datetime | None:
    """A wall-clock time of the clinic as a UTC moment; a time the clocks skip is refused beside its field."""
    if value is None:
        return None
    try:
        return to_utc(value, zone)
    except NotALocalTime:
        raise Invalid.one(field, f"that time does not exist in {zone} (the clocks change)") from None
    except OutOfRange:
        raise Invalid.one(field, out_of_range(field, value.year >= local_time.EARLIEST.year)) from None


def _to_patient(patient_id: Any, anchor: str) -> Response:
    return redirect(url_for("clinic.patient", patient_id=patient_id, _anchor=anchor), code=303)


# Enrolment (API.md POST /clinic/patients)


@bp.route("/patients/new", methods=["GET", "POST"])
@staff_required
def enrol() -> ResponseReturnValue:
    """Enrol a patient; the invitation text with its one-time link is queued (the link is never shown here)."""
    form = EnrolForm(data=None if request.method == "POST" else {"timezone": current_user.clinic.timezone})
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            enrolled = enrolment.enrol_patient(
                current_user,
                form.display_name.data or "",
                form.phone.data or "",
                form.timezone.data or "",
                form.email.data,
                form.phase.data or "",
            )
        except Invalid as error:
            db.session.rollback()
            problems = put_problems(form, error.problems) or [correct_marked(form)]
        except Conflict as error:
            db.session.rollback()
            # Why the clinic cannot enrol, and what is wrong with the fields too: one round trip fixes both.
            fields = enrolment.enrolment_problems(
                form.display_name.data or "",
                form.phone.data or "",
                form.timezone.data or "",
                form.email.data,
                form.phase.data or "",
            )
            problems = [error.detail, *put_problems(form, fields)]
        else:
            patient = enrolled.patient
            number = phones.readable(patient.phone, current_user.clinic.country)
            flash(
                f"{patient.display_name} is enrolled. The invitation text is on its way to {number}: "
                "its one-time link lets them set a password.",
                "success",
            )
            return _to_patient(patient.id, "texts")
    elif form.is_submitted():
        problems = [correct_marked(form)]
    status = 422 if problems else 200
    return render("clinic/enrol.html", status, form=form, problems=problems)


# A check-in taken in clinic (API.md POST /clinic/patients/{id}/checkins)


def _instrument(name: str | None) -> Any:
    try:
        return get_instrument(name or PHQ9.name)
    except UnknownInstrument:
        return PHQ9


@bp.route("/patients/<patient_id>/checkins/new", methods=["GET", "POST"])
@staff_required
def clinic_checkin(patient_id: str) -> ResponseReturnValue:
    """The patient's answers as given in clinic, at the time they were given; item 9 is handled at once."""
    patient = scope.get_patient_for_staff(current_user, patient_id)
    instrument = _instrument(request.args.get("instrument"))
    zone = _zone()
    form_class = clinic_checkin_form(instrument)
    form = form_class(data=None if request.method == "POST" else {"taken_at": to_local_input(clock.now(), zone)})
    problems: list[str] = []
    if form.validate_on_submit():
        difficulty = form["difficulty"].data if "difficulty" in form else None
        checkin_id = form.checkin_id(patient.id)
        if checkin_id is not None and checkin_queries.find_own(patient, checkin_id) is not None:
            flash(f"This {instrument.title} was saved already.")
            return _to_patient(patient.id, "outcome")
        try:
            taken_at = _moment(form.taken_at.data, zone, "taken_at")
            result = checkins.submit(
                patient,
                instrument.name,
                form.answers(),
                difficulty,
                "clinic",
                taken_at=taken_at,
                entered_by=current_user,
                checkin_id=checkin_id,
            )
        except Invalid as error:
            db.session.rollback()
            problems = _checkin_problems(form, error)
        except IntegrityError:
            # The same form sent twice at once: the other request stored it first.
            db.session.rollback()
            if checkin_id is None or checkin_queries.find_own(patient, checkin_id) is None:
                raise
            flash(f"This {instrument.title} was saved already.")
            return _to_patient(patient.id, "outcome")
        else:
            checkin = result.checkin
            if result.alert is not None:
                flash(
                    f"{instrument.title} {checkin.total} saved. Item 9 was answered above 0: a safety alert is open "
                    "and the on-call contact is being texted. Follow it up below.",
                    "warning",
                )
                return _to_patient(patient.id, f"alert-{result.alert.id}")
            flash(f"{instrument.title} {checkin.total} saved, taken {local_time.wall_clock(checkin.taken_at, zone)}.")
            return _to_patient(patient.id, "outcome")  # the latest score, first on the page
    elif form.is_submitted():
        problems = [correct_marked(form)]
    return render(
        "clinic/checkin.html",
        422 if problems else 200,
        patient=patient,
        form=form,
        instrument=instrument,
        instruments=INSTRUMENTS.values(),
        problems=problems,
    )


def _checkin_problems(form: FlaskForm, error: Invalid) -> list[str]:
    """Each problem beside its question ("answers[3]" is question 4); those of no question above the form."""
    renamed: dict[str, str] = {}
    for problem in error.problems:
        if problem.field.startswith(ANSWER_PREFIX) and problem.field.endswith("]"):
            index = problem.field[len(ANSWER_PREFIX) : -1]
            if index.isdigit():
                renamed[problem.field] = f"item{int(index) + 1}"
    unanswered = []
    for problem in error.problems:
        name = renamed.get(problem.field)
        if name is not None and name in form and not form[name].errors:
            form[name].errors = ["Choose an answer to this question."]
            unanswered.append(name.removeprefix("item"))
    others = put_problems(form, [p for p in error.problems if p.field not in renamed])
    if unanswered:
        many = len(unanswered) > 1
        others.append(
            f"{'Questions' if many else 'Question'} {', '.join(unanswered)} {'need' if many else 'needs'} an answer."
        )
    return others or [correct_marked(form)]


# A booster request raised by a clinician (API.md POST /clinic/patients/{id}/booster-requests)


@bp.route("/patients/<patient_id>/booster-requests", methods=["POST"])
@staff_required
def raise_booster(patient_id: str) -> ResponseReturnValue:
    patient = scope.get_patient_for_staff(current_user, patient_id)
    form = RaiseBoosterForm(prefix="raise")
    if not form.validate_on_submit():
        return patient_page(patient.id, 422, forms={"raise": form}, problems={"raise": ["Please try again."]})
    try:
        boosters.raise_request(patient, "clinician", current_user, form.reason.data)
    except Invalid as error:
        db.session.rollback()
        others = put_problems(form, error.problems)
        return patient_page(patient.id, 422, forms={"raise": form}, problems={"raise": others or ["Say why."]})
    except Conflict as error:
        db.session.rollback()
        return patient_page(patient.id, 409, conflict=("requests", error.detail))
    flash("Booster request raised: decide on it here.", landing_category("booster"))
    return _to_patient(patient.id, "booster")


# Infusions: the visit form (record as given, correct), and moving or cancelling a booked one


def _visit_defaults(row: Infusion, patient: Patient, zone: tzinfo, giving: bool) -> dict[str, Any]:
    """The form filled with what is stored; a booked one given now starts from the usual dose and the weight
    of the last visit, for the clinician to check and change."""
    moment = (clock.now() if giving else row.given_at) or clock.now()
    weight = row.weight_kg if row.weight_kg is not None or not giving else course_queries.latest_weight(patient)
    ride_home = "" if row.ride_home_confirmed is None else ("yes" if row.ride_home_confirmed else "no")
    return {
        "kind": row.kind,
        "status": "given",
        "when": to_local_input(moment, zone),
        "dose_mg_per_kg": str(row.dose_mg_per_kg if row.dose_mg_per_kg is not None else DEFAULT_DOSE_MG_PER_KG),
        "weight_kg": str(weight) if weight is not None else None,
        "duration_min": str(row.duration_min if row.duration_min is not None else DEFAULT_DURATION_MIN),
        **{name: str(reading) if reading else None for name, reading in row.readings.items()},
        **{name: str(getattr(row, name)) if getattr(row, name) is not None else None for name in NUMBER_LIMITS},
        "observed_min": str(row.observed_min) if row.observed_min is not None else None,
        "ride_home_confirmed": ride_home,
        "notes": row.notes,
    }


def _visit_changes(form: VisitForm, row: Infusion, zone: tzinfo, giving: bool) -> dict[str, Any]:
    """The visit form as course.update_infusion takes it. The time is sent only when it was changed from the
    minute the form showed, so a correction of the dose does not move the visit by its seconds."""
    changes = form.visit_values()
    if giving:
        changes["status"] = "given"
        changes["given_at"] = _moment(form.when.data, zone, "given_at")
    elif row.given_at is None or form.when.data != to_local_input(row.given_at, zone):
        changes["given_at"] = _moment(form.when.data, zone, "given_at")
    return changes


def _infusion_page(
    row: Infusion, patient: Patient, mode: str, status: int = 200, **forms_and_problems: Any
) -> tuple[str, int]:
    zone = _zone()
    context: dict[str, Any] = {"problems": [], "asking": False, "conflict": None, **forms_and_problems}
    if mode in ("given", "correct") and "form" not in context:
        context["form"] = VisitForm(formdata=None, data=_visit_defaults(row, patient, zone, mode == "given"))
    if "form" in context:
        # CLINICAL.md §7: a check beside the reading: a correction's stored readings by the level they were
        # judged by, a visit being given by the clinic's level now.
        hold_at = row.hold_at if mode == "correct" else current_user.clinic.bp_hold_at
        mark_cautions(context["form"], hold_at)
    if mode == "change":
        scheduled = to_local_input(row.scheduled_for, zone) if row.scheduled_for is not None else None
        context.setdefault("reschedule", RescheduleForm(formdata=None, prefix="move", data={"when": scheduled}))
        context.setdefault("cancel", CancelInfusionForm(formdata=None, prefix="cancel"))
    if mode in ("given", "correct"):
        context["to_review"] = medicines.to_review_for(patient)  # CLINICAL.md §7: review, never advice
    return render("clinic/infusion.html", status, infusion=row, patient=patient, mode=mode, **context)


def _saved(row: Infusion, result: course.InfusionResult, message: str) -> Response:
    if result.completed_request is not None:
        message += " It completes the open booster request."
    if result.phase_change is not None:
        message += f" Induction is complete: the patient is now {result.phase_change.to_phase.replace('_', ' ')}."
    flash(message, landing_category(f"infusion-{row.id}"))
    return _to_patient(row.patient_id, f"infusion-{row.id}")


def _visit(infusion_id: str, mode: str) -> ResponseReturnValue:
    """The visit form: a booked infusion recorded as given (mode "given"), or a given one corrected."""
    row, patient = course_queries.infusion_for_staff(current_user, infusion_id)
    wanted = "scheduled" if mode == "given" else "given"
    if row.status != wanted:
        what = {"given": "It was given already", "cancelled": "It was cancelled", "scheduled": "It is booked"}
        conflict = f"{what[row.status]}: this page shows it as it stands."
        return _infusion_page(row, patient, "show", 409, conflict=conflict)
    if request.method == "GET":
        return _infusion_page(row, patient, mode)
    form = VisitForm()
    if not form.validate_on_submit():
        return _infusion_page(row, patient, mode, 422, form=form, problems=["Please try again."])
    zone = _zone()
    try:
        changes = _visit_changes(form, row, zone, mode == "given")
        reason = form.reason.data if mode == "correct" else None
        result = course.update_infusion(row, changes, current_user, reason=reason, confirmed=form.confirmed.data or "")
    except Invalid as error:
        db.session.rollback()
        others = put_problems(form, error.problems, VisitForm.SERVICE_NAMES)
        return _infusion_page(row, patient, mode, 422, form=form, problems=others or [correct_marked(form)])
    except course.NeedsConfirmation as ask:
        db.session.rollback()
        form.confirmed.data = ask.key
        show_warnings(form, ask.warnings, VisitForm.SERVICE_NAMES)
        return _infusion_page(row, patient, mode, 422, form=form, asking=True)
    except Conflict as error:
        db.session.rollback()
        return _infusion_page(row, patient, "show", 409, conflict=error.detail)
    return _saved(row, result, "Infusion recorded as given." if mode == "given" else "Infusion record corrected.")


@bp.route("/infusions/<infusion_id>/given", methods=["GET", "POST"])
@staff_required
def infusion_given(infusion_id: str) -> ResponseReturnValue:
    """Record a booked infusion as given: the whole visit form, filled in, never a one-click change."""
    return _visit(infusion_id, "given")


@bp.route("/infusions/<infusion_id>/correct", methods=["GET", "POST"])
@staff_required
def infusion_correct(infusion_id: str) -> ResponseReturnValue:
    """Correct what was recorded of a given infusion, with a reason (the old values stay in the audit log)."""
    return _visit(infusion_id, "correct")


@bp.route("/infusions/<infusion_id>/change")
@staff_required
def infusion_change(infusion_id: str) -> ResponseReturnValue:
    """Move a booked infusion to another time, or cancel it."""
    row, patient = course_queries.infusion_for_staff(current_user, infusion_id)
    if row.status != "scheduled":
        return _infusion_page(
            row, patient, "show", 409, conflict="It is no longer booked: this page shows it as it is."
        )
    return _infusion_page(row, patient, "change")


def _change(infusion_id: str, key: str, act: Any) -> ResponseReturnValue:
    row, patient = course_queries.infusion_for_staff(current_user, infusion_id)
    form = RescheduleForm(prefix="move") if key == "reschedule" else CancelInfusionForm(prefix="cancel")
    if not form.validate_on_submit():
        return _infusion_page(row, patient, "change", 422, **{key: form, f"{key}_problems": ["Please try again."]})
    try:
        message = act(row, form)
    except Invalid as error:
        db.session.rollback()
        others = put_problems(form, error.problems, {"scheduled_for": "when"})
        problems = others or [correct_marked(form)]
        return _infusion_page(row, patient, "change", 422, **{key: form, f"{key}_problems": problems})
    except Conflict as error:
        db.session.rollback()
        return _infusion_page(row, patient, "change", 409, conflict=error.detail)
    flash(message, landing_category(f"infusion-{row.id}"))
    return _to_patient(row.patient_id, f"infusion-{row.id}")


@bp.route("/infusions/<infusion_id>/reschedule", methods=["POST"])
@staff_required
def infusion_reschedule(infusion_id: str) -> ResponseReturnValue:
    def act(row: Infusion, form: RescheduleForm) -> str:
        if form.when.data is None:
            raise Invalid.one("scheduled_for", "choose the new date and time")
        when = _moment(form.when.data, _zone(), "scheduled_for")
        course.update_infusion(row, {"scheduled_for": when}, current_user)
        assert when is not None  # checked above
        return f"Infusion moved to {local_time.wall_clock(when, _zone())}."

    return _change(infusion_id, "reschedule", act)


@bp.route("/infusions/<infusion_id>/cancel", methods=["POST"])
@staff_required
def infusion_cancel(infusion_id: str) -> ResponseReturnValue:
    def act(row: Infusion, form: CancelInfusionForm) -> str:
        course.update_infusion(row, {"status": "cancelled"}, current_user, reason=form.reason.data)
        return "Booked infusion cancelled."

    return _change(infusion_id, "cancel", act)
