"""A request body on the API must say it is JSON: one sent as anything else is refused, never half-read.

Without the check, webargs reads a body that is not declared JSON as missing: a PATCH answered 200 having changed
nothing, and a POST said its fields were missing when they were there.
"""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.exceptions import UnsupportedMediaType

PROBLEM_JSON = "application/problem+json"
BODY_METHODS = frozenset({"POST", "PATCH", "PUT"})
NOT_JSON = "The request body must be JSON, sent with Content-Type: application/json."


def is_json_type(mimetype: str) -> bool:
    """application/json, or a JSON-based type (application/merge-patch+json, application/problem+json)."""
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


def require_json_body() -> None:
    """Before each API request: a body on POST, PATCH or PUT not declared JSON is a 415 (an empty body is fine:
    a route that takes none reads none)."""
    if not request.path.startswith("/api/") or request.method not in BODY_METHODS:
        return
    if not request.get_data(cache=True):
        return
    if not is_json_type(request.mimetype):
        raise UnsupportedMediaType(NOT_JSON)


def document_415(document: dict[str, Any]) -> dict[str, Any]:
    """Say in the OpenAPI document that each operation taking a body answers 415 to one not declared JSON."""
    for path in document.get("paths", {}).values():
        for operation in path.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation.setdefault("responses", {}).setdefault(
                    "415",
                    {
                        "description": "the body is not declared JSON (Content-Type: application/json)",
                        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                    },
                )
    return document
