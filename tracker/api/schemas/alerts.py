"""Alerts to the clinic, and taking charge of one (API.md, Clinician)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from tracker.api.schemas.common import Strict, cursor_field, limit_field, page_of
from tracker.api.schemas.screener import ScreenerAnswersSchema, ScreenerSchema
from tracker.models.alert import ALERT_KINDS, ALERT_STATUSES, RISK_LEVELS


class AlertPatientSchema(Schema):
    id = fields.String(required=True)
    display_name = fields.String(required=True)


class AlertSchema(Schema):
    """Dumps an Alert (API.md)."""

    id = fields.String(required=True)
    patient_id = fields.String(required=True)
    patient = fields.Nested(AlertPatientSchema, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ALERT_KINDS))
    reason = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(ALERT_STATUSES))
    raised_at = fields.AwareDateTime(required=True)
    deadline = fields.AwareDateTime(allow_none=True, required=True)
    escalated_at = fields.AwareDateTime(allow_none=True, required=True)
    escalation_step = fields.Integer(required=True, metadata={"description": "0 none, 1 backup contact, 2 all staff"})
    escalated_all_at = fields.AwareDateTime(allow_none=True, required=True)
    checkins = fields.List(fields.String(), required=True, attribute="checkin_ids")
    highest_item9 = fields.Integer(allow_none=True, required=True)
    reply_text = fields.String(
        allow_none=True, required=True, metadata={"description": "what the patient texted at item 9 instead of 0-3"}
    )
    acknowledged_by = fields.String(allow_none=True, required=True, attribute="acknowledged_by_id")
    acknowledged_at = fields.AwareDateTime(allow_none=True, required=True)
    resolved_by = fields.String(allow_none=True, required=True, attribute="resolved_by_id")
    resolved_at = fields.AwareDateTime(allow_none=True, required=True)
    risk_level = fields.String(allow_none=True, required=True, validate=validate.OneOf(RISK_LEVELS))
    action = fields.String(allow_none=True, required=True)
    note = fields.String(allow_none=True, required=True, attribute="shown_note")
    acknowledge_note = fields.String(allow_none=True, required=True, attribute="note")
    resolution_note = fields.String(allow_none=True, required=True)
    # CLINICAL.md §7: the C-SSRS screener asked at resolve, the level it suggested, or why it was not asked.
    screener = fields.Nested(ScreenerAnswersSchema, allow_none=True, required=True)
    screener_suggested = fields.String(allow_none=True, required=True, validate=validate.OneOf(RISK_LEVELS))
    screener_not_done = fields.String(allow_none=True, required=True)


AlertPageSchema = page_of(AlertSchema)


class AlertListArgsSchema(Strict):
    # API.md: "open" is every alert still waiting on a clinician (open, and acknowledged safety alerts).
    status = fields.String(load_default=None, validate=validate.OneOf(ALERT_STATUSES))
    kind = fields.String(load_default=None, validate=validate.OneOf(ALERT_KINDS))
    patient_id = fields.String(load_default=None, validate=validate.Length(max=64))
    limit = limit_field()
    cursor = cursor_field()


class AcknowledgeSchema(Strict):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    # Optional: a safety alert's documented risk level is required when it is resolved (CLINICAL.md §3).
    risk_level = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(RISK_LEVELS))


class ResolveSchema(Strict):
    risk_level = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(RISK_LEVELS))
    action = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    note = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=2000),
        metadata={
            "description": "required (why) when risk_level is lower than the level the screener's answers suggest"
        },
    )
    # Left out rather than null: a nullable nested schema is documented as "any object" (apispec's anyOf).
    screener = fields.Nested(
        ScreenerSchema,
        metadata={
            "description": "the C-SSRS screener's answers (safety alerts only); a safety alert "
            "needs these or screener_not_done"
        },
    )
    screener_not_done = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=300),
        metadata={
            "description": "why the screener was not asked, instead of its answers (safety alerts only; "
            "a safety alert needs this or screener)"
        },
    )
