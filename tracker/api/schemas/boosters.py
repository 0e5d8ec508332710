"""Booster requests: raising, listing, deciding and booking them (API.md, Patient and Clinician)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from tracker.api.schemas.common import Moment, Strict, cursor_field, limit_field, page_of
from tracker.api.schemas.infusions import InfusionSchema
from tracker.models.booster import RAISED_BY, REQUEST_STATUSES, URGENCIES
from tracker.services.boosters.queries import RequestWithInfusion


class EvidenceSchema(Schema):
    """Dumps a BoosterEvidence: the check-in it points at."""

    checkin_id = fields.String(required=True)


class BoosterRequestSchema(Schema):
    """Dumps a boosters RequestWithInfusion: the request's own fields, and the infusion booked for it or given."""

    id = fields.String(required=True)
    patient_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(REQUEST_STATUSES))
    urgency = fields.String(required=True, validate=validate.OneOf(URGENCIES))
    raised_by = fields.String(required=True, validate=validate.OneOf(RAISED_BY))
    raised_at = fields.AwareDateTime(required=True)
    evidence = fields.Pluck(EvidenceSchema, "checkin_id", many=True, required=True)
    decided_by = fields.String(allow_none=True, required=True, attribute="decided_by_id")
    decided_at = fields.AwareDateTime(allow_none=True, required=True)
    reason = fields.String(allow_none=True, required=True)
    note = fields.String(allow_none=True, required=True)
    patient_reason = fields.String(allow_none=True, required=True)
    infusion_id = fields.String(allow_none=True, required=True)

    def get_attribute(self, obj: RequestWithInfusion, attr: str, default: Any) -> Any:
        return super().get_attribute(obj if attr == "infusion_id" else obj.request, attr, default)


BoosterRequestPageSchema = page_of(BoosterRequestSchema)


class BoosterRequestListArgsSchema(Strict):
    status = fields.String(load_default=None, validate=validate.OneOf(REQUEST_STATUSES))
    patient_id = fields.String(load_default=None, validate=validate.Length(max=64))
    limit = limit_field()
    cursor = cursor_field()


class ReasonSchema(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class DecisionReasonSchema(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class ApproveSchema(Strict):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class ScheduleSchema(Strict):
    scheduled_for = Moment(required=True, metadata={"description": "after now"})


class ScheduleResultSchema(Schema):
    """Dumps the booked request (a RequestWithInfusion) and the infusion booked for it."""

    request = fields.Nested(BoosterRequestSchema, required=True)
    infusion = fields.Nested(InfusionSchema, required=True)
