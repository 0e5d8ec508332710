"""What the API's schemas share: strict loading, list pages, problem answers, fields computed from an object."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from datetime import datetime, time
from typing import Any

from marshmallow import Schema, fields, missing, validate

from tracker import local_time
from tracker.api.pagination import MAX_CURSOR
from tracker.api.schemas.one_line import OneLine
from tracker.plain_text import ONE_LINE_PATTERN
from tracker.services.accounts.users import valid_timezone

# One parser per kind of value, each as strict as the document says: Python's int(), float(), strptime and
# ISO parsing read any Unicode digit ("１２" is 12) and marshmallow's booleans read "yes", "on" and 1, none of
# which the document promises. Query strings carry text, so their numbers and booleans have parsers of their own.

# tracker/plain_text.py's UNSAFE as an OpenAPI pattern (ECMA-262), for the text fields that may hold line breaks:
# the request guard refuses those characters in every string of the API (lone surrogates too, which no JSON
# text in UTF-8 can carry). One-line fields say more (schemas/one_line.py).
TEXT_PATTERN = (
    "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*$"
)
DIGITS = re.compile(r"[0-9]{1,9}")  # more would be past every bound of ours anyway
CLOCK_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
_DAY = (
    r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"|(?:0[13-9]|1[0-2])-(?:29|30)"
    r"|(?:0[13578]|1[02])-31)"
)
# RFC 3339 with an offset, in the years anything of ours can be (local_time.EARLIEST to LATEST); every year
# 2000-2099 divisible by 4 is a leap year.
MOMENT_PATTERN = (
    rf"^(?:20[0-9]{{2}}-{_DAY}|20(?:[02468][048]|[13579][26])-02-29)"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
)


# Every name a patient or clinic may be set to (services/accounts/users.valid_timezone), listed in the document.
# The services refuse any other, so a bad zone is reported with the other bad fields of the same request.
TIME_ZONES = sorted(name for name in zoneinfo.available_timezones() if valid_timezone(name))


def timezone_field(**kwargs: Any) -> fields.String:
    return fields.String(metadata={"enum": TIME_ZONES}, **kwargs)


# A name holds more than spaces (the services strip it): one-line characters, one of them not a space.
_LINE = ONE_LINE_PATTERN[3:-3]  # the class of characters a one-line value may not hold
_SPACES = "\\u0020\\u00a0\\u1680\\u2000-\\u200a\\u202f\\u205f\\u3000"
NAME_PATTERN = f"^[^{_LINE}]*[^{_LINE}{_SPACES}][^{_LINE}]*$"


def display_name_field(**kwargs: Any) -> OneLine:
    return OneLine(validate=validate.Length(min=1, max=120), metadata={"pattern": NAME_PATTERN}, **kwargs)


class StrictInteger(fields.Integer):
    """A JSON integer and only that: true, 1.0 and "1" are refused, not coerced."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return int(super()._deserialize(value, attr, data, **kwargs))


class QueryInteger(fields.Integer):
    """An integer in a query string: ASCII digits only (no sign, space, "1.0" or "１２")."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str) or not DIGITS.fullmatch(value):
            raise self.make_error("invalid")
        return int(value)


class StrictFloat(fields.Float):
    """A JSON number and only that: true and "1.5" are refused, not coerced; NaN and infinity never."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_nan=False, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        return float(super()._deserialize(value, attr, data, **kwargs))


class StrictBoolean(fields.Boolean):
    """JSON true or false, and nothing that reads like one (1, "yes", "on")."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class QueryBoolean(fields.Boolean):
    """A boolean in a query string: the words true and false, as the document writes them."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if value == "true":
            return True
        if value == "false":
            return False
        raise self.make_error("invalid")


class ClockTime(fields.Time):
    """A time of day as HH:MM, 24-hour, two ASCII digits each ("9:5" and "09:05:00" are refused)."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"pattern": CLOCK_TIME_PATTERN, "description": "HH:MM, 24-hour", **kwargs.pop("metadata", {})}
        super().__init__(format="%H:%M", metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> time:
        if not isinstance(value, str) or not re.fullmatch(CLOCK_TIME_PATTERN, value):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        return time(int(value[:2]), int(value[3:]))


class Moment(fields.AwareDateTime):
    """A moment as RFC 3339 with its offset, ASCII digits, in 2000-2099 as written and from 2000-01-01T00:00Z
    to 2100-01-01T00:00Z in UTC (local_time.EARLIEST and LATEST)."""

    def __init__(self, **kwargs: Any) -> None:
        description = "RFC 3339 with offset, from 2000-01-01T00:00:00Z to before 2100-01-01T00:00:00Z"
        given = kwargs.pop("metadata", {})
        if "description" in given:
            description = f"{description}; {given.pop('description')}"
        metadata = {"pattern": MOMENT_PATTERN, "description": description, **given}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str) or not re.fullmatch(MOMENT_PATTERN, value):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        moment = super()._deserialize(value, attr, data, **kwargs)
        if local_time.in_range_utc(moment) is None:
            raise validate.ValidationError(local_time.OUT_OF_RANGE)
        return moment


class NestedFrom(fields.Nested):
    """A nested object that `source` computes from the whole object being dumped, not one of its attributes.

    It is documented as any nested object is (a reference to its schema), which fields.Method is not.
    """

    def __init__(self, nested: type[Schema], source: Callable[[Any], Any], **kwargs: Any) -> None:
        super().__init__(nested, **kwargs)
        self.source = source

    def get_value(
        self,
        obj: Any,
        attr: str,
        accessor: Callable[[Any, str, Any], Any] | None = None,
        default: Any = missing,
    ) -> Any:
        return self.source(obj)


def page_of(item: type[Schema]) -> type[Schema]:
    """A list answer (API.md): `{"items": [...], "next_cursor": "..." | null}`, named after its items.

    It dumps pagination.Page, or any object or dict with the same two names.
    """
    name = item.__name__.removesuffix("Schema") + "PageSchema"
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.String(allow_none=True, required=True),
        },
        name=name,
    )


class Strict(Schema):
    """Unknown fields are an error (marshmallow's default), named in the problem's errors."""


# What tracker/api/pagination.py gives out: itsdangerous's URL-safe payload (a leading "." when compressed)
# and signature. Only a cursor this list gave this caller is read; any other answers 400.
CURSOR_PATTERN = r"^\.?[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"


def limit_field() -> QueryInteger:
    return QueryInteger(load_default=50, validate=validate.Range(min=1, max=200), metadata={"example": 50})


def cursor_field() -> fields.String:
    # Its length and shape are checked by the codec, which answers 400 to anything it did not make.
    return fields.String(
        load_default=None,
        metadata={
            "maxLength": MAX_CURSOR,
            "pattern": CURSOR_PATTERN,
            "description": "opaque: the next_cursor this list gave this caller; any other cursor answers 400",
        },
    )


class PageArgsSchema(Strict):
    limit = limit_field()
    cursor = cursor_field()


class ProblemFieldSchema(Schema):
    field = fields.String(required=True)
    message = fields.String(required=True)


class ProblemSchema(Schema):
    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.List(fields.Nested(ProblemFieldSchema))
    retry_after = fields.Integer(metadata={"description": "on a 429: the seconds to wait, as in Retry-After"})
