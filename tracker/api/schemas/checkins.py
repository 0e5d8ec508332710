"""The questionnaire and check-ins, the patient's own and those taken in clinic (API.md, Patient and Clinician)."""

from __future__ import annotations

import copy
from typing import Any

from marshmallow import Schema, fields, validate

from tracker.api.schemas.common import Moment, NestedFrom, Strict, StrictInteger, page_of
from tracker.api.schemas.safety import SafetySchema
from tracker.instruments import INSTRUMENTS, Instrument
from tracker.models.checkin import DIAGNOSES, SEVERITIES, SOURCES
from tracker.services.checkins.submit import safety_for


class AnswerOptionSchema(Schema):
    """Dumps an instruments.AnswerOption."""

    value = fields.Integer(required=True)
    text = fields.String(required=True)
    loinc = fields.String(required=True)


class ItemSchema(Schema):
    """Dumps an instruments.Item."""

    number = fields.Integer(required=True)
    text = fields.String(required=True)
    loinc = fields.String(required=True)


class DifficultySchema(Schema):
    """Dumps an Instrument that has a difficulty item: the item, and the answers it takes."""

    text = fields.String(required=True, attribute="difficulty_item.text")
    loinc = fields.String(required=True, attribute="difficulty_item.loinc")
    options = fields.List(fields.Nested(AnswerOptionSchema), required=True, attribute="difficulty_options")


def _with_difficulty(instrument: Instrument) -> Instrument | None:
    return instrument if instrument.difficulty_item is not None else None


class InstrumentSchema(Schema):
    """Dumps an Instrument."""

    name = fields.String(required=True)
    title = fields.String(required=True)
    stem = fields.String(required=True)
    loinc = fields.String(required=True, attribute="panel_loinc")
    total_loinc = fields.String(required=True)
    items = fields.List(fields.Nested(ItemSchema), required=True)
    options = fields.List(fields.Nested(AnswerOptionSchema), required=True)
    difficulty = NestedFrom(DifficultySchema, _with_difficulty, allow_none=True, required=True)


class CheckInCreateSchema(Strict):
    instrument = fields.String(required=True, validate=validate.OneOf(list(INSTRUMENTS)))
    answers = fields.List(
        StrictInteger(validate=validate.Range(min=0, max=3)),
        required=True,
        validate=validate.Length(min=1, max=9),
        metadata={"description": "one answer per item, 0–3: nine for phq9, seven for gad7"},
    )
    difficulty = StrictInteger(load_default=None, allow_none=True, validate=validate.Range(min=0, max=3))


class ClinicCheckInCreateSchema(CheckInCreateSchema):
    taken_at = Moment(required=True, metadata={"description": "not in the future"})


def by_instrument(component: dict[str, Any]) -> dict[str, Any]:
    """A check-in body as the document states it: one variant per instrument, with exactly as many answers as it
    has items and the difficulty item only where it has one (CLINICAL.md §2, every item answered)."""
    variants = []
    for instrument in INSTRUMENTS.values():
        properties = copy.deepcopy(component["properties"])
        properties["instrument"] = {"type": "string", "enum": [instrument.name]}
        properties["answers"].update(minItems=len(instrument.items), maxItems=len(instrument.items))
        properties["answers"]["description"] = (
            f"one answer per item, 0-3: {len(instrument.items)} for {instrument.name}"
        )
        if instrument.difficulty_item is None:
            properties["difficulty"] = {"type": "integer", "nullable": True, "enum": [None], "description": "none"}
        variants.append({**component, "properties": properties})
    return {"oneOf": variants}


# The components by_instrument rewrites in the OpenAPI document.
CHECKIN_BODIES = ("CheckInCreate", "ClinicCheckInCreate")


class CheckInSchema(Schema):
    """Dumps a CheckIn, with the crisis resources it calls for whenever it is shown (item 9 above 0)."""

    id = fields.String(required=True)
    instrument = fields.String(required=True)
    taken_at = fields.AwareDateTime(required=True)
    answers = fields.List(fields.Integer(), required=True)
    difficulty = fields.Integer(allow_none=True, required=True)
    total = fields.Integer(required=True)
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    diagnosis = fields.String(allow_none=True, required=True, validate=validate.OneOf(DIAGNOSES))
    item9_positive = fields.Boolean(required=True)
    source = fields.String(required=True, validate=validate.OneOf(SOURCES))
    safety = NestedFrom(SafetySchema, safety_for, allow_none=True, required=True)


CheckInPageSchema = page_of(CheckInSchema)
