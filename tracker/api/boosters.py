"""Booster requests and alerts for clinic staff, and the clinic's settings (API.md, Clinician)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from sqlalchemy.orm import selectinload

from tracker.api import serializers
from tracker.api.auth import api_user, token_required
from tracker.api.idempotency import idempotent
from tracker.api.pagination import offset_page
from tracker.api.schemas import (
    AcknowledgeSchema,
    AlertListArgsSchema,
    AlertPageSchema,
    AlertSchema,
    ApproveSchema,
    BoosterRequestListArgsSchema,
    BoosterRequestPageSchema,
    BoosterRequestSchema,
    ClinicSettingsPatchSchema,
    ClinicSettingsSchema,
    DecisionReasonSchema,
    ReasonSchema,
    ScheduleResultSchema,
    ScheduleSchema,
)
from tracker.extensions import db
from tracker.models import BoosterRequest, Clinic
from tracker.models.booster import OPEN_STATUSES
from tracker.models.user import STAFF_ROLES
from tracker.services import alerts, audit, boosters, clinic_settings, scope

bp = Blueprint("api_boosters", __name__, url_prefix="/api/v1/clinic", description="Decisions, own clinic only")


def _one(request: BoosterRequest) -> dict[str, Any]:
    return serializers.booster_request(request, boosters.infusion_ids_for([request]).get(request.id))


@bp.route("/patients/<patient_id>/booster-requests", methods=["POST"])
@token_required(*STAFF_ROLES)
@idempotent
@bp.arguments(ReasonSchema)
@bp.response(201, BoosterRequestSchema)
def raise_request(body: dict[str, Any], patient_id: str) -> dict[str, Any]:
    """A clinician-raised request; 409 when the patient already has one open."""
    staff = api_user()
    patient = scope.get_patient_for_staff(staff, patient_id)
    return _one(boosters.raise_request(patient, "clinician", staff, body["reason"]))


@bp.route("/booster-requests", methods=["GET"])
@token_required(*STAFF_ROLES)
@bp.arguments(BoosterRequestListArgsSchema, location="query")
@bp.response(200, BoosterRequestPageSchema)
def list_requests(args: dict[str, Any]) -> dict[str, Any]:
    """Urgent first, then the oldest. `status=open` means every request that counts as open (API.md)."""
    staff = api_user()
    status: Any = OPEN_STATUSES if args["status"] == "open" else args["status"]
    if args["patient_id"]:
        scope.get_patient_for_staff(staff, args["patient_id"])
    query = boosters.requests_query(staff, status, args["patient_id"]).options(selectinload(BoosterRequest.evidence))
    page = offset_page(query, args["limit"], args["cursor"])
    infusion_ids = boosters.infusion_ids_for(page.items)
    audit.record(staff, "booster.list", detail={"status": args["status"], "patient_id": args["patient_id"]})
    items = [serializers.booster_request(r, infusion_ids.get(r.id)) for r in page.items]
    return {"items": items, "next_cursor": page.next_cursor}


def _decided(request: BoosterRequest) -> dict[str, Any]:
    return _one(request)


@bp.route("/booster-requests/<request_id>/approve", methods=["POST"])
@token_required(*STAFF_ROLES)
@bp.arguments(ApproveSchema)
@bp.response(200, BoosterRequestSchema)
def approve(body: dict[str, Any], request_id: str) -> dict[str, Any]:
    staff = api_user()
    return _decided(boosters.approve(boosters.get_request_for_staff(staff, request_id), staff, body["note"]))


@bp.route("/booster-requests/<request_id>/decline", methods=["POST"])
@token_required(*STAFF_ROLES)
@bp.arguments(DecisionReasonSchema)
@bp.response(200, BoosterRequestSchema)
def decline(body: dict[str, Any], request_id: str) -> dict[str, Any]:
    staff = api_user()
    return _decided(boosters.decline(boosters.get_request_for_staff(staff, request_id), staff, body["reason"]))


@bp.route("/booster-requests/<request_id>/cancel", methods=["POST"])
@token_required(*STAFF_ROLES)
@bp.arguments(DecisionReasonSchema)
@bp.response(200, BoosterRequestSchema)
def cancel(body: dict[str, Any], request_id: str) -> dict[str, Any]:
    """Withdraw a request; a booster booked for it is cancelled too."""
    staff = api_user()
    return _decided(boosters.cancel(boosters.get_request_for_staff(staff, request_id), staff, body["reason"]))


@bp.route("/booster-requests/<request_id>/schedule", methods=["POST"])
@token_required(*STAFF_ROLES)
@bp.arguments(ScheduleSchema)
@bp.response(200, ScheduleResultSchema)
def schedule(body: dict[str, Any], request_id: str) -> dict[str, Any]:
    """Book the booster: the scheduled infusion, and a text to the patient with the date and safety advice."""
    staff = api_user()
    result = boosters.schedule(boosters.get_request_for_staff(staff, request_id), staff, body["scheduled_for"])
    return {"request": _one(result.request), "infusion": serializers.infusion(result.infusion)}


@bp.route("/alerts", methods=["GET"])
@token_required(*STAFF_ROLES)
@bp.arguments(AlertListArgsSchema, location="query")
@bp.response(200, AlertPageSchema)
def list_alerts(args: dict[str, Any]) -> dict[str, Any]:
    """Open before acknowledged, safety first, the longest-waiting first."""
    staff = api_user()
    page = offset_page(alerts.alerts_query(staff, args["status"]), args["limit"], args["cursor"])
    audit.record(staff, "alert.list", detail={"status": args["status"]})
    return {"items": [serializers.alert(a) for a in page.items], "next_cursor": page.next_cursor}


@bp.route("/alerts/<alert_id>/acknowledge", methods=["POST"])
@token_required(*STAFF_ROLES)
@bp.arguments(AcknowledgeSchema)
@bp.response(200, AlertSchema)
def acknowledge(body: dict[str, Any], alert_id: str) -> dict[str, Any]:
    """Take charge of an alert; a safety alert needs the documented risk level (low, moderate, high)."""
    staff = api_user()
    alert = alerts.acknowledge(alerts.get_alert_for_staff(staff, alert_id), staff, body["note"], body["risk_level"])
    return serializers.alert(alert)


@bp.route("/settings", methods=["GET"])
@token_required(*STAFF_ROLES)
@bp.response(200, ClinicSettingsSchema)
def get_settings() -> dict[str, Any]:
    clinic = db.session.get(Clinic, api_user().clinic_id)
    assert clinic is not None
    return clinic_settings.settings_of(clinic)


@bp.route("/settings", methods=["PATCH"])
@token_required("admin")
@bp.arguments(ClinicSettingsPatchSchema)
@bp.response(200, ClinicSettingsSchema)
def patch_settings(body: dict[str, Any]) -> dict[str, Any]:
    """The clinic's admin changes thresholds (CLINICAL.md §5), reminder defaults, contacts, time zone."""
    admin = api_user()
    clinic = db.session.get(Clinic, admin.clinic_id)
    assert clinic is not None
    clinic_settings.update(admin, clinic, body)
    return clinic_settings.settings_of(clinic)
