"""Exports for clinic staff: check-ins and infusions as CSV (a patient's or the clinic's), a patient's FHIR
Bundle, and the clinic's outcomes report. Each service limits it to the staff member's clinic and records it in
the audit log before anything is sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

from flask import Blueprint, Response, render_template, stream_with_context
from flask_login import current_user

from tracker import clock
from tracker import side_effects as side_effect_rules
from tracker.instruments import severity
from tracker.local_time import zone_of
from tracker.models import Patient
from tracker.services.clinic import exports, fhir_export, infusion_export, outcomes_report
from tracker.services.side_effects import export as side_effect_export
from tracker.services.side_effects import outcomes as side_effect_outcomes
from tracker.web.charts import survival_chart
from tracker.web.roles import staff_required

bp = Blueprint("exports", __name__, url_prefix="/exports")


def _today() -> date:
    """Today in the clinic's time zone, for file names."""
    return clock.now().astimezone(zone_of(current_user.clinic.timezone)).date()


def _patient_file(patient: Patient, what: str, extension: str) -> str:
    """e.g. `hayden-p-checkins-2026-12-01.csv`: the name a clinician looks for in their downloads."""
    return exports.filename(patient.display_name, what, day=_today(), extension=extension)


def _clinic_file(what: str) -> str:
    """e.g. `riverside-clinic-checkins-2026-12-01.csv`."""
    return exports.filename(current_user.clinic.name, what, day=_today(), extension="csv")


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
    return _csv(export.chunks, _patient_file(export.patient, "checkins", "csv"))


@bp.route("/checkins.csv")
@staff_required
def clinic_csv() -> Response:
    """Every PHQ-9 check-in of the clinic's patients, a row each."""
    export = exports.export_for_staff(current_user)
    return _csv(export.chunks, _clinic_file("checkins"))


@bp.route("/patients/<patient_id>/infusions.csv")
@staff_required
def patient_infusions_csv(patient_id: str) -> Response:
    """One patient's infusions (given, booked and cancelled), a row each."""
    export = infusion_export.export_for_staff(current_user, patient_id)
    assert export.patient is not None
    return _csv(export.chunks, _patient_file(export.patient, "infusions", "csv"))


@bp.route("/infusions.csv")
@staff_required
def clinic_infusions_csv() -> Response:
    """Every infusion of the clinic's patients, a row each."""
    export = infusion_export.export_for_staff(current_user)
    return _csv(export.chunks, _clinic_file("infusions"))


@bp.route("/side-effects.csv")
@staff_required
def clinic_side_effects_csv() -> Response:
    """Every side-effect report of the clinic's patients (CLINICAL.md §7), a row each."""
    export = side_effect_export.export_for_staff(current_user)
    return _csv(export.chunks, _clinic_file("side-effects"))


@bp.route("/patients/<patient_id>/fhir.json")
@staff_required
def patient_fhir(patient_id: str) -> Response:
    """One patient's check-ins as a FHIR R4 Bundle (collection)."""
    export = fhir_export.bundle_for_staff(current_user, patient_id)
    name = _patient_file(export.patient, "fhir", "json")
    return _download(json.dumps(export.bundle, ensure_ascii=False), fhir_export.MEDIA_TYPE, name)


@bp.route("/outcomes")
@staff_required
def outcomes() -> str:
    """The clinic's outcomes report, with its definitions and a chart."""
    report = outcomes_report.report_for_staff(current_user)
    zone = zone_of(current_user.clinic.timezone)
    survival = survival_chart(report.time_to_booster.steps)  # CLINICAL.md §4: the Kaplan–Meier curve
    return render_template(
        "exports/outcomes.html",
        report=report,
        as_of=report.as_of.astimezone(zone),
        survival=survival,
        severity_label=severity.label,
        side_effects=side_effect_outcomes.counts_for_staff(current_user),  # CLINICAL.md §7
        side_effect_levels=side_effect_rules.LEVELS,
    )
