"""The JSON API (API.md): bearer tokens, problem+json errors, an OpenAPI document built from the schemas."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from flask_smorest import Api

from tracker.api.schemas.common import ProblemSchema
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


def init_api(app: Flask) -> None:
    from tracker.api import auth, boosters, clinic, course, patient

    app.config.setdefault("API_TITLE", "tracker")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    api.init_app(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for blueprint in (auth.bp, patient.bp, clinic.bp, course.bp, boosters.bp):
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)  # bearer tokens, never cookies: nothing for CSRF to ride on

    @app.route("/api/v1/openapi.json")
    def openapi_document() -> ResponseReturnValue:
        document = problem_media_types(api.spec.to_dict())
        document["servers"] = [{"url": "/"}]
        return jsonify(document)
