"""What the API's schemas share: strict loading, list pages, problem answers, fields computed from an object."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema, fields, missing, validate


class StrictInteger(fields.Integer):
    """An integer and only an integer: JSON true, 1.0 and "1" are refused, not coerced."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return int(super()._deserialize(value, attr, data, **kwargs))


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


class PageArgsSchema(Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=validate.Length(max=500))


class ProblemFieldSchema(Schema):
    field = fields.String(required=True)
    message = fields.String(required=True)


class ProblemSchema(Schema):
    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.List(fields.Nested(ProblemFieldSchema))
