"""A patient's course for clinic staff: the record, phase, infusions (API.md, Clinician)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from tracker.api.auth import api_user, token_required
from tracker.api.idempotency import idempotent
from tracker.api.pagination import Page, newest_first
from tracker.api.schemas.common import PageArgsSchema
from tracker.api.schemas.course import PatientDetailSchema, PatientPatchSchema
from tracker.api.schemas.infusions import InfusionChangeSchema, InfusionCreateSchema, InfusionPageSchema, InfusionSchema
from tracker.errors import FieldProblem, Invalid
from tracker.models import Infusion
from tracker.models.user import STAFF_ROLES
from tracker.services import scope
from tracker.services.accounts import patients
from tracker.services.course import queries as course_queries
from tracker.services.course import writes as course

bp = Blueprint("api_course", __name__, url_prefix="/api/v1/clinic", description="A patient's course, own clinic only")


@bp.route("/patients/<patient_id>", methods=["GET"])
@token_required(*STAFF_ROLES)
@bp.response(200, PatientDetailSchema)
def get_patient(patient_id: str) -> course_queries.PatientDetail:
    """The patient's record: baseline, change, response and remission (CLINICAL.md §4), settings, what is open."""
    return course_queries.read_for_staff(api_user(), patient_id)


@bp.route("/patients/<patient_id>", methods=["PATCH"])
@token_required(*STAFF_ROLES)
@bp.arguments(PatientPatchSchema)
@bp.response(200, PatientDetailSchema)
def patch_patient(body: dict[str, Any], patient_id: str) -> course_queries.PatientDetail:
    staff = api_user()
    patient = scope.get_patient_for_staff(staff, patient_id)
    reminders = body.get("reminders", {})
    patients.update_settings(
        patient,
        timezone=body.get("timezone"),
        display_name=body.get("display_name"),
        reminders_enabled=reminders.get("enabled"),
        reminder_local_time=reminders.get("local_time"),
        by=staff,
    )
    if "phase" in body:
        try:
            course.change_phase(patient, body["phase"], staff, body.get("phase_reason"))
        except Invalid as error:
            # The body names the phase's reason `phase_reason` (beside the patient's other fields).
            problems = [
                FieldProblem("phase_reason" if p.field == "reason" else p.field, p.message) for p in error.problems
            ]
            raise Invalid(problems) from error
    return course_queries.patient_detail(patient)


@bp.route("/patients/<patient_id>/infusions", methods=["GET"])
@token_required(*STAFF_ROLES)
@bp.arguments(PageArgsSchema, location="query")
@bp.response(200, InfusionPageSchema)
def list_infusions(args: dict[str, Any], patient_id: str) -> Page:
    """The patient's infusions, latest first (booked ones by their date)."""
    query = course_queries.infusions_for_staff(api_user(), patient_id)
    return newest_first(query, Infusion.created_at, Infusion.id, args["limit"], args["cursor"])


@bp.route("/patients/<patient_id>/infusions", methods=["POST"])
@token_required(*STAFF_ROLES)
@idempotent
@bp.arguments(InfusionCreateSchema)
@bp.response(201, InfusionSchema)
def create_infusion(body: dict[str, Any], patient_id: str) -> course.InfusionResult:
    """Record an infusion scheduled or given; values outside the usual ranges come back as warnings."""
    staff = api_user()
    patient = scope.get_patient_for_staff(staff, patient_id)
    fields = dict(body)
    result = course.record_infusion(
        patient,
        kind=fields.pop("kind"),
        status=fields.pop("status"),
        by=staff,
        booster_request_id=fields.pop("booster_request_id", None),
        hold_confirmed=fields.pop("hold_confirmed", False),
        **fields,
    )
    return result


@bp.route("/infusions/<infusion_id>", methods=["PATCH"])
@token_required(*STAFF_ROLES)
@bp.arguments(InfusionChangeSchema)
@bp.response(200, InfusionSchema)
def patch_infusion(body: dict[str, Any], infusion_id: str) -> course.InfusionResult:
    """Record a booked infusion as given, move or cancel it, or correct a given one's details."""
    staff = api_user()
    row, _patient = scope.get_infusion_for_staff(staff, infusion_id)
    changes = dict(body)
    reason, hold_confirmed = changes.pop("reason", None), changes.pop("hold_confirmed", False)
    result = course.update_infusion(row, changes, staff, reason=reason, hold_confirmed=hold_confirmed)
    return result
