"""One line of text on a web form: the field's message says so when a line break was typed or pasted.

The request guard drops NUL, controls and direction marks from every form before this sees it (and this field
refuses them too, should one get past); line breaks are left for the fields to judge, since a note keeps its
lines. Notes and reasons are TextAreaFields.
"""

from __future__ import annotations

from typing import Any

from wtforms import StringField
from wtforms.validators import ValidationError

from tracker.plain_text import one_line_problem


class OneLineField(StringField):
    """A StringField (pass widget= for email, search or tel) whose value is one line."""

    def pre_validate(self, form: Any) -> None:
        # What was typed, before any filter: a strip would drop a line break at either end unseen.
        typed = self.raw_data[0] if self.raw_data else self.data
        if isinstance(typed, str) and (problem := one_line_problem(typed)):
            raise ValidationError(f"This field {problem}.")
