"""One line of text: names, phones, emails, time zones, searches. Notes and reasons are fields.String.

A line break in a one-line value would split a header, a CSV cell or a log line; it is refused (422 naming the
field) with the characters tracker/plain_text.py refuses everywhere, and the OpenAPI document says so.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields

from tracker.plain_text import ONE_LINE_PATTERN, one_line_problem


class OneLine(fields.String):
    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {"pattern": ONE_LINE_PATTERN, **(kwargs.get("metadata") or {})}
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if problem := one_line_problem(text):
            raise ValidationError(f"{problem}.")
        return text
