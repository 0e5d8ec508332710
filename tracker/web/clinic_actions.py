"""What a clinician does from a patient's page: each a POST that calls one service, commits once, and
redirects back (POST/redirect/GET), or shows the page again with the refusal beside its field (422) or
with what changed under it (409).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from tracker import local_time
from tracker.errors import Conflict, Invalid
from tracker.extensions import db
from tracker.infusions import out_of_range
from tracker.services import scope
from tracker.services.accounts import patients
from tracker.services.alerts import queries as alert_queries
from tracker.services.alerts import writes as alerts
from tracker.services.boosters import booking
from tracker.services.boosters import queries as booster_queries
from tracker.services.boosters import requests as boosters
from tracker.services.course import writes as course
from tracker.web.clinic_base import bp, landing_category
from tracker.web.clinic_day_forms import show_warnings
from tracker.web.clinic_forms import (
    AcknowledgeForm,
    ApproveForm,
    CancelForm,
    DeclineForm,
    InfusionForm,
    NotALocalTime,
    OutOfRange,
    PhaseForm,
    ReminderForm,
    ScheduleForm,
    correct_marked,
    mark_cautions,
    put_problems,
    to_utc,
)
from tracker.web.clinic_pages import ack_prefix, patient_page, resolve_prefix
from tracker.web.roles import staff_required
from tracker.web.screener_form import SCREENER_NAMES, ScreenerResolveForm


def _back(patient_id: uuid.UUID, anchor: str) -> Response:
    return redirect(url_for("clinic.patient", patient_id=patient_id, _anchor=anchor), code=303)


def _attempt(
    patient_id: uuid.UUID,
    key: str,
    form: FlaskForm,
    action: Callable[[], str | tuple[str, str]],
    anchor: str,
    names: dict[str, str] | None = None,
) -> ResponseReturnValue:
    """Run one action: commit and redirect with its message (and where it lands, when the action says), or show
    the page again with why it failed, or with the unusual values to confirm."""
    if not form.validate_on_submit():
        return patient_page(patient_id, 422, forms={key: form}, problems={key: ["Please correct the marked fields."]})
    try:
        outcome = action()
    except course.NeedsConfirmation as ask:
        db.session.rollback()
        form.confirmed.data = ask.key
        show_warnings(form, ask.warnings, names or {})
        return patient_page(patient_id, 422, forms={key: form}, asking={key})
    except Invalid as error:
        db.session.rollback()  # nothing of a refused action is kept
        others = put_problems(form, error.problems, names)
        return patient_page(patient_id, 422, forms={key: form}, problems={key: others or [correct_marked(form)]})
    except Conflict as error:
        db.session.rollback()
        return patient_page(patient_id, 409, conflict=(anchor, error.detail))
    message, anchor = outcome if isinstance(outcome, tuple) else (outcome, anchor)
    flash(message, landing_category(anchor))
    return _back(patient_id, anchor)


# Alerts


@bp.route("/alerts/<alert_id>/acknowledge", methods=["POST"])
@staff_required
def acknowledge(alert_id: str) -> ResponseReturnValue:
    """CLINICAL.md §3: "I am on it": a clinician takes charge of an alert, with an optional note."""
    alert = alert_queries.get_alert_for_staff(current_user, alert_id)
    form = AcknowledgeForm(prefix=ack_prefix(alert.id))

    def act() -> tuple[str, str]:
        alerts.acknowledge(alert, current_user, form.note.data)
        if alert.kind != "safety":
            return "Alert acknowledged.", "alerts"
        # A safety alert stays on the page until resolved: the confirmation shows on its card.
        return "Alert acknowledged: resolve it once followed up.", f"alert-{alert.id}"

    return _attempt(alert.patient_id, f"ack:{alert.id}", form, act, "alerts")


@bp.route("/alerts/<alert_id>/resolve", methods=["POST"])
@staff_required
def resolve(alert_id: str) -> ResponseReturnValue:
    """CLINICAL.md §3: the follow-up of a safety alert recorded: risk level, what was done, a note."""
    alert = alert_queries.get_alert_for_staff(current_user, alert_id)
    form = ScreenerResolveForm(prefix=resolve_prefix(alert.id))
    key = f"resolve:{alert.id}"
    # CLINICAL.md §7: the clinician sees the screener's suggested level for these answers before it is saved.
    suggestion = form.suggestion() if form.validate_on_submit() else None
    if suggestion is not None and form.seen_suggestion.data != suggestion:
        form.seen_suggestion.data = suggestion
        if not form.risk_level.data:
            form.risk_level.data = suggestion
        return patient_page(alert.patient_id, 422, forms={key: form}, asking={key})

    def act() -> str:
        alerts.resolve(
            alert,
            current_user,
            form.risk_level.data or None,
            form.action.data,
            form.note.data,
            screener=form.given_answers(),
            screener_not_done=form.screener_not_done.data,
        )
        return "Alert resolved."

    return _attempt(alert.patient_id, key, form, act, "alerts", SCREENER_NAMES)


# Booster requests (API.md: approve, schedule, decline, cancel)


@bp.route("/booster-requests/<request_id>/approve", methods=["POST"])
@staff_required
def approve(request_id: str) -> ResponseReturnValue:
    request = booster_queries.get_request_for_staff(current_user, request_id)
    form = ApproveForm(prefix="approve")

    def act() -> str:
        boosters.require_version(request, form.seen_version())
        boosters.approve(request, current_user, form.note.data)
        return "Booster approved. Book it when the date is known."

    return _attempt(request.patient_id, "approve", form, act, "booster")


@bp.route("/booster-requests/<request_id>/schedule", methods=["POST"])
@staff_required
def schedule(request_id: str) -> ResponseReturnValue:
    """Book the booster; the date and time are the clinic's wall clock."""
    request = booster_queries.get_request_for_staff(current_user, request_id)
    form = ScheduleForm(prefix="schedule")

    def act() -> str:
        boosters.require_version(request, form.seen_version())
        if form.scheduled_for.data is None:
            raise Invalid.one("scheduled_for", "choose the date and time of the visit")
        zone = local_time.zone_of(current_user.clinic.timezone)
        try:
            when = to_utc(form.scheduled_for.data, zone)
        except NotALocalTime:
            raise Invalid.one("scheduled_for", f"that time does not exist in {zone} (the clocks change)") from None
        except OutOfRange:
            raise Invalid.one("scheduled_for", local_time.OUT_OF_RANGE) from None
        result = booking.schedule(request, current_user, when)
        texted = "" if result.message is None else " The patient will get a text with the date."
        return f"Booster booked.{texted}"

    return _attempt(request.patient_id, "schedule", form, act, "booster")


