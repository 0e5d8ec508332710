"""A patient's one-page summary, laid out for printing from the browser (File > Print, or Save as PDF).

Printed by the browser rather than rendered to a PDF on the server: no new dependency (a PDF library and its
fonts), the same SVG chart as the patient's page at any resolution, and the clinic's own printer settings
(A4 or Letter) with the print stylesheet in static/css/app.css doing the layout.
"""

from __future__ import annotations

from flask.typing import ResponseReturnValue
from flask_login import current_user

from tracker import clock, local_time
from tracker.services.clinic import print_summary
from tracker.web import charts
from tracker.web.clinic_base import bp, render
from tracker.web.clinic_pages import trajectory_of
from tracker.web.roles import staff_required


@bp.route("/patients/<patient_id>/summary")
@staff_required
def patient_summary(patient_id: str) -> ResponseReturnValue:
    """The summary for the paper chart: chart, latest scores, course, open requests and alerts; audited."""
    summary = print_summary.summary_for_staff(current_user, patient_id)
    record = summary.record
    zone = local_time.zone_of(record.clinic.timezone)
    return render(
        "clinic/summary.html",
        summary=summary,
        record=record,
        patient=record.patient,
        outcome=record.outcome,
        course=summary.course,
        chart=trajectory_of(record, clock.now(), zone),
        zone=zone,
        legend_points=charts.legend_points,
    )
