"""What every request's input may hold, checked once before any view reads it.

- JSON nested deeper than MAX_DEPTH, or with a number longer than MAX_DIGITS, is refused (400) before it is
  parsed: the parser recurses on depth, and refuses ints past 4,300 digits with an error of its own.
- A file in a web form is refused (400): no page of ours takes one.
- Characters no field of ours can mean (tracker/plain_text.py) are refused in the API (422, naming the
  field) and dropped from web forms and query strings (a pasted note keeps its words).
- Twilio's webhooks are left as they came: their signature covers the exact form, and the text a patient
  sent is cleaned where it is stored (services/messaging/inbound.py).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest

from tracker.errors import FieldProblem, Invalid
from tracker.plain_text import UNSAFE, without_unsafe

MAX_DEPTH = 32
MAX_DIGITS = 40  # no value of ours needs more; a longer number is an attack on the parser
UNGUARDED_PREFIXES = ("/sms/", "/static/")


def json_shape(raw: bytes) -> tuple[int, int]:
    """How deeply the JSON text nests and its longest run of digits, read without parsing it (strings and their
    escapes skipped): the parser recurses on depth and refuses ints past 4,300 digits with an error of its own."""
    depth = deepest = digits = longest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
            continue
        if 0x30 <= byte <= 0x39:
            digits += 1
            longest = max(longest, digits)
            continue
        digits = 0
        if byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest, longest


def json_depth(raw: bytes) -> int:
    return json_shape(raw)[0]


def _unsafe_in(value: Any, path: str, found: list[FieldProblem]) -> None:
    if isinstance(value, str):
        if UNSAFE.search(value):
            found.append(FieldProblem(path or "body", "contains control or direction characters; remove them"))
    elif isinstance(value, dict):
        for key, inner in value.items():
            child = f"{path}.{key}" if path else str(key)
            _unsafe_in(key, child, found)
            _unsafe_in(inner, child, found)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _unsafe_in(inner, f"{path}[{index}]", found)


def _check_api() -> None:
    found: list[FieldProblem] = []
    for name, values in request.args.lists():
        for value in values:
            _unsafe_in(value, name, found)
    raw = request.get_data(cache=True)
    if raw:
        # Whatever the content type says: a parser downstream may read the body as JSON anyway.
        depth, digits = json_shape(raw)
        if depth > MAX_DEPTH:
            raise BadRequest(f"The JSON body nests deeper than {MAX_DEPTH} levels.")
        if digits > MAX_DIGITS:
            raise BadRequest(f"A number in the JSON body has more than {MAX_DIGITS} digits.")
        body = request.get_json(silent=True) if request.is_json else None
        if body is not None:
            _unsafe_in(body, "", found)
    if found:
        raise Invalid(found)


def _clean_web() -> None:
    if request.files:
        # No page of ours takes a file: a field sent as one would reach a form that expects text.
        raise BadRequest("This form takes no files.")
    if request.args and any(UNSAFE.search(v) for values in request.args.listvalues() for v in values):
        request.args = ImmutableMultiDict(
            [(key, without_unsafe(value)) for key, values in request.args.lists() for value in values]
        )
    if request.form and any(UNSAFE.search(v) for values in request.form.listvalues() for v in values):
        request.form = ImmutableMultiDict(
            [(key, without_unsafe(value)) for key, values in request.form.lists() for value in values]
        )


def init_request_guard(app: Flask) -> None:
    @app.before_request
    def guard_input() -> None:
        if request.path.startswith(UNGUARDED_PREFIXES):
            return
        if request.path.startswith("/api/"):
            _check_api()
        else:
            _clean_web()
