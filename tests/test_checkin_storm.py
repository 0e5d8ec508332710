"""Check-ins under concurrent retries: many phones each retrying one check-in under one Idempotency-Key while
the first try is still running. No 5xx, and every key that got a 201 made exactly one row (bench/checkins_load.py
runs the same storm with 200 clients against gunicorn)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

from bench.checkins_load import count_checkins, idempotency_storm, issue_tokens
from bench.generate import generate
from bench.harness import DEFAULT_NOW, make_app

CLIENTS = 24  # each sends two tries at the same instant, then a retry


@pytest.fixture(scope="module")
def bench_url(app: Flask, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A bench database of this test run (`app` only so the PostgreSQL pass selects this module)."""
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('storm') / 'storm.sqlite3'}"
    return url.set(database=f"bench_storm_{url.database}").render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def server(bench_url: str) -> Iterator[str]:
    """The app on its own database, served by werkzeug with a thread per request (as gunicorn's many workers)."""
    generate(bench_url, clinics=1, patients=CLIENTS, weeks=2, seed=5)
    served = make_app(bench_url, DEFAULT_NOW)
    http = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=http.serve_forever, name="storm-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        http.server_close()
        thread.join(timeout=10)
        from tracker.extensions import db

        with served.app_context():
            db.engine.dispose()


def test_retries_racing_the_first_try_make_one_check_in_each_and_never_a_5xx(bench_url: str, server: str) -> None:
    tokens = issue_tokens(bench_url, CLIENTS)

    storm = idempotency_storm(server, tokens, tries=3, timeout=30)

    statuses = sorted({status for tries in storm.answers.values() for status, _ in tries})
    assert storm.server_errors == 0 and statuses == [201]  # a retry waits for the first try, then replays it
    created = storm.created_ids()
    assert len(created) == CLIENTS and all(len(ids) == 1 for ids in created.values())
    assert count_checkins(bench_url, set().union(*created.values())) == CLIENTS
