"""Settings from the environment, checked once at start-up.

Every bad or missing value stops the app with a message that names the setting,
so an operator finds the mistake at deploy time, not at 3 a.m.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

ENVIRONMENTS = ("development", "test", "production")
SMS_BACKENDS = ("console", "twilio")
# Values that people paste from tutorials; refused as secrets outside development.
WEAK_SECRETS = {"dev", "secret", "changeme", "change-me", "development", "password", "test"}
MIN_SECRET_LENGTH = 32


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names it and says what is expected."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Bad configuration:\n  - " + "\n  - ".join(problems))


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever spelling the operator gave."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_e164(value: str) -> bool:
    if not re.fullmatch(r"\+[1-9]\d{6,14}", value):
        return False
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return False


def _url_problem(name: str, value: str, *, require_https: bool) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"{name} must be an http(s) URL such as https://tracker.example.org (got {value!r})"
    if require_https and parts.scheme != "https":
        return f"{name} must use https in production (got {value!r})"
    return None


def _positive_number(env: Mapping[str, str], name: str, default: str, problems: list[str]) -> float | None:
    raw = env.get(name, "").strip() or default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        problems.append(f"{name} must be a positive number (got {raw!r})")
        return None
    return value


def load_config(
    environ: Mapping[str, str] | None = None,
    instance_path: str | Path = "instance",
) -> dict[str, Any]:
    """Read and check the settings; raise ConfigError listing every problem at once."""
    env = dict(os.environ if environ is None else environ)
    problems: list[str] = []

    tracker_env = env.get("TRACKER_ENV", "production").strip() or "production"
    if tracker_env not in ENVIRONMENTS:
        problems.append(f"TRACKER_ENV must be one of {', '.join(ENVIRONMENTS)} (got {tracker_env!r})")
    relaxed = tracker_env in ("development", "test")

    secret = env.get("SECRET_KEY", "")
    if not secret:
        if relaxed:
            secret = "development-only-secret-key-not-for-production-use"  # noqa: S105  (refused in production)
        else:
            problems.append("SECRET_KEY is required in production: set it to a random string of 32+ characters")
    elif not relaxed and (len(secret) < MIN_SECRET_LENGTH or secret.lower() in WEAK_SECRETS):
        problems.append(f"SECRET_KEY is too weak: use a random string of at least {MIN_SECRET_LENGTH} characters")

    default_db = f"sqlite:///{Path(instance_path).resolve() / 'tracker.sqlite3'}"
    database_url = normalize_database_url(env.get("DATABASE_URL", "").strip() or default_db)
    if not database_url.startswith(("sqlite://", "postgresql+psycopg://")):
        problems.append(
            f"DATABASE_URL must be a sqlite:// or postgresql:// URL (got scheme of {database_url.split(':')[0]!r})"
        )

    public_base_url = env.get("PUBLIC_BASE_URL", "").strip().rstrip("/")
    if not public_base_url:
        if relaxed:
            public_base_url = "http://127.0.0.1:5000"
        else:
            problems.append("PUBLIC_BASE_URL is required in production: the https address patients' links open")
    elif problem := _url_problem("PUBLIC_BASE_URL", public_base_url, require_https=not relaxed):
        problems.append(problem)

    sms_backend = env.get("SMS_BACKEND", "").strip()
    if not sms_backend:
        if relaxed:
            sms_backend = "console"
        else:
            # Production never falls back to printing patients' texts into a log.
            problems.append("SMS_BACKEND is required in production: twilio (or console, by name, to print nothing)")
    elif sms_backend not in SMS_BACKENDS:
        problems.append(f"SMS_BACKEND must be one of {', '.join(SMS_BACKENDS)} (got {sms_backend!r})")
    twilio = {
        key: env.get(key, "").strip() or None
        for key in (
            "TWILIO_ACCOUNT_SID",
            "TWILIO_AUTH_TOKEN",
            "TWILIO_FROM_NUMBER",
            "TWILIO_MESSAGING_SERVICE_SID",
            "TWILIO_API_BASE_URL",
        )
    }
    if sms_backend == "twilio":
        sid = twilio["TWILIO_ACCOUNT_SID"]
        if not sid or not re.fullmatch(r"AC[0-9a-fA-F]{32}", sid):
            problems.append("TWILIO_ACCOUNT_SID is required with SMS_BACKEND=twilio: 'AC' and 32 hex digits")
        if not twilio["TWILIO_AUTH_TOKEN"]:
            problems.append("TWILIO_AUTH_TOKEN is required with SMS_BACKEND=twilio")
        sender, service = twilio["TWILIO_FROM_NUMBER"], twilio["TWILIO_MESSAGING_SERVICE_SID"]
        if not sender and not service:
            problems.append("TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID is required with SMS_BACKEND=twilio")
        if sender and not is_e164(sender):
            problems.append(f"TWILIO_FROM_NUMBER must be an E.164 number such as +15551234567 (got {sender!r})")
        if service and not re.fullmatch(r"MG[0-9a-fA-F]{32}", service):
            problems.append("TWILIO_MESSAGING_SERVICE_SID must be 'MG' and 32 hex digits")
    base = twilio["TWILIO_API_BASE_URL"]
    if base and (problem := _url_problem("TWILIO_API_BASE_URL", base, require_https=False)):
        problems.append(problem)

    sms_rate = _positive_number(env, "SMS_RATE_PER_SECOND", "1", problems)
    sms_attempts = _positive_number(env, "SMS_MAX_ATTEMPTS", "6", problems)
    if sms_attempts is not None and (sms_attempts != int(sms_attempts) or sms_attempts > 20):
        problems.append("SMS_MAX_ATTEMPTS must be a whole number from 1 to 20")

    hops_raw = env.get("TRUSTED_PROXY_HOPS", "").strip() or "0"
    proxy_hops = int(hops_raw) if hops_raw.isascii() and hops_raw.isdigit() and int(hops_raw) <= 5 else None
    if proxy_hops is None:
        problems.append(f"TRUSTED_PROXY_HOPS must be a whole number from 0 to 5 (got {hops_raw!r})")

    ratelimit_uri = env.get("RATELIMIT_STORAGE_URI", "").strip() or "memory://"
    if urlsplit(ratelimit_uri).scheme not in ("memory", "redis", "rediss"):
        problems.append(f"RATELIMIT_STORAGE_URI must be memory:// or a redis:// URL (got {ratelimit_uri!r})")
    # gunicorn takes its worker count from WEB_CONCURRENCY, so the one setting both starts the workers and
    # tells each of them how many there are.
    workers_raw = env.get("WEB_CONCURRENCY", "").strip() or "1"
    workers = int(workers_raw) if workers_raw.isascii() and workers_raw.isdigit() else 0
    if not 1 <= workers <= 256:
        problems.append(f"WEB_CONCURRENCY must be a whole number of web workers from 1 to 256 (got {workers_raw!r})")
    elif workers > 1 and not relaxed and ratelimit_uri.startswith("memory:"):
        # Each worker would count failed logins on its own: an attacker would get WEB_CONCURRENCY times the tries.
        problems.append(
            f"RATELIMIT_STORAGE_URI must be a shared redis:// store with WEB_CONCURRENCY={workers}: "
            "memory:// counts failed logins in each worker apart"
        )

    if problems:
        raise ConfigError(problems)

    return {
        "TRACKER_ENV": tracker_env,
        "TESTING": tracker_env == "test",
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        # hide_parameters: a database error's message would otherwise quote the row (a phone, a text) into logs.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "PUBLIC_BASE_URL": public_base_url,
        "SMS_BACKEND": sms_backend,
        # Development prints whole texts to the console; anywhere else the console shows no number or link.
        "SMS_CONSOLE_REDACTED": not relaxed,
        **twilio,
        "TWILIO_TIMEOUT_SECONDS": 10.0,
        "SMS_RATE_PER_SECOND": sms_rate,
        "SMS_MAX_ATTEMPTS": int(sms_attempts or 6),
        "RATELIMIT_STORAGE_URI": ratelimit_uri,
        # Proxies in front of the app whose X-Forwarded-For is believed: the client address limits count by.
        "TRUSTED_PROXY_HOPS": proxy_hops or 0,
        # Every limit of a request is tested, so a 429 can say when all of them let the next try through
        # (login_throttle.retry_after); that one number is the Retry-After, set by the app, not the limiter.
        "RATELIMIT_FAIL_ON_FIRST_BREACH": False,
        "RATELIMIT_HEADERS_ENABLED": False,
        "WEB_WORKERS": workers,
        # Cookies: never readable by scripts, not sent on cross-site posts,
        # and only over TLS wherever the app is not on a developer's laptop.
        "SESSION_COOKIE_SECURE": not relaxed,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": not relaxed,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "MAX_CONTENT_LENGTH": 64 * 1024,
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "API_TOKEN_DAYS": 30,
        "INVITATION_HOURS": 72,
    }
