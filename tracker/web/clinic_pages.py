"""The clinic's pages to read: the attention queue (home), the patient list, a patient's page.

Views parse input, call a service, render; each GET commits once, for its audit event.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from flask import request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm

from tracker import clock, local_time
from tracker.errors import MAX_PAGE
from tracker.services.clinic import attention, patient_list
from tracker.services.clinic import patient_page as patient_record
from tracker.services.side_effects import reports as side_effect_reports
from tracker.web import bp_chart, charts, patient_charts, time_axis
from tracker.web.clinic_base import bp, render
from tracker.web.clinic_day_forms import RaiseBoosterForm
from tracker.web.clinic_forms import (
    AcknowledgeForm,
    ApproveForm,
    CancelForm,
    DeclineForm,
    InfusionForm,
    PatientFilterForm,
    PhaseForm,
    ReminderForm,
    ScheduleForm,
    next_morning,
)
from tracker.web.flag_form import PREFIX as FLAG_PREFIX
from tracker.web.flag_form import ClearFlagForm
from tracker.web.forms import ConfirmForm
from tracker.web.medicine_forms import page_forms as medicine_page_forms
from tracker.web.roles import staff_required
from tracker.web.screener_form import ScreenerResolveForm

PER_PAGE = 25


@bp.route("/")
@staff_required
def home() -> ResponseReturnValue:
    """The attention queue: who needs a clinician now, most pressing first, a page at a time."""
    number = request.args.get("page", default=1, type=int) or 1
    queue = attention.queue_page(current_user, clock.now(), page=number if 1 <= number <= MAX_PAGE else 1)

    def page_url(to: int) -> str:
        return url_for("clinic.home", page=to)

    return render("clinic/queue.html", queue=queue, items=queue.items, per_page=attention.PER_PAGE, page_url=page_url)


def _filters(form: PatientFilterForm) -> dict[str, Any]:
    """The list's query from the form; a value that is not one of the choices is simply ignored."""
    form.validate()
    attention_choice = None if form.attention.errors else {"yes": True, "no": False}.get(form.attention.data or "")
    return {
        "q": None if form.q.errors else form.q.data,
        "phase": None if form.phase.errors else form.phase.data or None,
        "needs_attention": attention_choice,
        "sort": "name" if form.sort.errors else form.sort.data or "name",
        "descending": form.order.data == "desc",
    }


@bp.route("/patients")
@staff_required
def patients() -> ResponseReturnValue:
    """The clinic's patients: search, filter, sort and page, all done by patient_list in one query (audited)."""
    form = PatientFilterForm(formdata=request.args)
    filters = _filters(form)
    page = form.page.data if not form.page.errors and form.page.data and form.page.data > 0 else 1
    if form.q.errors:
        # A search the clinician typed but that cannot be run lists no one: the whole list under a search box
        # would read as "everyone matched".
        rows: list[patient_list.PatientSummary] = []
        more = False
    else:
        rows, more = patient_list.list_for_staff(
            current_user, limit=PER_PAGE, offset=(page - 1) * PER_PAGE, page=page, **filters
        )

    def page_url(number: int) -> str:
        args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "page" and v}
        return url_for("clinic.patients", **{**args, "page": number})

    html = render("clinic/patients.html", form=form, rows=rows, page=page, more=more, page_url=page_url)
    return html


