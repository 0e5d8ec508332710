"""The patient's own pages: the PHQ-9 check-in, its result, the crisis page, the history, asking for a booster
and their reminders (through the services the API's /me and /booster-requests use)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, time, tzinfo
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response
from wtforms import HiddenField, RadioField
from wtforms.fields.choices import SelectChoice

from tracker import local_time
from tracker import reminders as reminder_rules
from tracker.errors import Conflict, Invalid, TooMany
from tracker.extensions import db
from tracker.instruments import GAD7, INSTRUMENTS, PHQ9, Instrument, severity
from tracker.instruments import schedule as instrument_schedule
from tracker.models import CheckIn, Patient
from tracker.services.accounts import patients as patient_settings
from tracker.services.accounts.patients import patient_of
from tracker.services.alerts import told
from tracker.services.boosters import queries as booster_queries
from tracker.services.boosters import requests as boosters
from tracker.services.checkins import due as checkins_due
from tracker.services.checkins import queries as checkin_queries
from tracker.services.checkins import submit as checkins
from tracker.services.course import queries as course_queries
from tracker.web import reminder_words
from tracker.web.landing import land
from tracker.web.patient_forms import BoosterRequestForm, MyRemindersForm
from tracker.web.roles import patient_required

bp = Blueprint("patient", __name__, url_prefix="/me")

# Web check-in ids are derived from the patient and the form's one-time key, so a resent form finds its
# first check-in, and no key one patient sends can ever name another patient's check-in.
WEB_CHECKIN_NAMESPACE = uuid.UUID("0b6f1c4e-3f55-4d7e-9a8e-6c1d2f7a9b30")
ANSWER_FIELD = re.compile(r"answers\[(\d+)\]")


def _answer(raw: object) -> int | str | None:
    """The form sends strings; anything that is not a whole number is passed on as sent, for the service to
    refuse beside its question (read as None, a bad difficulty would pass as skipped and be lost)."""
    if raw is None or raw == "":
        return None
    try:
        return int(str(raw))
    except ValueError:
        return str(raw)


class CheckInForm(FlaskForm):
    """PHQ-9 answers as radio groups; parsing only: checkins.submit() decides what is valid."""

    key = HiddenField(default=lambda: str(uuid.uuid4()))
    difficulty = RadioField(
        PHQ9.difficulty_item.text if PHQ9.difficulty_item else "",
        choices=[SelectChoice(o.value, o.text) for o in PHQ9.difficulty_options],
        coerce=_answer,
        validate_choice=False,
    )


for _item in PHQ9.items:
    setattr(
        CheckInForm,
        f"item{_item.number}",
        RadioField(
            _item.text,
            choices=[SelectChoice(o.value, o.text) for o in PHQ9.options],
            coerce=_answer,
            validate_choice=False,
        ),
    )


class Gad7Form(FlaskForm):
    """GAD-7 answers as radio groups (no difficulty question); checkins.submit() decides what is valid."""

    key = HiddenField(default=lambda: str(uuid.uuid4()))


for _item in GAD7.items:
    setattr(
        Gad7Form,
        f"item{_item.number}",
        RadioField(
            _item.text,
            choices=[SelectChoice(o.value, o.text) for o in GAD7.options],
            coerce=_answer,
            validate_choice=False,
        ),
    )


def _zone(patient: Patient) -> tzinfo:
    return local_time.zone_of(patient.timezone)


def _page(template: str, patient: Patient, status: int = 200, **context: Any) -> tuple[str, int]:
    """Render with the patient's time zone and the shared wording helpers."""
    zone = _zone(patient)

    def local_time_of(moment: datetime) -> str:
        return local_time.wall_clock(moment, zone)

    def local_day(moment: datetime) -> str:
        return local_time.day(moment, zone)

    def short_day(moment: datetime) -> str:
        return local_time.short_day(moment, zone)

    def max_total(checkin: CheckIn) -> int:
        return INSTRUMENTS[checkin.instrument].max_total

    helpers = {
        "local_time": local_time_of,
        "local_day": local_day,
        "short_day": short_day,
        "severity_words": severity.plain_words,
        "max_total": max_total,
        "instruments": INSTRUMENTS,
    }
    return render_template(template, patient=patient, **helpers, **context), status


def render_form(
    patient: Patient,
    form: FlaskForm,
    status: int = 200,
    problems: list[str] | None = None,
    instrument: Instrument = PHQ9,
    **context: Any,
) -> tuple[str, int]:
    """The check-in form; shared with the one-time link page (tracker/web/checkin_link.py), which adds context."""
    questions = [(item, form[f"item{item.number}"]) for item in instrument.items]
    context.setdefault("due", [])
    return _page(
        "patient/checkin.html",
        patient,
        status,
        form=form,
        instrument=instrument,
        questions=questions,
        problems=problems or [],
        **context,
    )


