"""Side effects around an infusion (CLINICAL.md §7): staff's discharge report, the patient's next-morning check."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from tracker.api.auth import api_user, token_required
from tracker.api.idempotency import idempotent
from tracker.api.schemas.side_effects import (
    SideEffectAnswersSchema,
    SideEffectCheckSchema,
    SideEffectReportListSchema,
    SideEffectReportSchema,
    check_answer,
)
from tracker.models import SideEffectReport
from tracker.models.user import STAFF_ROLES
from tracker.services.accounts import patients
from tracker.services.side_effects import reports

bp = Blueprint("api_side_effects", __name__, url_prefix="/api/v1", description="Side effects around an infusion")


@bp.route("/clinic/infusions/<infusion_id>/side-effects", methods=["GET"])
@token_required(*STAFF_ROLES)
@bp.response(200, SideEffectReportListSchema)
def list_reports(infusion_id: str) -> dict[str, Any]:
    """The infusion's reports: at discharge and the next morning, each at most once."""
    _, _, found = reports.reports_for_staff(api_user(), infusion_id)
    return {"items": found}


@bp.route("/clinic/infusions/<infusion_id>/side-effects", methods=["POST"])
@token_required(*STAFF_ROLES)
@idempotent
@bp.arguments(SideEffectAnswersSchema)
@bp.response(201, SideEffectReportSchema)
def record_discharge(body: dict[str, Any], infusion_id: str) -> SideEffectReport:
    """Record side effects at discharge for a given infusion; 409 when already recorded. A severe item alerts."""
    return reports.record_discharge(api_user(), infusion_id, body)


@bp.route("/me/side-effects", methods=["GET"])
@token_required("patient")
@bp.response(200, SideEffectCheckSchema)
def get_check() -> dict[str, Any]:
    """Whether the next-morning side-effect check is open, with its items and levels."""
    return check_answer(reports.due_check(patients.patient_of(api_user())))


@bp.route("/me/side-effects", methods=["POST"])
@token_required("patient")
@idempotent
@bp.arguments(SideEffectAnswersSchema)
@bp.response(201, SideEffectReportSchema)
def answer_check(body: dict[str, Any]) -> SideEffectReport:
    """Answer the open next-morning check; 409 when none is open (answered already, by any way, or not due)."""
    return reports.answer_due(patients.patient_of(api_user()), body, "app")
