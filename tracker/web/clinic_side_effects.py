"""Side effects at discharge, on the infusion (CLINICAL.md §7): the short form beside the visit, and the reports so far.

One discharge report per infusion: once recorded, the page shows it and a second one is refused (409) in words.
"""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from tracker import side_effects as rules
from tracker.errors import Conflict, Invalid
from tracker.services.side_effects import reports
from tracker.web.clinic_base import bp, render
from tracker.web.clinic_forms import correct_marked
from tracker.web.roles import staff_required
from tracker.web.side_effect_forms import ChecklistForm


@bp.route("/infusions/<infusion_id>/side-effects", methods=["GET", "POST"])
@staff_required
def infusion_side_effects(infusion_id: str) -> ResponseReturnValue:
    """The infusion's side-effect reports, and the discharge form while none is recorded."""
    infusion, patient, found = reports.reports_for_staff(current_user, infusion_id)
    form = ChecklistForm()
    status, problems, conflict = 200, [], None
    if form.is_submitted():
        if not form.validate():
            status = 400  # the CSRF token: nothing else is checked here
        else:
            try:
                reports.record_discharge(current_user, infusion.id, form.answers)
            except Invalid as error:
                # The count of marked items at the top, as the clinic's other forms say it.
                status, problems = 422, form.show(error) or [correct_marked(form)]
            except Conflict as error:
                status, conflict = 409, error.detail
            else:
                flash("Side effects at discharge recorded.", "success")
                return redirect(url_for("clinic.patient", patient_id=patient.id, _anchor="side-effects"), code=303)
    return render(
        "side_effects/discharge.html",
        status,
        infusion=infusion,
        patient=patient,
        reports=found,
        form=form,
        problems=problems,
        conflict=conflict,
        has_discharge=any(r.timing == "discharge" for r in found),
        items=rules.ITEMS,
        levels=rules.LEVELS,
    )