def show_problems(form: FlaskForm, error: Invalid) -> list[str]:
    """Put each of the service's problems beside its question; return any that belong to no question."""
    others = []
    for problem in error.problems:
        match = ANSWER_FIELD.fullmatch(problem.field)
        if match and f"item{int(match[1]) + 1}" in form:
            form[f"item{int(match[1]) + 1}"].errors.append("Please choose an answer to this question.")
        elif problem.field == "difficulty":
            form.difficulty.errors.append("Please choose one of these answers, or skip this question.")
        else:
            others.append(problem.message)
    return others


def _after_submit(checkin: CheckIn) -> Response:
    if checkins.safety_for(checkin) is not None:
        return redirect(url_for("patient.safety", checkin_id=checkin.id), code=303)
    return redirect(url_for("patient.result", checkin_id=checkin.id), code=303)


def _checkin_id(patient: Patient, key: object) -> uuid.UUID | None:
    try:
        token = uuid.UUID(str(key))
    except ValueError:
        return None  # no usable key: the check-in gets a random id, as from any other source
    return uuid.uuid5(WEB_CHECKIN_NAMESPACE, f"{patient.id}:{token}")


@bp.route("/checkin", methods=["GET", "POST"])
@patient_required
def checkin() -> ResponseReturnValue:
    return _checkin(CheckInForm(), PHQ9)


@bp.route("/checkin/gad7", methods=["GET", "POST"])
@patient_required
def checkin_gad7() -> ResponseReturnValue:
    """CLINICAL.md §7: the GAD-7, where the clinic's schedule asks it in the patient's phase."""
    me = patient_of(current_user)
    schedule = instrument_schedule.effective(me.clinic.instrument_schedule)
    if GAD7.name not in instrument_schedule.asked_in(schedule, me.phase):
        abort(404)
    return _checkin(Gad7Form(), GAD7)


def _checkin(form: FlaskForm, instrument: Instrument) -> ResponseReturnValue:
    """One instrument's check-in page: the questions, then its result; the page names what else is due."""
    me = patient_of(current_user)
    due = checkins_due.due_for(me)
    if not form.validate_on_submit():  # with no validators of its own, only the CSRF token can fail
        return render_form(me, form, 400 if form.is_submitted() else 200, instrument=instrument, due=due)
    checkin_id = _checkin_id(me, form.key.data)
    if checkin_id is not None and (earlier := checkin_queries.find_own(me, checkin_id)) is not None:
        return _after_submit(earlier)  # the same form sent again (a retry on a bad network): nothing doubles
    # Unanswered questions arrive as None; submit() refuses them, one problem per question.
    answers = [form[f"item{item.number}"].data for item in instrument.items]
    difficulty = form.difficulty.data if instrument.difficulty_item is not None else None
    try:
        result = checkins.submit(me, instrument.name, answers, difficulty, "web", checkin_id=checkin_id)
    except Invalid as error:
        problems = show_problems(form, error)
        return render_form(me, form, 422, problems, instrument=instrument, due=due)
    except TooMany as error:
        page, status = render_form(me, form, 429, [error.detail], instrument=instrument, due=due)
        return page, status, {"Retry-After": str(error.retry_after)}
    except IntegrityError:
        # The same form sent twice at once: the other request stored it first.
        db.session.rollback()
        earlier = checkin_queries.find_own(me, checkin_id) if checkin_id else None
        if earlier is None:
            raise
        return _after_submit(earlier)
    return _after_submit(result.checkin)


@bp.route("/checkins/<checkin_id>")
@patient_required
def result(checkin_id: str) -> ResponseReturnValue:
    me = patient_of(current_user)
    checkin = checkin_queries.own_checkin(me, checkin_id)
    return result_page(me, checkin.id, next_due=checkins_due.asks_after(me, checkin.instrument))


def result_page(
    patient: Patient, checkin_id: str | uuid.UUID, next_due: str | None = None, next_url: str | None = None
) -> tuple[str, int]:
    """A check-in's result, and the questionnaire due next, if any (at `next_url`: the one-time link page gives
    a link of its own); shared with the one-time link page."""
    summary = checkin_queries.summary(patient, checkin_id)
    instrument = INSTRUMENTS[summary.checkin.instrument]
    return _page(
        "patient/result.html",
        patient,
        summary=summary,
        checkin=summary.checkin,
        instrument=instrument,
        meaningful_change=checkin_queries.MEANINGFUL_CHANGE,
        next_due=INSTRUMENTS[next_due] if next_due else None,
        next_url=next_url or (url_for(f"patient.checkin_{next_due}") if next_due else None),
    )


@bp.route("/checkins/<checkin_id>/safety")
@patient_required
def safety(checkin_id: str) -> ResponseReturnValue:
    me = patient_of(current_user)
    return safety_page(me, checkin_queries.own_checkin(me, checkin_id))


def safety_page(patient: Patient, checkin: CheckIn) -> tuple[str, int]:
    """The crisis page of a check-in with a positive item 9; shared with the one-time link page.

    Its call and text buttons are the clinic's crisis resources (CLINICAL.md §3), each as it can be reached.
    """
    response = checkins.safety_for(checkin)
    if response is None:
        abort(404)  # the crisis page belongs only to check-ins with a positive item 9 (CLINICAL.md §3)
    return _page(
        "patient/safety.html",
        patient,
        checkin=checkin,
        safety=response,
        clinic=patient.clinic,
        clinic_told=told.clinic_told(checkin),
    )


