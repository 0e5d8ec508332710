"""The side-effect checklist as a form (CLINICAL.md §7): parsing only; services/side_effects decides what is valid."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice

from tracker import side_effects as rules
from tracker.errors import Invalid

MESSAGES = {
    "missing": "Please choose none, mild, moderate or severe.",
    "wrong": "Please choose one of these answers.",
}


class ChecklistForm(FlaskForm):
    """One radio group per item; `answers` is what the service reads."""

    items = rules.ITEMS
    levels = rules.LEVELS

    @property
    def answers(self) -> dict[str, Any]:
        return {item.key: self[item.key].data or None for item in rules.ITEMS}

    @property
    def with_errors(self) -> list[Any]:
        """The items' fields that carry a message, in the checklist's order."""
        return [self[item.key] for item in rules.ITEMS if self[item.key].errors]

    def show(self, error: Invalid) -> list[str]:
        """Each of the service's problems beside its item; those of no item returned."""
        others = []
        for problem in error.problems:
            if problem.field in rules.ITEM_KEYS:
                field = self[problem.field]
                field.errors = [*field.errors, MESSAGES["missing" if not field.data else "wrong"]]
            else:
                others.append(problem.message)
        return others


for _item in rules.ITEMS:
    setattr(
        ChecklistForm,
        _item.key,
        RadioField(
            _item.words,
            choices=[SelectChoice(level, level.capitalize()) for level in rules.LEVELS],
            validate_choice=False,
        ),
    )
