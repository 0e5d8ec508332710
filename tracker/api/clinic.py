"""The clinic's side of the API: enrolment and check-ins taken in clinic (API.md, Clinician)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from tracker.api.auth import api_user, token_required
from tracker.api.idempotency import idempotent
from tracker.api.pagination import Page, decode_offset, encode_offset, newest_first
from tracker.api.schemas.checkins import CheckInPageSchema, CheckInSchema, ClinicCheckInCreateSchema
from tracker.api.schemas.clinic import (
    PatientCreateSchema,
    PatientListArgsSchema,
    PatientSchema,
    PatientSummaryPageSchema,
)
from tracker.api.schemas.common import PageArgsSchema
from tracker.models import CheckIn, Patient
from tracker.models.user import STAFF_ROLES
from tracker.services import scope
from tracker.services.accounts import enrolment
from tracker.services.checkins import queries as checkin_queries
from tracker.services.checkins import submit as checkins
from tracker.services.clinic import patient_list

bp = Blueprint("api_clinic", __name__, url_prefix="/api/v1/clinic", description="Clinic staff, own clinic only")


@bp.route("/patients", methods=["POST"])
@token_required(*STAFF_ROLES)
@idempotent
@bp.arguments(PatientCreateSchema)
@bp.response(201, PatientSchema)
def enrol(body: dict[str, Any]) -> Patient:
    """Enrol a patient; their SMS invitation with a one-time link (72 h) is queued."""
    staff = api_user()
    result = enrolment.enrol_patient(
        staff, body["display_name"], body["phone"], body["timezone"], body.get("email"), body["phase"]
    )
    return result.patient


@bp.route("/patients", methods=["GET"])
@token_required(*STAFF_ROLES)
@bp.arguments(PatientListArgsSchema, location="query")
@bp.response(200, PatientSummaryPageSchema)
def list_patients(args: dict[str, Any]) -> dict[str, Any]:
    """The clinic's patients with their latest score, change from baseline and what is open."""
    staff = api_user()
    offset = decode_offset(args["cursor"])
    page, more = patient_list.list_for_staff(
        staff,
        phase=args["phase"],
        q=args["q"],
        needs_attention=args["needs_attention"],
        sort=args["sort"],
        descending=args["order"] == "desc",
        limit=args["limit"],
        offset=offset,
    )
    return {"items": page, "next_cursor": encode_offset(offset + len(page)) if more else None}


@bp.route("/patients/<patient_id>/checkins", methods=["GET"])
@token_required(*STAFF_ROLES)
@bp.arguments(PageArgsSchema, location="query")
@bp.response(200, CheckInPageSchema)
def list_checkins(args: dict[str, Any], patient_id: str) -> Page:
    query = checkin_queries.checkins_for_staff(api_user(), patient_id)
    return newest_first(query, CheckIn.taken_at, CheckIn.id, args["limit"], args["cursor"])


@bp.route("/patients/<patient_id>/checkins", methods=["POST"])
@token_required(*STAFF_ROLES)
@idempotent
@bp.arguments(ClinicCheckInCreateSchema)
@bp.response(201, CheckInSchema)
def create_checkin(body: dict[str, Any], patient_id: str) -> CheckIn:
    """A check-in taken in clinic, at `taken_at` (not in the future); source `clinic`."""
    staff = api_user()
    patient = scope.get_patient_for_staff(staff, patient_id)
    result = checkins.submit(
        patient,
        body["instrument"],
        body["answers"],
        body["difficulty"],
        "clinic",
        taken_at=body["taken_at"],
        entered_by=staff,
    )
    return result.checkin
