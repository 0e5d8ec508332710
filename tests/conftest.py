"""Fixtures: one app per database for the session, each test in a transaction rolled back at its end.

Run on SQLite by default; `pytest --db=postgresql` runs the database tests on PostgreSQL
(TEST_POSTGRES_URL, default a local server). Where PostgreSQL is not reachable the run is
skipped with the reason, except under CI=true, where it fails.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from factories import Factory
from fake_twilio import FakeTwilio
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy.orm import scoped_session, sessionmaker

from tracker import create_app
from tracker.clock import FrozenClock
from tracker.config import normalize_database_url
from tracker.extensions import db, limiter
from tracker.models import Clinic, Patient, User

pytest_plugins = ["browser", "sms_webhook"]
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/tracker_test"
# A fixed "now" for tests: a Saturday in November, outside daylight saving in the US.
TEST_NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("sqlite", "postgresql"),
        default=os.environ.get("TEST_DB", "sqlite"),
        help="the database the tests run on",
    )


def _postgres_url() -> str:
    return normalize_database_url(os.environ.get("TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL)


def _postgres_problem(url: str) -> str | None:
    """None when the server answers (creating the test database if needed), else why not."""
    target = sa.make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database})
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    except sa.exc.OperationalError as error:
        return f"PostgreSQL is not reachable at {target.render_as_string(hide_password=True)}: {error.orig}"
    finally:
        admin.dispose()
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--db") == "postgresql":
        # The PostgreSQL pass is for what touches the database; pure rules ran on the first pass.
        selected = [item for item in items if "app" in getattr(item, "fixturenames", ())]
        deselected = [item for item in items if item not in selected]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = selected
        problem = _postgres_problem(_postgres_url())
        if problem:
            if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
                raise pytest.UsageError(f"{problem} (CI=true: PostgreSQL is required)")
            for item in items:
                item.add_marker(pytest.mark.skip(reason=problem))
    else:
        for item in items:
            if item.get_closest_marker("postgres_only"):
                item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: run with --db=postgresql"))


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.config.getoption("--db") == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    url = _postgres_url()
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # an empty database, so the migrations build all of it
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def make_test_app(database_url: str, instance: Path, **extra: Any) -> Flask:
    environ = {"TRACKER_ENV": "test", "DATABASE_URL": database_url}
    # The cheap scrypt for the thousands of test accounts (test_auth checks production's full strength).
    fast = {"FAST_PASSWORD_HASHES_IN_TESTS": True}
    return create_app({"ENVIRON": environ, "CLOCK": FrozenClock(TEST_NOW), **fast, **extra})


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app per database for the whole session, its schema built by the migrations."""
    app = make_test_app(database_url, tmp_path_factory.mktemp("instance"))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def connection(app: Flask) -> Iterator[sa.Connection]:
    """Each test runs in one outer transaction, rolled back at its end.

    Every session the app makes (one per app context) joins it with a SAVEPOINT,
    so the code's own commits work and nothing outlives the test.
    """
    with app.app_context():
        engine = db.engine
    conn = engine.connect()
    outer = conn.begin()
    original = db.session
    db.session = scoped_session(  # type: ignore[method-assign]
        sessionmaker(bind=conn, join_transaction_mode="create_savepoint"),
        scopefunc=original.registry.scopefunc,  # type: ignore[attr-defined]
    )
    try:
        yield conn
    finally:
        db.session = original  # type: ignore[method-assign]
        outer.rollback()
        conn.close()


@pytest.fixture
def clock(app: Flask) -> Iterator[FrozenClock]:
    """The app's clock, set to TEST_NOW for each test; advance it instead of sleeping."""
    frozen = FrozenClock(TEST_NOW)
    previous = app.config["CLOCK"]
    app.config["CLOCK"] = frozen
    yield frozen
    app.config["CLOCK"] = previous


@pytest.fixture
def ctx(app: Flask, connection: sa.Connection, clock: FrozenClock) -> Iterator[None]:
    """An app context for tests that call services and jobs directly (not with `client`)."""
    with app.app_context():
        yield


@pytest.fixture
def factory(app: Flask, connection: sa.Connection, clock: FrozenClock) -> Factory:
    return Factory(app)


@pytest.fixture
def clinic(request: pytest.FixtureRequest, factory: Factory) -> Clinic:
    """The test's clinic: the factory's, with the settings its module gives in CLINIC, if any.

    In a module marked `in_app_context` (its tests call services directly) it is made inside the
    test's app context, `ctx`, and so are the `clinician` and `patient` below.
    """
    if request.node.get_closest_marker("in_app_context"):
        request.getfixturevalue("ctx")
    return factory.clinic(**getattr(request.module, "CLINIC", {}))


@pytest.fixture
def clinician(factory: Factory, clinic: Clinic) -> User:
    return factory.user(clinic)


@pytest.fixture
def patient(factory: Factory, clinic: Clinic) -> Patient:
    return factory.patient(clinic)


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    """Twilio's API, faked on a local port: scripted answers, and every request it got."""
    with FakeTwilio() as server:
        yield server


@pytest.fixture
def client(app: Flask, connection: sa.Connection, clock: FrozenClock) -> Iterator[FlaskClient]:
    """A browser-like client; never used while the test holds an app context (it would share `g`)."""
    assert not has_app_context(), "use either `ctx` or `client` in a test, not both"
    limiter.reset()
    # Not `with client:`: that keeps the last request's context alive, and other clients would share it.
    yield app.test_client()


@pytest.fixture
def fetch(app: Flask, connection: sa.Connection) -> Callable[..., list[Any]]:
    """Read rows as the database has them now, outside any request."""

    def run(statement: sa.Select[Any]) -> list[Any]:
        with app.app_context():
            rows = list(db.session.scalars(statement))
            db.session.expunge_all()
            return rows

    return run


CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1) or match.group(2)


class AuthActions:
    """Log in and out through the real forms, CSRF token and all."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, username: str, password: str = "correct horse battery") -> Any:
        page = self.client.get("/login")
        token = csrf_token_from(page.get_data(as_text=True))
        return self.client.post("/login", data={"username": username, "password": password, "csrf_token": token})

    def logout(self) -> Any:
        page = self.client.get("/")
        follow = self.client.get(page.headers.get("Location", "/")) if page.status_code == 302 else page
        token = csrf_token_from(follow.get_data(as_text=True))
        return self.client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(connection: sa.Connection) -> Callable[[], Any]:
    """`with count_queries() as counter:` counts the SQL statements run inside the block."""

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()

        def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
                counter.statements.append(statement)

        sa.event.listen(connection, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            sa.event.remove(connection, "before_cursor_execute", before)

    return counting


@pytest.fixture
def bearer(app: Flask, connection: sa.Connection) -> Callable[[Any], dict[str, str]]:
    """`bearer(user_or_patient)`: headers with a fresh API token for that account."""
    from tracker.models import User
    from tracker.services.accounts import tokens

    def make(user: Any) -> dict[str, str]:
        with app.app_context():
            user_id = getattr(user, "user_id", None) or user.id  # a Patient stands for its account
            issued = tokens.issue(db.session.get(User, user_id))  # type: ignore[arg-type]
            db.session.commit()
            return {"Authorization": f"Bearer {issued.secret}"}

    return make
