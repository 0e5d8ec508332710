"""Throttling that stops attackers, not clinics (tracker/login_throttle.py): failures count, successes do not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import limits.storage.memory
import pytest
from conftest import csrf_token_from
from factories import PASSWORD, Factory
from flask import request
from flask.testing import FlaskClient

from tracker import ROOT, create_app, login_throttle
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


def test_every_spelling_of_a_number_counts_against_the_one_account(client: FlaskClient, factory: Factory) -> None:
    factory.patient(factory.clinic(), phone="+13125550142")
    spellings = ["+13125550142", "(312) 555-0142", "312.555.0142", "1 312 555 0142", "+1 (312) 555 0142"]
    statuses = [attempt(client, spellings[n % len(spellings)], "wrong guess!", f"198.51.100.{n}") for n in range(11)]
    assert statuses == [401] * 10 + [429]
    assert attempt(client, "3125550142", PASSWORD, "203.0.113.9") == 429


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


class LimiterTime:
    """The limiter store's clock and the app's reading of it, moved by the test instead of by sleeping."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1_800_000_000.0
        # The time module as those two modules see it, but for time(): monotonic() and sleep() stay real.
        fake = SimpleNamespace(**{name: getattr(time, name) for name in dir(time) if not name.startswith("_")})
        fake.time = lambda: self.now
        monkeypatch.setattr(limits.storage.memory, "time", fake)
        monkeypatch.setattr(login_throttle, "time", fake)


@pytest.fixture
def limiter_time(monkeypatch: pytest.MonkeyPatch) -> LimiterTime:
    return LimiterTime(monkeypatch)


def test_retry_after_is_the_accounts_remaining_lock_to_the_second(
    client: FlaskClient, factory: Factory, limiter_time: LimiterTime
) -> None:
    victim = factory.user()
    start = limiter_time.now
    for n in range(10):
        limiter_time.now = start + 5 * n
        assert attempt(client, victim.email or "", "wrong guess!", f"198.51.100.{n}") == 401
    limiter_time.now = start + 100
    response = client.post(TOKEN, json={"username": victim.email, "password": PASSWORD})
    assert response.status_code == 429
    # The lock began with the first failure and lasts 15 minutes: 800 seconds are left.
    assert response.headers["Retry-After"] == "800"
    body = response.get_json()
    assert body["retry_after"] == 800
    assert "Try again in 14 minutes." in body["detail"]
    limiter_time.now = start + 899.5
    assert client.post(TOKEN, json={"username": victim.email, "password": PASSWORD}).headers["Retry-After"] == "1"
    limiter_time.now = start + 900  # the wait it gave was the truth: now the right password gets in
    assert attempt(client, victim.email or "", PASSWORD, "203.0.113.7") == 201


def test_when_the_hour_lock_outlasts_the_quarter_hour_the_wait_is_the_hours(
    client: FlaskClient, factory: Factory, limiter_time: LimiterTime
) -> None:
    victim = factory.user()
    start = limiter_time.now
    for n in range(10):
        attempt(client, victim.email or "", "wrong guess!", f"198.51.100.{n}")
    limiter_time.now = start + 900  # the first lock is over; ten more failures meet 20 an hour
    for n in range(10):
        assert attempt(client, victim.email or "", "wrong guess!", f"192.0.2.{n}") == 401
    limiter_time.now = start + 1000
    response = client.post(TOKEN, json={"username": victim.email, "password": PASSWORD})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2600"  # the hour's window, not the quarter hour's 800
    assert response.get_json()["retry_after"] == 2600
    limiter_time.now = start + 1800  # the quarter hour's lock alone would have ended here
    assert attempt(client, victim.email or "", PASSWORD, "203.0.113.7") == 429


def web_login(client: FlaskClient, username: str, password: str, address: str = "127.0.0.1") -> tuple[int, str, str]:
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )
    return response.status_code, response.headers.get("Retry-After", ""), response.get_data(as_text=True)


def test_the_page_says_in_words_the_wait_the_header_gives_for_an_address(
    client: FlaskClient, factory: Factory, limiter_time: LimiterTime
) -> None:
    start = limiter_time.now
    for n in range(10):
        limiter_time.now = start + n
        assert web_login(client, f"guess{n}@example.org", "wrong guess!")[0] == 401
    limiter_time.now = start + 15
    status, retry_after, page = web_login(client, factory.user().email or "", PASSWORD)
    assert (status, retry_after) == (429, "45")
    assert "Try again in 45 seconds." in page
    # Another address is not this one's lock.
    assert web_login(client, factory.user().email or "", PASSWORD, "203.0.113.5")[0] == 302


