"""Alerts to the clinic, and taking charge of one (API.md, Clinician)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from tracker.api.schemas.common import Strict, page_of
from tracker.models.alert import ALERT_KINDS, ALERT_STATUSES, RISK_LEVELS


class AlertSchema(Schema):
    """Dumps an Alert."""

    id = fields.String(required=True)
    patient_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ALERT_KINDS))
    reason = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(ALERT_STATUSES))
    raised_at = fields.AwareDateTime(required=True)
    deadline = fields.AwareDateTime(allow_none=True, required=True)
    escalated_at = fields.AwareDateTime(allow_none=True, required=True)
    acknowledged_by = fields.String(allow_none=True, required=True, attribute="acknowledged_by_id")
    acknowledged_at = fields.AwareDateTime(allow_none=True, required=True)
    note = fields.String(allow_none=True, required=True)
    risk_level = fields.String(allow_none=True, required=True, validate=validate.OneOf(RISK_LEVELS))


AlertPageSchema = page_of(AlertSchema)


class AlertListArgsSchema(Strict):
    status = fields.String(load_default=None, validate=validate.OneOf(ALERT_STATUSES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=validate.Length(max=100))


class AcknowledgeSchema(Strict):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    risk_level = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(RISK_LEVELS))
