"""Crisis resources (CLINICAL.md §3): as `safety` and /me list them, and as a clinic's admin enters them."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from tracker.api.schemas.common import Strict, StrictBoolean
from tracker.api.schemas.one_line import OneLine
from tracker.safety import RESOURCE_KINDS


class CrisisResourceSchema(Schema):
    """Dumps a safety.CrisisResource."""

    name = fields.String(required=True)
    phone = fields.String(
        required=True, metadata={"description": "as written in its country, e.g. 116 123; dial its digits"}
    )
    text = fields.String(required=True, metadata={"description": "one sentence: how, and when, to reach it"})
    kind = fields.String(required=True, validate=validate.OneOf(RESOURCE_KINDS))
    call = fields.Boolean(required=True, metadata={"description": "it takes calls"})
    sms = fields.Boolean(required=True, metadata={"description": "it takes texts"})
    sms_keyword = fields.String(
        allow_none=True, required=True, metadata={"description": "the word to text it, e.g. SHOUT; null: any"}
    )


class SafetySchema(Schema):
    """Dumps a safety.SafetyResponse."""

    message = fields.String(required=True)
    resources = fields.List(fields.Nested(CrisisResourceSchema), required=True)


class CrisisLineSchema(Strict):
    """A crisis line as a clinic's admin enters it (and as the settings give it back); the service checks it."""

    name = OneLine(required=True, validate=validate.Length(max=200))
    phone = OneLine(
        required=True, validate=validate.Length(max=40), metadata={"description": "as dialled, e.g. 116 123"}
    )
    call = StrictBoolean(load_default=True, required=False)
    sms = StrictBoolean(load_default=False, required=False)
    sms_keyword = OneLine(load_default=None, allow_none=True, validate=validate.Length(max=40))
