"""Booster requests and alerts for clinic staff, and the clinic's settings (API.md, Clinician)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_smorest import Blueprint

from tracker.api.auth import api_user, token_required
from tracker.api.idempotency import idempotent
from tracker.api.pagination import Page, offset_page
from tracker.api.schemas.alerts import (
    AcknowledgeSchema,
    AlertListArgsSchema,
    AlertPageSchema,
    AlertSchema,
    ResolveSchema,
)
from tracker.api.schemas.boosters import (
    ApproveSchema,
    BoosterRequestListArgsSchema,
    BoosterRequestPageSchema,
    BoosterRequestSchema,
    DecisionReasonSchema,
    ReasonSchema,
    ScheduleResultSchema,
    ScheduleSchema,
)
from tracker.api.schemas.clinic import ClinicSettingsPatchSchema, ClinicSettingsSchema
from tracker.extensions import db
from tracker.models import Alert, BoosterRequest, Clinic, User
from tracker.models.user import STAFF_ROLES
from tracker.services import scope
from tracker.services.alerts import queries as alert_queries
from tracker.services.alerts import writes as alerts
from tracker.services.boosters import booking
from tracker.services.boosters import queries as booster_queries
from tracker.services.boosters import requests as boosters
from tracker.services.boosters.queries import RequestWithInfusion
from tracker.services.clinic import settings as clinic_settings

bp = Blueprint("api_boosters", __name__, url_prefix="/api/v1/clinic", description="Decisions, own clinic only")


@bp.route("/patients/<patient_id>/booster-requests", methods=["POST"])
@token_required(*STAFF_ROLES)
@idempotent
@bp.arguments(ReasonSchema)
@bp.response(201, BoosterRequestSchema)
def raise_request(body: dict[str, Any], patient_id: str) -> RequestWithInfusion:
    """A clinician-raised request; 409 when the patient already has one open."""
    staff = api_user()
    patient = scope.get_patient_for_staff(staff, patient_id)
    return booster_queries.with_infusion(boosters.raise_request(patient, "clinician", staff, body["reason"]))


@bp.route("/booster-requests", methods=["GET"])
@token_required(*STAFF_ROLES)
@bp.arguments(BoosterRequestListArgsSchema, location="query")
@bp.response(200, BoosterRequestPageSchema)
def list_requests(args: dict[str, Any]) -> dict[str, Any]:
    """Urgent first, then the oldest. `status=open` means every request that counts as open (API.md)."""
    query = booster_queries.list_for_staff(api_user(), args["status"], args["patient_id"])
    page = offset_page(query, args["limit"], args["cursor"])
    return {"items": booster_queries.with_infusions(page.items), "next_cursor": page.next_cursor}


def _decide(request_id: str, decision: Callable[[BoosterRequest, User], BoosterRequest]) -> RequestWithInfusion:
    """One decision on a request of the caller's clinic (404 for any other), answered with its booked infusion."""
    staff = api_user()
    return booster_queries.with_infusion(decision(booster_queries.get_request_for_staff(staff, request_id), staff))


@bp.route("/booster-requests/<request_id>/approve", methods=["POST"])
@token_required(*STAFF_ROLES)
@bp.arguments(ApproveSchema)
@bp.response(200, BoosterRequestSchema)
def approve(body: dict[str, Any], request_id: str) -> RequestWithInfusion:
    return _decide(request_id, lambda request, staff: boosters.approve(request, staff, body["note"]))


@bp.route("/booster-requests/<request_id>/decline", methods=["POST"])
@token_required(*STAFF_ROLES)
@bp.arguments(DecisionReasonSchema)
@bp.response(200, BoosterRequestSchema)
def decline(body: dict[str, Any], request_id: str) -> RequestWithInfusion:
    return _decide(request_id, lambda request, staff: boosters.decline(request, staff, body["reason"]))


