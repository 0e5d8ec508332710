"""Side effects around an infusion (CLINICAL.md §7): the checklist's answers, a report, the patient's open check."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from tracker import side_effects as rules
from tracker.api.schemas.common import NestedFrom, Strict
from tracker.models import SideEffectReport
from tracker.services.side_effects.reports import DueCheck


def _level_field(item: rules.Item, **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.OneOf(rules.LEVELS), metadata={"description": item.words}, **kwargs)


# Every item is required: a checklist left half done would read as "none" where nobody answered.
SideEffectAnswersSchema = Strict.from_dict(
    {item.key: _level_field(item, required=True) for item in rules.ITEMS}, name="SideEffectAnswersSchema"
)
SideEffectLevelsSchema = Schema.from_dict(
    {item.key: _level_field(item, required=True) for item in rules.ITEMS}, name="SideEffectLevelsSchema"
)


def answers_of(report: SideEffectReport) -> dict[str, str]:
    return {key: rules.LEVELS[level] for key, level in report.levels.items()}


class SideEffectReportSchema(Schema):
    """One report: each item's level, never a total (CLINICAL.md §7)."""

    id = fields.String(required=True)
    infusion_id = fields.String(required=True)
    timing = fields.String(required=True, validate=validate.OneOf(rules.TIMINGS))
    source = fields.String(required=True, validate=validate.OneOf(rules.SOURCES))
    reported_at = fields.AwareDateTime(required=True)
    answers = NestedFrom(SideEffectLevelsSchema, answers_of, required=True)


class SideEffectReportListSchema(Schema):
    items = fields.List(fields.Nested(SideEffectReportSchema), required=True)


class SideEffectItemSchema(Schema):
    key = fields.String(required=True, validate=validate.OneOf(rules.ITEM_KEYS))
    text = fields.String(required=True)


class SideEffectCheckSchema(Schema):
    """The patient's next-morning check: due or not; when due, the visit it asks about and until when."""

    due = fields.Boolean(required=True)
    infusion_id = fields.String(allow_none=True, required=True)
    given_at = fields.AwareDateTime(allow_none=True, required=True)
    open_until = fields.AwareDateTime(allow_none=True, required=True)
    items = fields.List(fields.Nested(SideEffectItemSchema), required=True)
    levels = fields.List(fields.String(validate=validate.OneOf(rules.LEVELS)), required=True)


def check_answer(due: DueCheck | None) -> dict[str, Any]:
    """What SideEffectCheckSchema dumps for the patient's open check, or for none."""
    return {
        "due": due is not None,
        "infusion_id": str(due.infusion.id) if due else None,
        "given_at": due.infusion.given_at if due else None,
        "open_until": due.open_until if due else None,
        "items": [{"key": item.key, "text": item.words} for item in rules.ITEMS],
        "levels": list(rules.LEVELS),
    }
