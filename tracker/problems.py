"""problem+json (RFC 9457) answers for the API, with one `errors` entry per bad field."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from flask import Response, json, request
from werkzeug.exceptions import HTTPException

from tracker import login_throttle
from tracker.errors import Invalid, ServiceError, TooMany

API_PREFIX = "/api/"
PROBLEM_TYPE = "about:blank"


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def problem(
    status: int,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    members: Mapping[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {"type": PROBLEM_TYPE, "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    body.update(members or {})  # RFC 9457 extension members
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def field_errors(messages: Any, path: str = "") -> Iterator[dict[str, str]]:
    """Flatten marshmallow's nested messages into `answers[3]`-style field paths."""
    if isinstance(messages, Mapping):
        for key, inner in messages.items():
            if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                child = f"{path}[{key}]"
            elif key == "_schema":
                child = path
            else:
                child = f"{path}.{key}" if path else str(key)
            yield from field_errors(inner, child)
    elif isinstance(messages, list | tuple):
        for message in messages:
            if isinstance(message, Mapping | list):
                yield from field_errors(message, path)
            else:
                yield {"field": path or "body", "message": str(message)}
    else:
        yield {"field": path or "body", "message": str(messages)}


def problem_from_service(error: ServiceError) -> Response:
    errors = None
    # Invalid, and a service's ask for a confirmation, name their fields.
    problems = error.problems if isinstance(error, Invalid) else getattr(error, "problems", None)
    if problems is not None:
        errors = [{"field": p.field, "message": p.message} for p in problems]
    if isinstance(error, TooMany):
        wait = error.retry_after
        return problem(
            error.status, error.title, error.detail, errors, {"Retry-After": str(wait)}, {"retry_after": wait}
        )
    return problem(error.status, error.title, error.detail, errors)


def problem_from_http(error: HTTPException) -> Response:
    status = error.code or 500
    title = error.name
    detail = error.description or title
    errors = None
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") if isinstance(data, Mapping) else None
    if messages:
        # webargs nests by location ({"json": {...}}, {"query": {...}}); the field path is what matters.
        flat: list[dict[str, str]] = []
        for location, inner in messages.items() if isinstance(messages, Mapping) else [("json", messages)]:
            for item in field_errors(inner):
                if location == "json" and item["field"] == "body" and status == 400:
                    item["message"] = "The body is not valid JSON."
                flat.append(item)
        errors = flat
        if status == 422:
            detail = "Some values are missing or not valid: " + "; ".join(f"{e['field']}: {e['message']}" for e in flat)
        elif status == 400:
            detail = "The request body is not valid JSON."
    headers = {}
    members: dict[str, Any] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status == 429:
        wait = login_throttle.retry_after()
        headers["Retry-After"] = str(wait)
        members["retry_after"] = wait
        detail = f"Too many attempts. Try again in {login_throttle.wait_in_words(wait)}."
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    return problem(status, title, detail, errors, headers, members)
