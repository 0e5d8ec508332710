"""Clearing a patient's high-risk flag (services/alerts/risk_flag.py, CLINICAL.md §3): a POST from the header of
the patient's page with the clinician's reason, one service call, one commit, back to where the flag was (or the
page again with the refusal beside the reason)."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from tracker.errors import Conflict, Invalid
from tracker.extensions import db
from tracker.services.alerts import risk_flag
from tracker.web.clinic_base import bp, landing_category
from tracker.web.clinic_forms import correct_marked, put_problems
from tracker.web.clinic_pages import patient_page
from tracker.web.flag_form import PREFIX, ClearFlagForm
from tracker.web.roles import staff_required


@bp.route("/patients/<patient_id>/high-risk-flag/clear", methods=["POST"])
@staff_required
def clear_high_risk(patient_id: str) -> ResponseReturnValue:
    """A clinician says why the high risk recorded at the last safety follow-up has passed; audited."""
    form = ClearFlagForm(prefix=PREFIX)
    if not form.validate_on_submit():
        abort(400)  # only the CSRF token is checked here: the reason is the service's
    try:
        patient = risk_flag.clear(current_user, patient_id, form.reason.data)
    except Invalid as error:
        db.session.rollback()
        put_problems(form, error.problems)
        return patient_page(
            patient_id, 422, forms={"clear_flag": form}, problems={"clear_flag": [correct_marked(form)]}
        )
    except Conflict as error:
        db.session.rollback()
        return patient_page(patient_id, 409, conflict=("flag", error.detail))
    flash(f"High-risk flag cleared: {form.reason.data}", landing_category("flag"))
    return redirect(url_for("clinic.patient", patient_id=patient.id, _anchor="flag"), code=303)