@bp.route("/booster-requests/<request_id>/cancel", methods=["POST"])
@token_required(*STAFF_ROLES)
@bp.arguments(DecisionReasonSchema)
@bp.response(200, BoosterRequestSchema)
def cancel(body: dict[str, Any], request_id: str) -> RequestWithInfusion:
    """Withdraw a request; a booster booked for it is cancelled too."""
    return _decide(request_id, lambda request, staff: boosters.cancel(request, staff, body["reason"]))


@bp.route("/booster-requests/<request_id>/schedule", methods=["POST"])
@token_required(*STAFF_ROLES)
@bp.arguments(ScheduleSchema)
@bp.response(200, ScheduleResultSchema)
def schedule(body: dict[str, Any], request_id: str) -> dict[str, Any]:
    """Book the booster: the scheduled infusion, and a text to the patient with the date and safety advice."""
    staff = api_user()
    result = booking.schedule(booster_queries.get_request_for_staff(staff, request_id), staff, body["scheduled_for"])
    return {"request": booster_queries.with_infusion(result.request), "infusion": result.infusion}


@bp.route("/alerts", methods=["GET"])
@token_required(*STAFF_ROLES)
@bp.arguments(AlertListArgsSchema, location="query")
@bp.response(200, AlertPageSchema)
def list_alerts(args: dict[str, Any]) -> Page:
    """Safety and attention alerts in the order to work them; `status=open` is every alert still waiting on a
    clinician (open, and acknowledged safety alerts not resolved)."""
    status = alert_queries.UNRESOLVED if args["status"] == "open" else args["status"]
    query = alert_queries.list_for_staff(api_user(), status, kind=args["kind"], patient_id=args["patient_id"])
    return offset_page(query, args["limit"], args["cursor"])


@bp.route("/alerts/<alert_id>/acknowledge", methods=["POST"])
@token_required(*STAFF_ROLES)
@bp.arguments(AcknowledgeSchema)
@bp.response(200, AlertSchema)
def acknowledge(body: dict[str, Any], alert_id: str) -> Alert:
    """ "I am on it": take charge of an alert, with an optional note; a safety alert's escalation stops."""
    staff = api_user()
    return alerts.acknowledge(
        alert_queries.get_alert_for_staff(staff, alert_id), staff, body["note"], body["risk_level"]
    )


@bp.route("/alerts/<alert_id>/resolve", methods=["POST"])
@token_required(*STAFF_ROLES)
@bp.arguments(ResolveSchema)
@bp.response(200, AlertSchema)
def resolve(body: dict[str, Any], alert_id: str) -> Alert:
    """Record the follow-up and close the alert: a safety alert needs the risk level (low, moderate, high) and
    either the C-SSRS screener's answers (the answer then holds them and the level they suggest) or why it was
    not asked (`screener_not_done`); without either it is refused (422 naming `screener`)."""
    staff = api_user()
    return alerts.resolve(
        alert_queries.get_alert_for_staff(staff, alert_id),
        staff,
        body["risk_level"],
        body["action"],
        body["note"],
        screener=body.get("screener"),
        screener_not_done=body["screener_not_done"],
    )


@bp.route("/settings", methods=["GET"])
@token_required(*STAFF_ROLES)
@bp.response(200, ClinicSettingsSchema)
def get_settings() -> Clinic:
    clinic = db.session.get(Clinic, api_user().clinic_id)
    assert clinic is not None
    return clinic


@bp.route("/settings", methods=["PATCH"])
@token_required("admin")
@bp.arguments(ClinicSettingsPatchSchema)
@bp.response(200, ClinicSettingsSchema)
def patch_settings(body: dict[str, Any]) -> Clinic:
    """The clinic's admin changes thresholds (CLINICAL.md §5), reminder defaults, contacts, time zone."""
    admin = api_user()
    clinic = db.session.get(Clinic, admin.clinic_id)
    assert clinic is not None
    clinic_settings.update(admin, clinic, body)
    return clinic