@bp.route("/history")
@patient_required
def history() -> ResponseReturnValue:
    me = patient_of(current_user)
    page = checkin_queries.history(me, request.args.get("page", 1, type=int))
    return _page("patient/history.html", me, page=page)


# The services' field problems in the patient's words, beside the field they belong to.
REASON_WORDS = "Please tell us in a few words what has changed (at most 500 characters)."
REMINDER_FIELDS = {"reminders.local_time": "local_time", "reminders.enabled": "enabled"}
CHOOSE_A_TIME = "Please choose a time for your reminder, such as 18:30."


@bp.route("/booster", methods=["GET", "POST"])
@patient_required
def booster() -> ResponseReturnValue:
    """Ask the clinic for a booster (the API's POST /booster-requests): one open request at a time."""
    me = patient_of(current_user)
    form = BoosterRequestForm()
    if not form.validate_on_submit():
        return _booster_page(me, form, status=400 if form.is_submitted() else 200)
    try:
        boosters.raise_request(me, "patient", current_user, form.reason.data)
    except Invalid:
        form.reason.errors.append(REASON_WORDS)  # the one field: empty or too long
        return _booster_page(me, form, status=422)
    except Conflict:
        # Sent from a second tab, or twice: the first request stands and the clinic already sees it.
        return _booster_page(me, form, status=409, message="You have already asked; your clinic will be in touch.")
    return land("Your clinic has your request and will be in touch.", "home.patient", "booster", code=303)


def _booster_page(
    patient: Patient, form: BoosterRequestForm, status: int, message: str | None = None
) -> tuple[str, int]:
    """The latest request as GET /booster-requests tells it, with the visit booked for it, if any.

    Only an open request (open, approved, scheduled) stands in the way of asking again, as raise_request rules.
    """
    latest = next(iter(booster_queries.requests_for_patient(patient)), None)
    booked = None
    if latest is not None and latest.status == "scheduled":
        infusion_id = booster_queries.with_infusion(latest).infusion_id
        booked = next((i for i in course_queries.infusions_for_patient_view(patient) if i.id == infusion_id), None)
    return _page(
        "patient/booster.html",
        patient,
        status,
        form=form,
        latest=latest,
        waiting=latest if latest is not None and latest.is_open else None,
        booked_for=booked.scheduled_for if booked is not None else None,
        message=message,
    )


@bp.route("/reminders", methods=["GET", "POST"])
@patient_required
def reminders() -> ResponseReturnValue:
    """Turn the weekly reminder on or off and choose its time (the API's PATCH /me)."""
    me = patient_of(current_user)
    form = MyRemindersForm(data={"enabled": me.reminders.enabled, "local_time": me.reminders.local_time})
    if not form.validate_on_submit():
        return _reminders_page(me, form, 422 if form.is_submitted() else 200)
    if form.enabled.data and form.local_time.data is None:
        # The field shows the time in use; emptied while reminders stay on, it asks for nothing we could keep.
        form.local_time.errors.append(CHOOSE_A_TIME)
        return _reminders_page(me, form, 422)
    try:
        patient_settings.update_settings(
            me, reminders_enabled=form.enabled.data, reminder_local_time=form.local_time.data
        )
    except Invalid as error:
        for problem in error.problems:
            form[REMINDER_FIELDS.get(problem.field, "local_time")].errors.append(problem.message)
        return _reminders_page(me, form, 422)
    saved, quiet = me.reminders, (me.clinic.quiet_start, me.clinic.quiet_end)
    if saved.enabled and reminder_rules.in_quiet_hours(saved.local_time, *quiet):
        # Accepted, as PATCH /me accepts it; the reminder job moves a due time in quiet hours to their end.
        said = (
            f"Your reminders are saved. {_clock(saved.local_time)} is within your clinic's quiet hours "
            f"({_clock(quiet[0])} to {_clock(quiet[1])}), so your reminder will come at {_clock(quiet[1])}."
        )
    else:
        said = "Your reminders are saved."
    return land(said, "home.patient", "reminders", code=303)


def _clock(moment: time) -> str:
    return reminder_words.clock(moment)  # the time box's format, so the page says every time one way


def _reminders_page(patient: Patient, form: MyRemindersForm, status: int) -> tuple[str, int]:
    start, end = patient.clinic.quiet_start, patient.clinic.quiet_end
    quiet_hours = None if start == end else (_clock(start), _clock(end))  # start == end: no quiet hours
    schedule = instrument_schedule.effective(patient.clinic.instrument_schedule)
    return _page(
        "patient/reminders.html",
        patient,
        status,
        form=form,
        quiet_hours=quiet_hours,
        how_often=reminder_words.reminder_sentence(schedule, patient.phase),
        zone_words=reminder_words.zone(patient.timezone),
    )