def default_forms(record: patient_record.PatientRecord) -> dict[str, FlaskForm]:
    """Every form of the patient's page, empty or filled with what is stored now."""
    zone = local_time.zone_of(record.clinic.timezone)
    forms: dict[str, FlaskForm] = {
        f"ack:{alert.id}": AcknowledgeForm(formdata=None, prefix=ack_prefix(alert.id))
        for alert in record.open_alerts
        if alert.status == "open"
    }
    for alert in record.open_alerts:
        if alert.kind == "safety":
            forms[f"resolve:{alert.id}"] = ScreenerResolveForm(formdata=None, prefix=resolve_prefix(alert.id))
    if (req := record.open_request) is not None:
        version = {"version": str(req.version)}
        forms["approve"] = ApproveForm(formdata=None, prefix="approve", data=version)
        forms["schedule"] = ScheduleForm(
            formdata=None, prefix="schedule", data={**version, "scheduled_for": next_morning(clock.now(), zone)}
        )
        forms["decline"] = DeclineForm(formdata=None, prefix="decline", data=version)
        forms["cancel"] = CancelForm(formdata=None, prefix="cancel", data=version)
    # The kind the patient's phase usually calls for; the clinician changes it when it is another.
    kind = {"induction": "induction", "maintenance": "maintenance"}.get(record.patient.phase, "booster")
    forms["infusion"] = InfusionForm(formdata=None, prefix="infusion", data={"kind": kind})
    if record.open_request is None:
        forms["raise"] = RaiseBoosterForm(formdata=None, prefix="raise")
    forms["phase"] = PhaseForm(formdata=None, prefix="phase", data={"phase": record.patient.phase})
    patient, clinic = record.patient, record.clinic
    weekday = patient.reminder_weekday if patient.reminder_weekday is not None else clinic.reminder_weekday
    forms["reminders"] = ReminderForm(
        formdata=None,
        prefix="reminders",
        data={
            "enabled": patient.reminders_enabled,
            "weekday": str(weekday),
            "local_time": patient.reminder_local_time or clinic.reminder_local_time,
            "timezone": patient.timezone,
        },
    )
    forms["confirm"] = ConfirmForm(formdata=None)
    forms["clear_flag"] = ClearFlagForm(formdata=None, prefix=FLAG_PREFIX)
    forms.update(medicine_page_forms(record.medicines.rows))
    return forms


def ack_prefix(alert_id: Any) -> str:
    return f"ack-{str(alert_id)[:8]}"


def resolve_prefix(alert_id: Any) -> str:
    return f"resolve-{str(alert_id)[:8]}"


def patient_page(
    patient_id: Any,
    status: int = 200,
    forms: dict[str, FlaskForm] | None = None,
    problems: dict[str, list[str]] | None = None,
    conflict: tuple[str, str] | None = None,
    asking: set[str] | None = None,
) -> tuple[str, int]:
    """The patient's page, with a form that failed (its errors beside its fields) or a conflict to explain.

    `conflict` is (section, message): the page shows the record as it is now, and why nothing was saved.
    `asking` names the forms whose unusual values wait for the clinician's confirmation.
    """
    record = patient_record.read(current_user, patient_id)
    now = clock.now()
    zone = local_time.zone_of(record.clinic.timezone)
    all_forms = default_forms(record)
    all_forms.update(forms or {})
    # An unknown ?range= is ignored: the default range is drawn.
    visits = bp_chart.visits_of(record.infusions)  # CLINICAL.md §7: blood pressure on the same time axis
    views = patient_charts.charts_of(
        record, now, zone, time_axis.parse_range(request.args.get("range")), also=bp_chart.moments(visits)
    )
    pressure = bp_chart.bp_chart(visits, views.axis, record.clinic.bp_hold_at) if visits else None
    html = render(
        "clinic/patient.html",
        status,
        record=record,
        patient=record.patient,
        outcome=record.outcome,
        chart=views.trajectory,
        charts=views,
        bp_chart=pressure,
        heat=record.heatmap(),
        forms=all_forms,
        problems=problems or {},
        conflict=conflict,
        asking=asking or set(),
        ack_prefix=ack_prefix,
        zone=zone,
        legend_points=charts.legend_points,
        side_effects=side_effect_reports.reports_of_patient(record.patient.id),  # CLINICAL.md §7, per infusion
    )
    return html


@bp.route("/patients/<patient_id>")
@staff_required
def patient(patient_id: str) -> ResponseReturnValue:
    """A patient's trajectory, symptoms, outcome, and everything a clinician can do for them; audited."""
    return patient_page(patient_id)


def trajectory_of(record: patient_record.PatientRecord, now: datetime, zone: tzinfo) -> charts.Chart:
    """The record's PHQ-9 trajectory beside its infusions and requests, as the chart draws it (default range)."""
    return patient_charts.charts_of(record, now, zone).trajectory
