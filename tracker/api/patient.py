"""The patient's side of the API: their profile, the questionnaire, their check-ins (API.md, Patient)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import g
from flask_smorest import Blueprint

from tracker.api.auth import api_user, token_required
from tracker.api.idempotency import idempotent
from tracker.api.pagination import Page, newest_first
from tracker.api.schemas.boosters import BoosterRequestPageSchema, BoosterRequestSchema, ReasonSchema
from tracker.api.schemas.checkins import CheckInCreateSchema, CheckInPageSchema, CheckInSchema, InstrumentSchema
from tracker.api.schemas.common import PageArgsSchema, ProblemSchema
from tracker.api.schemas.infusions import PatientInfusionPageSchema
from tracker.api.schemas.patient import MePatchSchema, MeSchema
from tracker.errors import NotFound
from tracker.extensions import db
from tracker.instruments import GAD7, PHQ9, Instrument
from tracker.models import CheckIn, Patient
from tracker.services import scope
from tracker.services.accounts import patients
from tracker.services.boosters import queries as booster_queries
from tracker.services.boosters import requests as boosters
from tracker.services.boosters.queries import RequestWithInfusion
from tracker.services.checkins import submit as checkins
from tracker.services.course import queries as course_queries

bp = Blueprint("api_patient", __name__, url_prefix="/api/v1", description="The patient's own record")


def current_patient() -> Patient:
    """The token's patient, read with the token (tokens.verify); patient_of says why when there is none."""
    patient: Patient | None = g.get("api_patient")
    return patient if patient is not None else patients.patient_of(api_user())


@bp.route("/me", methods=["GET"])
@token_required("patient")
@bp.response(200, MeSchema)
def get_me() -> Patient:
    return current_patient()


@bp.route("/me", methods=["PATCH"])
@token_required("patient")
@bp.arguments(MePatchSchema)
@bp.response(200, MeSchema)
def patch_me(body: dict[str, Any]) -> Patient:
    patient = current_patient()
    reminders = body.get("reminders", {})
    patients.update_settings(
        patient,
        timezone=body.get("timezone"),
        reminders_enabled=reminders.get("enabled"),
        reminder_local_time=reminders.get("local_time"),
    )
    return patient


@bp.route("/instruments/phq9", methods=["GET"])
@token_required()
@bp.response(200, InstrumentSchema)
def get_phq9() -> Instrument:
    """The questionnaire: stem, items with their LOINC codes, answer options, the difficulty item."""
    return PHQ9


@bp.route("/instruments/gad7", methods=["GET"])
@token_required()
@bp.response(200, InstrumentSchema)
def get_gad7() -> Instrument:
    """The GAD-7, asked when the clinic's schedule makes it due (GET /me `due`): stem, items, answer options."""
    return GAD7


@bp.route("/checkins", methods=["POST"])
@token_required("patient")
@idempotent
@bp.arguments(CheckInCreateSchema)
@bp.response(201, CheckInSchema)
@bp.alt_response(
    429,
    schema=ProblemSchema,
    description="more than 6 check-ins of the instrument in 24 hours (never one with item 9 above 0); Retry-After",
)
def create_checkin(body: dict[str, Any]) -> CheckIn:
    """Submit a check-in; when item 9 is above 0 the answer carries crisis resources and the clinic is alerted."""
    result = checkins.submit(current_patient(), body["instrument"], body["answers"], body["difficulty"], "app")
    return result.checkin


@bp.route("/checkins", methods=["GET"])
@token_required("patient")
@bp.arguments(PageArgsSchema, location="query")
@bp.response(200, CheckInPageSchema)
def list_checkins(args: dict[str, Any]) -> Page:
    """The caller's check-ins, newest first."""
    query = sa.select(CheckIn).where(CheckIn.patient_id == current_patient().id)
    return newest_first(query, CheckIn.taken_at, CheckIn.id, args["limit"], args["cursor"])


@bp.route("/checkins/<checkin_id>", methods=["GET"])
@token_required("patient")
@bp.response(200, CheckInSchema)
def get_checkin(checkin_id: str) -> CheckIn:
    row = db.session.get(CheckIn, scope.parse_id(checkin_id))
    if row is None or row.patient_id != current_patient().id:
        raise NotFound("No such check-in.")
    return row


@bp.route("/booster-requests", methods=["GET"])
@token_required("patient")
@bp.response(200, BoosterRequestPageSchema)
def list_booster_requests() -> dict[str, Any]:
    """The caller's booster requests, newest first."""
    rows = booster_queries.requests_for_patient(current_patient())
    return {"items": booster_queries.with_infusions(rows), "next_cursor": None}


@bp.route("/booster-requests", methods=["POST"])
@token_required("patient")
@idempotent
@bp.arguments(ReasonSchema)
@bp.response(201, BoosterRequestSchema)
def raise_booster_request(body: dict[str, Any]) -> RequestWithInfusion:
    """Ask the clinic for a booster; 409 while one is already open. The clinic is alerted."""
    patient = current_patient()
    request = boosters.raise_request(patient, "patient", api_user(), body["reason"])
    return RequestWithInfusion(request, None)  # nothing is booked for a request just raised


@bp.route("/infusions", methods=["GET"])
@token_required("patient")
@bp.response(200, PatientInfusionPageSchema)
def list_infusions() -> dict[str, Any]:
    """The caller's infusions, past and booked, without clinical notes."""
    return {"items": course_queries.infusions_for_patient_view(current_patient()), "next_cursor": None}
