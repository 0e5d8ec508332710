"""The patient's side of the API: their profile, the questionnaire, their check-ins (API.md, Patient)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_smorest import Blueprint

from tracker.api import serializers
from tracker.api.auth import api_user, token_required
from tracker.api.idempotency import idempotent
from tracker.api.pagination import newest_first
from tracker.api.schemas import (
    BoosterRequestPageSchema,
    BoosterRequestSchema,
    CheckInCreateSchema,
    CheckInPageSchema,
    CheckInSchema,
    InstrumentSchema,
    MePatchSchema,
    MeSchema,
    PageArgsSchema,
    PatientInfusionPageSchema,
    ReasonSchema,
)
from tracker.extensions import db
from tracker.instruments import PHQ9
from tracker.models import CheckIn, Patient
from tracker.services import boosters, checkins, course, patients, scope
from tracker.services.errors import NotFound

bp = Blueprint("api_patient", __name__, url_prefix="/api/v1", description="The patient's own record")


def current_patient() -> Patient:
    return patients.patient_of(api_user())


@bp.route("/me", methods=["GET"])
@token_required("patient")
@bp.response(200, MeSchema)
def get_me() -> dict[str, Any]:
    return serializers.me(current_patient())


@bp.route("/me", methods=["PATCH"])
@token_required("patient")
@bp.arguments(MePatchSchema)
@bp.response(200, MeSchema)
def patch_me(body: dict[str, Any]) -> dict[str, Any]:
    patient = current_patient()
    reminders = body.get("reminders", {})
    patients.update_settings(
        patient,
        timezone=body.get("timezone"),
        reminders_enabled=reminders.get("enabled"),
        reminder_local_time=reminders.get("local_time"),
    )
    return serializers.me(patient)


@bp.route("/instruments/phq9", methods=["GET"])
@token_required()
@bp.response(200, InstrumentSchema)
def get_phq9() -> dict[str, Any]:
    """The questionnaire: stem, items with their LOINC codes, answer options, the difficulty item."""
    return serializers.instrument(PHQ9)


@bp.route("/checkins", methods=["POST"])
@token_required("patient")
@idempotent
@bp.arguments(CheckInCreateSchema)
@bp.response(201, CheckInSchema)
def create_checkin(body: dict[str, Any]) -> dict[str, Any]:
    """Submit a check-in; when item 9 is above 0 the answer carries crisis resources and the clinic is alerted."""
    result = checkins.submit(current_patient(), body["instrument"], body["answers"], body["difficulty"], "app")
    return serializers.checkin(result.checkin)


@bp.route("/checkins", methods=["GET"])
@token_required("patient")
@bp.arguments(PageArgsSchema, location="query")
@bp.response(200, CheckInPageSchema)
def list_checkins(args: dict[str, Any]) -> dict[str, Any]:
    """The caller's check-ins, newest first."""
    query = sa.select(CheckIn).where(CheckIn.patient_id == current_patient().id)
    page = newest_first(query, CheckIn.taken_at, CheckIn.id, args["limit"], args["cursor"])
    return {"items": [serializers.checkin(c) for c in page.items], "next_cursor": page.next_cursor}


@bp.route("/checkins/<checkin_id>", methods=["GET"])
@token_required("patient")
@bp.response(200, CheckInSchema)
def get_checkin(checkin_id: str) -> dict[str, Any]:
    row = db.session.get(CheckIn, scope.parse_id(checkin_id))
    if row is None or row.patient_id != current_patient().id:
        raise NotFound("No such check-in.")
    return serializers.checkin(row)


@bp.route("/booster-requests", methods=["GET"])
@token_required("patient")
@bp.response(200, BoosterRequestPageSchema)
def list_booster_requests() -> dict[str, Any]:
    """The caller's booster requests, newest first."""
    rows = boosters.requests_for_patient(current_patient())
    infusion_ids = boosters.infusion_ids_for(rows)
    return {"items": [serializers.booster_request(r, infusion_ids.get(r.id)) for r in rows], "next_cursor": None}


@bp.route("/booster-requests", methods=["POST"])
@token_required("patient")
@idempotent
@bp.arguments(ReasonSchema)
@bp.response(201, BoosterRequestSchema)
def raise_booster_request(body: dict[str, Any]) -> dict[str, Any]:
    """Ask the clinic for a booster; 409 while one is already open. The clinic is alerted."""
    patient = current_patient()
    request = boosters.raise_request(patient, "patient", api_user(), body["reason"])
    return serializers.booster_request(request, None)


@bp.route("/infusions", methods=["GET"])
@token_required("patient")
@bp.response(200, PatientInfusionPageSchema)
def list_infusions() -> dict[str, Any]:
    """The caller's infusions, past and booked, without clinical notes."""
    rows = course.infusions_for_patient_view(current_patient())
    return {"items": [serializers.patient_infusion(r) for r in rows], "next_cursor": None}
