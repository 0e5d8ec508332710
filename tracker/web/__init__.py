"""The HTML side: login, patients' pages, the clinic's pages, and what they share."""

from __future__ import annotations

from flask import Flask, Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from tracker import login_throttle
from tracker.errors import ServiceError
from tracker.problems import is_api_request, problem_from_http, problem_from_service

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def register_web(app: Flask) -> None:
    from tracker.web import admin_medicines  # noqa: F401 (registers its page on the admin blueprint)
    from tracker.web.admin import bp as admin_bp
    from tracker.web.auth import bp as auth_bp
    from tracker.web.checkin_link import bp as checkin_link_bp
    from tracker.web.clinic import bp as clinic_bp
    from tracker.web.exports import bp as exports_bp
    from tracker.web.favicon import bp as favicon_bp
    from tracker.web.health import bp as health_bp
    from tracker.web.home import bp as home_bp
    from tracker.web.patient import bp as patient_bp
    from tracker.web.patient_side_effects import bp as patient_side_effects_bp

    for blueprint in (auth_bp, home_bp, patient_bp, clinic_bp, admin_bp, health_bp, checkin_link_bp, exports_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(patient_side_effects_bp)
    app.register_blueprint(favicon_bp)

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if app.config.get("TRACKER_ENV") == "production":
            # Browsers keep to https for two years once they have seen this (the proxy terminates TLS).
            response.headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        if request.endpoint and not request.endpoint.startswith("static"):
            # Pages show health data: never keep them in a shared cache or the back-button cache.
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        if is_api_request():
            return problem_from_http(error)
        message = "This form had expired or was not sent from our page. Nothing was saved: please try again."
        return render_template("error.html", title="Please try again", message=message), 400

    # The API answers in problem+json, the pages in HTML: one handler per error kind decides which.
    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError) -> ResponseReturnValue:
        if is_api_request():
            return problem_from_service(error)
        return render_template("error.html", title=error.title, message=error.detail), error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        if error.code is None or error.code < 400:
            return error
        if is_api_request():
            return problem_from_http(error)
        if error.code == 429:
            # The same wait as the Retry-After header and the API's problem: the longest lock broken.
            wait = login_throttle.retry_after()
            message = f"Too many attempts. Try again in {login_throttle.wait_in_words(wait)}."
            return render_template("error.html", title=error.name, message=message), 429, {"Retry-After": str(wait)}
        messages = {
            404: "There is nothing here, or it is not yours to see.",
            403: "You do not have access to this page.",
            413: "That was too much to send at once.",
        }
        message = messages.get(error.code, error.description or "Something went wrong.")
        return render_template("error.html", title=error.name, message=message), error.code