def test_the_page_for_a_locked_account_gives_the_longest_of_the_locks_broken(
    client: FlaskClient, factory: Factory, limiter_time: LimiterTime
) -> None:
    victim = factory.user()
    start = limiter_time.now
    for n in range(10):  # one address, one account: the address's minute and the account's quarter hour
        limiter_time.now = start + n
        web_login(client, victim.email or "", "wrong guess!")
    limiter_time.now = start + 20
    status, retry_after, page = web_login(client, victim.email or "", PASSWORD)
    assert (status, retry_after) == (429, "880")
    assert "Try again in 15 minutes." in page


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "1 second"),
        (45, "45 seconds"),
        (60, "1 minute"),
        (61, "2 minutes"),
        (800, "14 minutes"),
        (3600, "60 minutes"),
        (7199, "120 minutes"),
        (7200, "2 hours"),
        (86399, "24 hours"),
    ],
)
def test_the_wait_in_words_is_rounded_up(seconds: int, words: str) -> None:
    assert login_throttle.wait_in_words(seconds) == words


PRODUCTION = {
    "TRACKER_ENV": "production",
    "SECRET_KEY": "k" * 40,
    "PUBLIC_BASE_URL": "https://tracker.example.org",
    "SMS_BACKEND": "console",
}


@pytest.mark.parametrize("uri", ["", "memory://"])
@pytest.mark.parametrize("workers", ["2", "4"])
def test_production_with_several_workers_and_a_store_of_their_own_refuses_to_start(
    tmp_path: Path, uri: str, workers: str
) -> None:
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI must be a shared redis:// store"):
        load_config({**PRODUCTION, "WEB_CONCURRENCY": workers, "RATELIMIT_STORAGE_URI": uri}, tmp_path)


def test_one_worker_may_count_in_memory_and_several_share_redis(tmp_path: Path) -> None:
    assert load_config({**PRODUCTION, "WEB_CONCURRENCY": "1"}, tmp_path)["RATELIMIT_STORAGE_URI"] == "memory://"
    shared = {**PRODUCTION, "WEB_CONCURRENCY": "4", "RATELIMIT_STORAGE_URI": "redis://cache:6379/0"}
    assert load_config(shared, tmp_path)["WEB_WORKERS"] == 4
    # Development serves from one process whatever it says.
    assert load_config({"TRACKER_ENV": "development", "WEB_CONCURRENCY": "4"}, tmp_path)["WEB_WORKERS"] == 4


@pytest.mark.parametrize("workers", ["0", "-1", "two", "1.5", "100000"])
def test_a_bad_worker_count_names_the_setting(tmp_path: Path, workers: str) -> None:
    with pytest.raises(ConfigError, match="WEB_CONCURRENCY"):
        load_config({**PRODUCTION, "WEB_CONCURRENCY": workers}, tmp_path)


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

# One web worker: its own process, app and limiter, counting in the store it is given.
WORKER = """
import json, sys
from tracker import create_app
from tracker.extensions import db
environ = {"TRACKER_ENV": "test", "DATABASE_URL": sys.argv[1], "RATELIMIT_STORAGE_URI": sys.argv[2]}
app = create_app({"ENVIRON": environ, "RATELIMIT_KEY_PREFIX": sys.argv[3], "FAST_PASSWORD_HASHES_IN_TESTS": True})
with app.app_context():
    db.create_all()
client = app.test_client()
body = {"username": "nobody@example.org", "password": "wrong guess!"}
statuses = []
for n in range(int(sys.argv[4])):
    answer = client.post("/api/v1/auth/token", json=body, environ_base={"REMOTE_ADDR": f"198.51.100.{n}"})
    statuses.append([answer.status_code, answer.headers.get("Retry-After")])
print(json.dumps(statuses))
"""


def redis_problem() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        return f"no Redis answers at {REDIS_URL}: {error}"
    return None


def test_two_workers_sharing_redis_count_the_same_failures(tmp_path: Path) -> None:
    if problem := redis_problem():
        pytest.skip(problem)
    import redis

    prefix = f"test-{uuid.uuid4().hex}"
    database = f"sqlite:///{tmp_path / 'workers.sqlite3'}"

    def worker(tries: int, store: str) -> list[list[object]]:
        ran = subprocess.run(  # noqa: S603  (this interpreter, running the script above)
            [sys.executable, "-c", WORKER, database, store, prefix, str(tries)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
            check=True,
        )
        return list(json.loads(ran.stdout.strip().splitlines()[-1]))

    try:
        assert [s for s, _ in worker(6, REDIS_URL)] == [401] * 6
        second = worker(6, REDIS_URL)  # the account's 10 are spent across both workers
        assert [s for s, _ in second] == [401] * 4 + [429] * 2
        assert 0 < int(str(second[-1][1])) <= 15 * 60
        # The same two workers counting in memory each allow ten: what the production check refuses.
        assert [s for s, _ in worker(6, "memory://")] == [401] * 6
    finally:
        store = redis.Redis.from_url(REDIS_URL)
        for key in store.scan_iter(match=f"*{prefix}*"):
            store.delete(key)
