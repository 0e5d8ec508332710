"""The JSON API (API.md): bearer tokens, problem+json errors, an OpenAPI document built from the schemas."""

from __future__ import annotations

import copy
from typing import Any

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from flask_smorest import Api
from marshmallow import fields

from tracker.api.media_type import document_415, require_json_body
from tracker.api.schemas import checkins
from tracker.api.schemas.common import TEXT_PATTERN, ProblemSchema
from tracker.extensions import csrf

PROBLEM_JSON = "application/problem+json"


class TrackerApi(Api):
    """flask-smorest, minus its app-wide error handlers: the app answers problem+json for /api/ itself."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        return None


api = TrackerApi()


def problem_media_types(document: dict[str, Any]) -> dict[str, Any]:
    """Error answers are application/problem+json (RFC 9457): say so in the document."""
    for path in document.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                content = response.get("content") if isinstance(response, dict) else None
                if (
                    content
                    and (status == "default" or str(status).startswith(("4", "5")))
                    and "application/json" in content
                ):
                    content[PROBLEM_JSON] = content.pop("application/json")
    for response in document.get("components", {}).get("responses", {}).values():
        content = response.get("content", {})
        if "application/json" in content:
            content[PROBLEM_JSON] = content.pop("application/json")
    return document


def as_read(document: dict[str, Any]) -> dict[str, Any]:
    """What the schemas cannot say of themselves: a body with no required field may be left out (it is read as
    {}), a query parameter left out is absent rather than null, and a check-in's answers are as many as its
    instrument's items."""
    schemas = document.get("components", {}).get("schemas", {})
    for name in checkins.CHECKIN_BODIES:
        if name in schemas:
            schemas[name] = checkins.by_instrument(schemas[name])
    for path in document.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter.get("in") == "query" and "default" in schema and schema["default"] is None:
                    del schema["default"]
                    schema.pop("nullable", None)
                    if None in schema.get("enum", ()):
                        schema["enum"] = [value for value in schema["enum"] if value is not None]
            body = operation.get("requestBody", {})
            for content in body.get("content", {}).values():
                ref = content.get("schema", {}).get("$ref", "")
                component = schemas.get(ref.rpartition("/")[2], {})
                if ref and "oneOf" not in component and not component.get("required"):
                    body["required"] = False
    return document


def plain_text_pattern(converter: Any, field: fields.Field, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Every text the API takes is refused when it holds characters tracker/plain_text.py refuses (the request
    guard): a string with no stricter pattern, choice or format of its own says so in the document."""
    if ret.get("type") != "string" or {"pattern", "enum", "format"} & ret.keys():
        return {}
    return {"pattern": TEXT_PATTERN}


def answer_options_plainly(response: Response) -> Response:
    """OPTIONS on the API answers 204 with `Allow` and no body: never the empty HTML page Flask makes for it."""
    if request.method == "OPTIONS" and request.path.startswith("/api/") and response.status_code == 200:
        allowed = response.headers.get("Allow")
        response = Response(status=204)
        del response.headers["Content-Type"]  # no body, so no type: Werkzeug would say text/html
        if allowed:
            response.headers["Allow"] = allowed
    return response


def init_api(app: Flask) -> None:
    from tracker.api import auth, boosters, clinic, course, medicines, patient, side_effects

    app.config.setdefault("API_TITLE", "tracker")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    api.init_app(app)
    api.ma_plugin.converter.add_attribute_function(plain_text_pattern)
    app.after_request(answer_options_plainly)
    app.before_request(require_json_body)  # a body must say it is JSON (media_type.py)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for blueprint in (auth.bp, patient.bp, clinic.bp, course.bp, boosters.bp, side_effects.bp, medicines.bp):
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)  # bearer tokens, never cookies: nothing for CSRF to ride on

    @app.route("/api/v1/openapi.json")
    def openapi_document() -> ResponseReturnValue:
        # A copy: the spec hands out its own dicts, and the rewriting below must start afresh each time.
        document = document_415(as_read(problem_media_types(copy.deepcopy(api.spec.to_dict()))))
        document["servers"] = [{"url": "/"}]
        return jsonify(document)
