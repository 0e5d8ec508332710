"""Exports for clinic staff: check-ins as CSV (a patient's or the clinic's), a patient's FHIR Bundle, and the
clinic's outcomes report. Each service limits it to the staff member's clinic and records it in the audit log
before anything is sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

from flask import Blueprint, Response, render_template, stream_with_context
from flask_login import current_user

from tracker import clock
from tracker.local_time import zone_of
from tracker.services.clinic import exports, fhir_export, outcomes_report
from tracker.web.charts import survival_chart
from tracker.web.roles import staff_required

bp = Blueprint("exports", __name__, url_prefix="/exports")


def _today() -> date:
    """Today in the clinic's time zone, for file names."""
    return clock.now().astimezone(zone_of(current_user.clinic.timezone)).date()


def _download(body: Iterator[str] | str, content_type: str, filename: str) -> Response:
    # The name is slugged (services/exports.filename), so it needs no quoting beyond the quotes.
    return Response(
        body, content_type=content_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


def _csv(chunks: Iterator[str], filename: str) -> Response:
    # Streamed: the request context (and its database session) lives until the last row is sent.
    return _download(stream_with_context(chunks), "text/csv; charset=utf-8", filename)


@bp.route("/patients/<patient_id>/checkins.csv")
@staff_required
def patient_csv(patient_id: str) -> Response:
    """One patient's PHQ-9 check-ins, a row each."""
    export = exports.export_for_staff(current_user, patient_id)
    assert export.patient is not None
    name = exports.filename("checkins", "patient", str(export.patient.id), day=_today(), extension="csv")
    return _csv(export.chunks, name)


@bp.route("/checkins.csv")
@staff_required
def clinic_csv() -> Response:
    """Every PHQ-9 check-in of the clinic's patients, a row each."""
    export = exports.export_for_staff(current_user)
    name = exports.filename("checkins", current_user.clinic.name, day=_today(), extension="csv")
    return _csv(export.chunks, name)


@bp.route("/patients/<patient_id>/fhir.json")
@staff_required
def patient_fhir(patient_id: str) -> Response:
    """One patient's check-ins as a FHIR R4 Bundle (collection)."""
    export = fhir_export.bundle_for_staff(current_user, patient_id)
    name = exports.filename("fhir", "patient", str(export.patient.id), day=_today(), extension="json")
    return _download(json.dumps(export.bundle, ensure_ascii=False), fhir_export.MEDIA_TYPE, name)


@bp.route("/outcomes")
@staff_required
def outcomes() -> str:
    """The clinic's outcomes report, with its definitions and a chart."""
    report = outcomes_report.report_for_staff(current_user)
    zone = zone_of(current_user.clinic.timezone)
    survival = survival_chart(report.time_to_booster.steps)  # CLINICAL.md §4: the Kaplan–Meier curve
    return render_template(
        "exports/outcomes.html", report=report, as_of=report.as_of.astimezone(zone), survival=survival
    )
