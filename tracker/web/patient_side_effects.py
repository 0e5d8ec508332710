"""The patient's next-morning side-effect check on a phone-sized page (CLINICAL.md §7), linked from their home
while it is due; the same service as the API's /me/side-effects."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from tracker import local_time
from tracker.errors import Conflict, Invalid
from tracker.services.accounts.patients import patient_of
from tracker.services.side_effects import reports
from tracker.web.roles import patient_required
from tracker.web.side_effect_forms import ChecklistForm

bp = Blueprint("patient_side_effects", __name__, url_prefix="/me")

THANKS = "Thank you. Your answers are saved and your clinic will see them. If you feel unwell, call your clinic."


@bp.route("/side-effects", methods=["GET", "POST"])
@patient_required
def check() -> ResponseReturnValue:
    patient = patient_of(current_user)
    due = reports.due_check(patient)
    form = ChecklistForm()
    status, problems = 200, []
    if due is not None and form.is_submitted():
        if not form.validate():
            status = 400  # the CSRF token: nothing else is checked here
        else:
            try:
                reports.record_next_morning(patient, due.infusion, form.answers, "web")
            except Invalid as error:
                status, problems = 422, form.show(error)
            except Conflict as error:
                status, problems = 409, [error.detail]
            else:
                flash(THANKS, "success")
                return redirect(url_for("home.patient"), code=303)
    elif due is None and form.is_submitted():
        status = 409  # answered already, by text or in the app, or its day has passed
    visit_day = None
    if due is not None and due.infusion.given_at is not None:  # a given infusion has its time (check constraint)
        visit_day = local_time.day(due.infusion.given_at, local_time.zone_of(patient.timezone))
    return (
        render_template(
            "side_effects/patient.html", patient=patient, due=due, form=form, problems=problems, visit_day=visit_day
        ),
        status,
    )
