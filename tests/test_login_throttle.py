"""Throttling that stops attackers, not clinics (tracker/login_throttle.py): failures count, successes do not."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import PASSWORD, Factory
from flask import request
from flask.testing import FlaskClient

from tracker import create_app
from tracker.config import ConfigError, load_config

TOKEN = "/api/v1/auth/token"


def attempt(client: FlaskClient, username: str, password: str, address: str) -> int:
    body = {"username": username, "password": password}
    return client.post(TOKEN, json=body, environ_base={"REMOTE_ADDR": address}).status_code


def test_a_clinic_behind_one_address_is_never_throttled_for_logging_in(client: FlaskClient, factory: Factory) -> None:
    clinic = factory.clinic()
    staff = [factory.user(clinic) for _ in range(3)]
    statuses = [attempt(client, s.email or "", PASSWORD, "10.9.9.9") for _ in range(5) for s in staff]
    assert statuses == [201] * 15


def test_one_account_is_locked_after_10_failures_from_any_mix_of_addresses(
    client: FlaskClient, factory: Factory
) -> None:
    victim = factory.user()
    statuses = [attempt(client, victim.email or "", "wrong guess!", f"198.51.100.{n}") for n in range(11)]
    assert statuses == [401] * 10 + [429]
    # Even the right password waits out the lock, whatever the address; another account is untouched.
    assert attempt(client, (victim.email or "").upper(), PASSWORD, "203.0.113.7") == 429
    assert attempt(client, factory.user().email or "", PASSWORD, "198.51.100.1") == 201


def test_the_answer_says_how_long_to_wait(client: FlaskClient, factory: Factory) -> None:
    victim = factory.user()
    for n in range(10):
        attempt(client, victim.email or "", "wrong guess!", f"192.0.2.{n}")
    response = client.post(TOKEN, json={"username": victim.email, "password": "x"})
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60


@pytest.mark.parametrize("unknown", ["nobody@example.org", "+13125559999"])
def test_an_unknown_account_is_throttled_like_a_known_one(client: FlaskClient, unknown: str) -> None:
    statuses = [attempt(client, unknown, "wrong guess!", f"198.51.100.{n}") for n in range(11)]
    assert statuses == [401] * 10 + [429]


def test_behind_a_trusted_proxy_the_clients_own_address_is_counted(tmp_path: Path) -> None:
    environ = {"TRACKER_ENV": "test", "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}", "TRUSTED_PROXY_HOPS": "1"}
    app = create_app({"ENVIRON": environ})
    seen: list[str] = []

    @app.get("/_address")
    def address() -> str:
        seen.append(request.remote_addr or "")
        return "ok"

    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    app.test_client().get("/_address", headers=forwarded, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert seen == ["203.0.113.9"]
    direct = create_app({"ENVIRON": {**environ, "TRUSTED_PROXY_HOPS": "0"}})
    direct.add_url_rule("/_address", view_func=address)
    direct.test_client().get("/_address", headers=forwarded, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert seen == ["203.0.113.9", "10.0.0.2"]  # without a trusted proxy the header is a client's claim


@pytest.mark.parametrize("hops", ["-1", "6", "two", "1.5"])
def test_a_bad_proxy_hop_count_names_the_setting(tmp_path: Path, hops: str) -> None:
    with pytest.raises(ConfigError, match="TRUSTED_PROXY_HOPS"):
        load_config({"TRACKER_ENV": "development", "TRUSTED_PROXY_HOPS": hops}, tmp_path)