@bp.route("/booster-requests/<request_id>/decline", methods=["POST"])
@staff_required
def decline(request_id: str) -> ResponseReturnValue:
    request = booster_queries.get_request_for_staff(current_user, request_id)
    form = DeclineForm(prefix="decline")

    def act() -> str:
        boosters.require_version(request, form.seen_version())
        boosters.decline(request, current_user, form.reason.data or "")
        return "Booster request declined."

    return _attempt(request.patient_id, "decline", form, act, "requests")


@bp.route("/booster-requests/<request_id>/cancel", methods=["POST"])
@staff_required
def cancel(request_id: str) -> ResponseReturnValue:
    request = booster_queries.get_request_for_staff(current_user, request_id)
    form = CancelForm(prefix="cancel")

    def act() -> str:
        boosters.require_version(request, form.seen_version())
        boosters.cancel(request, current_user, form.reason.data or "")
        return "Booster request cancelled, with any visit booked for it."

    return _attempt(request.patient_id, "cancel", form, act, "requests")


# Infusions (course.record_infusion, CLINICAL.md §1 safety checks)


def _infusion_fields(form: InfusionForm) -> dict[str, Any]:
    """The form's values as course.record_infusion takes them. A booster for an open request is booked with
    the request's Schedule action; one given while a request is open completes it (CLINICAL.md §5)."""
    zone = local_time.zone_of(current_user.clinic.timezone)
    when = None
    if form.when.data is not None:
        try:
            when = to_utc(form.when.data, zone)
        except NotALocalTime:
            raise Invalid.one("when", f"that time does not exist in {zone} (the clocks change)") from None
        except OutOfRange:
            field = "given_at" if form.status.data == "given" else "scheduled_for"
            message = out_of_range(field, form.when.data.year >= local_time.EARLIEST.year)
            raise Invalid.one("when", message) from None
    given = form.status.data == "given"
    return {
        **form.visit_values(),
        "status": form.status.data,
        "given_at": when if given else None,
        "scheduled_for": None if given else when,
    }


@bp.route("/patients/<patient_id>/infusions", methods=["POST"])
@staff_required
def record_infusion(patient_id: str) -> ResponseReturnValue:
    patient = scope.get_patient_for_staff(current_user, patient_id)
    form = InfusionForm(prefix="infusion")
    mark_cautions(form, current_user.clinic.bp_hold_at)  # CLINICAL.md §7: shown if the page is shown again

    def act() -> tuple[str, str]:
        fields = _infusion_fields(form)
        # CLINICAL.md §1: a value outside the usual range is saved once confirmed; its check stays beside it.
        result = course.record_infusion(patient, by=current_user, confirmed=form.confirmed.data or "", **fields)
        message = "Infusion recorded." if result.infusion.status == "given" else "Infusion booked."
        if result.completed_request is not None:
            message += " It completes the open booster request."
        if result.phase_change is not None:
            message += f" Induction is complete: the patient is now {result.phase_change.to_phase.replace('_', ' ')}."
        return message, f"infusion-{result.infusion.id}"

    return _attempt(patient.id, "infusion", form, act, "infusions", InfusionForm.SERVICE_NAMES)


# The patient's phase and reminders


@bp.route("/patients/<patient_id>/phase", methods=["POST"])
@staff_required
def change_phase(patient_id: str) -> ResponseReturnValue:
    patient = scope.get_patient_for_staff(current_user, patient_id)
    form = PhaseForm(prefix="phase")

    def act() -> str:
        changed = course.change_phase(patient, form.phase.data or "", current_user, form.reason.data)
        return (
            "The phase is unchanged." if changed is None else f"Phase changed to {changed.to_phase.replace('_', ' ')}."
        )

    return _attempt(patient.id, "phase", form, act, "settings")


@bp.route("/patients/<patient_id>/reminders", methods=["POST"])
@staff_required
def reminders(patient_id: str) -> ResponseReturnValue:
    patient = scope.get_patient_for_staff(current_user, patient_id)
    form = ReminderForm(prefix="reminders")
    names = {"reminders.weekday": "weekday"}

    def act() -> str:
        patients.update_reminders(
            current_user,
            patient,
            enabled=bool(form.enabled.data),
            weekday=int(form.weekday.data or "0"),  # one of the form's choices: validated above
            local_time=form.local_time.data,
            timezone=form.timezone.data,
        )
        return "Reminder settings saved."

    return _attempt(patient.id, "reminders", form, act, "settings", names)
