"""The app factory, configuration checks, health endpoints and security headers."""

from __future__ import annotations

import importlib

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tracker import ROOT, create_app
from tracker.config import ConfigError, load_config


def test_factory_points_at_top_level_templates_and_static(app: Flask) -> None:
    assert app.template_folder == str(ROOT / "templates")
    assert app.static_folder == str(ROOT / "static")


def test_wsgi_module_builds_the_app(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("TRACKER_ENV", "development")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'w.sqlite3'}")
    module = importlib.import_module("wsgi")
    assert importlib.reload(module).app.name == "tracker"


def test_development_defaults_need_nothing(tmp_path) -> None:
    config = load_config({"TRACKER_ENV": "development"}, tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path.resolve() / 'tracker.sqlite3'}"
    assert config["SMS_BACKEND"] == "console"
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"


GOOD_PRODUCTION = {
    "SECRET_KEY": "k" * 20 + "9f8e7d6c5b4a3210fedc",
    "PUBLIC_BASE_URL": "https://tracker.example.org",
    "DATABASE_URL": "postgres://u:p@db.example.org/tracker",
    "SMS_BACKEND": "console",  # production must name its backend (below)
}


def test_production_never_defaults_to_printing_texts(tmp_path) -> None:
    unnamed = {key: value for key, value in GOOD_PRODUCTION.items() if key != "SMS_BACKEND"}
    for environ in (unnamed, {**unnamed, "SMS_BACKEND": "  "}):
        with pytest.raises(ConfigError, match="SMS_BACKEND is required in production"):
            load_config(environ, tmp_path)
    assert load_config(GOOD_PRODUCTION, tmp_path)["SMS_CONSOLE_REDACTED"] is True
    assert load_config({"TRACKER_ENV": "development"}, tmp_path)["SMS_CONSOLE_REDACTED"] is False


def test_production_config_is_strict_and_secure(tmp_path) -> None:
    config = load_config(GOOD_PRODUCTION, tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.example.org/tracker"
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is required"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY is too weak"),
        ({"PUBLIC_BASE_URL": ""}, "PUBLIC_BASE_URL is required"),
        ({"PUBLIC_BASE_URL": "http://tracker.example.org"}, "PUBLIC_BASE_URL must use https"),
        ({"PUBLIC_BASE_URL": "tracker.example.org"}, "PUBLIC_BASE_URL must be an http(s) URL"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL must be"),
        ({"SMS_BACKEND": "carrier-pigeon"}, "SMS_BACKEND must be one of"),
        ({"SMS_BACKEND": "twilio"}, "TWILIO_ACCOUNT_SID is required"),
        ({"SMS_BACKEND": "twilio"}, "TWILIO_AUTH_TOKEN is required"),
        ({"SMS_BACKEND": "twilio"}, "TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID is required"),
        ({"SMS_BACKEND": "twilio", "TWILIO_FROM_NUMBER": "555-1234"}, "TWILIO_FROM_NUMBER must be an E.164"),
        ({"TWILIO_API_BASE_URL": "ftp://x"}, "TWILIO_API_BASE_URL must be an http(s) URL"),
        ({"RATELIMIT_STORAGE_URI": "memcached://x"}, "RATELIMIT_STORAGE_URI must be"),
        ({"TRACKER_ENV": "staging"}, "TRACKER_ENV must be one of"),
    ],
)
def test_bad_configuration_names_the_setting(tmp_path, change: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({**GOOD_PRODUCTION, **change}, tmp_path)
    assert named in str(caught.value)


def test_bad_configuration_stops_the_app_at_start(tmp_path) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"ENVIRON": {"PUBLIC_BASE_URL": "https://x.example.org"}})


def test_twilio_configuration_accepted_when_complete(tmp_path) -> None:
    config = load_config(
        {
            **GOOD_PRODUCTION,
            "SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": "token",
            "TWILIO_MESSAGING_SERVICE_SID": "MG" + "1" * 32,
        },
        tmp_path,
    )
    assert config["TWILIO_MESSAGING_SERVICE_SID"] == "MG" + "1" * 32


def test_healthz_and_readyz(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.get_json()
    assert body["migrations"] == "current"
    assert body["schema_revision"] == body["expected_revision"] is not None


def test_pages_carry_security_headers(client: FlaskClient) -> None:
    response = client.get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"SMS_RATE_PER_SECOND": "0"}, "SMS_RATE_PER_SECOND must be a positive number"),
        ({"SMS_RATE_PER_SECOND": "fast"}, "SMS_RATE_PER_SECOND must be a positive number"),
        ({"SMS_MAX_ATTEMPTS": "2.5"}, "SMS_MAX_ATTEMPTS must be a whole number"),
    ],
)
def test_bad_sms_pacing_names_the_setting(tmp_path, change: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({**GOOD_PRODUCTION, **change}, tmp_path)
    assert named in str(caught.value)


def test_sms_pacing_defaults(tmp_path) -> None:
    config = load_config(GOOD_PRODUCTION, tmp_path)
    assert (config["SMS_RATE_PER_SECOND"], config["SMS_MAX_ATTEMPTS"]) == (1.0, 6)


def test_production_answers_carry_hsts_and_development_does_not(tmp_path) -> None:
    environ = {**GOOD_PRODUCTION, "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}"}
    production = create_app({"ENVIRON": environ})
    response = production.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    development = create_app({"ENVIRON": {"TRACKER_ENV": "development", "DATABASE_URL": environ["DATABASE_URL"]}})
    assert "Strict-Transport-Security" not in development.test_client().get("/healthz").headers
