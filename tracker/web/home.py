"""Where each role lands after logging in."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from tracker import local_time
from tracker.instruments import INSTRUMENTS, PHQ9
from tracker.services.accounts import patients as patient_service
from tracker.services.boosters import queries as booster_queries
from tracker.services.checkins import due as checkins_due
from tracker.services.course import queries as course_queries
from tracker.services.messaging import texts
from tracker.services.side_effects import reports as side_effect_reports

bp = Blueprint("home", __name__)


HOMES = {"patient": "home.patient", "clinician": "clinic.home", "admin": "admin.home"}


def home_of(role: str) -> str:
    """The page each role lands on."""
    return url_for(HOMES[role])


def checkin_url(instrument: str) -> str:
    """The check-in page of one instrument: "Check in now" opens the one due first."""
    return url_for("patient.checkin") if instrument == PHQ9.name else url_for(f"patient.checkin_{instrument}")


@bp.route("/")
@login_required
def index() -> Response:
    return redirect(home_of(current_user.role))


@bp.route("/me")
@login_required
def patient() -> str:
    if current_user.role != "patient":
        abort(403)
    me = patient_service.patient_of(current_user)
    visit = course_queries.next_visit_for_patient(me)
    # Said as the booking's text says it, with the same safety instructions (CLINICAL.md §1).
    when = (
        local_time.spoken(visit.scheduled_for, local_time.zone_of(me.timezone))
        if visit and visit.scheduled_for
        else None
    )
    due = checkins_due.due_for(me)  # CLINICAL.md §7: in the schedule's order, PHQ-9 first
    return render_template(
        "patient/home.html",
        patient=me,
        visit=visit,
        visit_when=when,
        visit_safety=texts.VISIT_SAFETY,
        waiting=booster_queries.open_request_for(me.id),
        due=[INSTRUMENTS[name] for name in due],
        checkin_url=checkin_url(due[0] if due else PHQ9.name),
        side_effects_due=side_effect_reports.due_check(me),
    )
