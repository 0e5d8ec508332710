"""POST /api/v1/checkins under load: gunicorn (2 workers) on a bench database, beside a trivial route on the same
server, and an Idempotency-Key storm (every client retrying its check-in while the first try is still running).

    .venv/bin/python -m bench.checkins_load --url postgresql+psycopg://postgres@127.0.0.1:5432/bench_p200

The database must exist (python -m bench.generate, or a bench.run that made it); the check-ins written stay
in it. Every request goes to 127.0.0.1, and every loop is bounded by a count and by time. The load generator
runs on the same machine as the server (threads, one kept-alive connection each), so what it measures is the
ratio of the two routes under the same generator, not what a bigger machine would serve.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.harness import DEFAULT_NOW, database_url, make_app

ROOT = Path(__file__).resolve().parent.parent
CHECKIN = {"instrument": "phq9", "answers": [1, 1, 1, 0, 1, 1, 0, 0, 0], "difficulty": 1}  # 5: mild, item 9 no
MAX_SECONDS = 120.0  # no phase runs longer, whatever it is asked


@dataclass
class Stats:
    """One phase: how many answered, by status, in how long, and the latencies."""

    seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def quantile(self, q: float) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else 0.0
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[round(q * 100) - 1]

    def line(self, name: str) -> str:
        return (
            f"| {name} | {self.count} | {self.seconds:.1f} s | {self.per_second:.0f} | "
            f"{self.quantile(0.5) * 1000:.1f} ms | {self.quantile(0.99) * 1000:.1f} ms | "
            f"{dict(sorted(self.statuses.items()))} |"
        )


class Client:
    """One kept-alive connection to the server."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self.host, self.port, self.timeout = host, int(port), timeout
        self.conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        sent = {"Content-Type": "application/json", **(headers or {})} if data is not None else dict(headers or {})
        for attempt in range(2):  # a kept-alive connection the server closed: once more on a new one
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=sent)
                response = self.conn.getresponse()
                raw = response.read()
            except (ConnectionError, http.client.HTTPException, TimeoutError):
                self.close()
                if attempt:
                    raise
                continue
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            try:
                return response.status, json.loads(raw) if raw else None
            except ValueError:
                return response.status, raw.decode(errors="replace")
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def issue_tokens(url: str, count: int, skip: int = 0) -> list[str]:
    """Bearer tokens for `count` patients of the bench database after the first `skip` (committed: the server must
    see them)."""
    from tracker.extensions import db
    from tracker.models import Patient, User
    from tracker.services.accounts import tokens

    app = make_app(url, DEFAULT_NOW)
    with app.app_context():
        users = db.session.scalars(
            sa.select(User).join(Patient, Patient.user_id == User.id).order_by(Patient.id).offset(skip).limit(count)
        ).all()
        secrets = [tokens.issue(user).secret for user in users]
        db.session.commit()
        db.engine.dispose()
    if len(secrets) < count:
        raise SystemExit(f"the bench database has only {len(secrets)} patients; {count} asked")
    return secrets


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def gunicorn(url: str, workers: int = 2) -> Iterator[str]:
    """The app under gunicorn on 127.0.0.1, as production runs it (sync workers); yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "TRACKER_ENV": "test",  # relaxed settings: no secrets to supply; the production code paths otherwise
        "DATABASE_URL": database_url(url),
        "SMS_BACKEND": "console",
        "SMS_CONSOLE_REDACTED": "1",
        "WEB_CONCURRENCY": str(workers),
    }
    server = subprocess.Popen(  # noqa: S603  (the project's own gunicorn, fixed arguments)
        [str(Path(sys.executable).with_name("gunicorn")), "-w", str(workers), "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if Client(base, timeout=2).request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("gunicorn did not come up within 60 s")
            time.sleep(0.1)
        # Every worker answers once before measuring (each builds its app on its first request).
        for _ in range(workers * 4):
            Client(base).request("GET", "/healthz")
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _send(
    client: Client,
    make: Callable[[int, int], tuple[str, str, Any, dict[str, str]]],
    index: int,
    n: int,
    stats: Stats,
    lock: threading.Lock,
) -> None:
    """One request of a load phase, its latency and status counted in `stats`."""
    method, path, body, headers = make(index, n)
    began = time.perf_counter()
    status, _ = client.request(method, path, body, headers)
    took = time.perf_counter() - began
    with lock:
        stats.latencies.append(took)
        stats.statuses[status] = stats.statuses.get(status, 0) + 1


def closed_loop(
    base: str, clients: int, seconds: float, make: Callable[[int, int], tuple[str, str, Any, dict[str, str]]]
) -> Stats:
    """`clients` threads sending back to back for `seconds`; make(client, n) gives each request."""
    seconds = min(seconds, MAX_SECONDS)
    stats = Stats()
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at: list[float] = []

    def worker(index: int) -> None:
        client = Client(base)
        start.wait()
        n = 0
        while time.perf_counter() < stop_at[0]:
            _send(client, make, index, n, stats, lock)
            n += 1
        client.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    stop_at.append(time.perf_counter() + seconds)
    began = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    stats.seconds = time.perf_counter() - began
    return stats


def open_loop(
    base: str,
    rate: float,
    seconds: float,
    clients: int,
    make: Callable[[int, int], tuple[str, str, Any, dict[str, str]]],
) -> Stats:
    """Requests started at a fixed `rate` (spread over `clients` threads, each on its own schedule) for `seconds`:
    the latency at a load the server can carry, queueing in the client not counted."""
    seconds = min(seconds, MAX_SECONDS)
    stats = Stats()
    lock = threading.Lock()
    interval = clients / rate
    began = time.perf_counter() + 0.2

    def worker(index: int) -> None:
        client = Client(base)
        n = 0
        while True:
            due = began + (index / clients + n) * interval
            if due > began + seconds:
                break
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            _send(client, make, index, n, stats, lock)
            n += 1
        client.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats.seconds = seconds
    return stats


@dataclass
class Storm:
    """What the Idempotency-Key storm saw: each key's answers, and the check-ins the keys' answers name."""

    answers: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)

    @property
    def server_errors(self) -> int:
        return sum(1 for tries in self.answers.values() for status, _ in tries if status >= 500)

    def created_ids(self) -> dict[str, set[str]]:
        """Per key, the check-in ids its 201s named: exactly one each when the key held."""
        return {
            key: {body["id"] for status, body in tries if status == 201 and isinstance(body, dict)}
            for key, tries in self.answers.items()
        }


def idempotency_storm(base: str, tokens: list[str], tries: int = 3, timeout: float = 60.0) -> Storm:
    """Every client posts one check-in under one key: two tries at the same instant (a retry racing the first,
    as a phone on a flaky network sends), then `tries - 2` retries one after the other."""
    storm = Storm()
    lock = threading.Lock()
    start = threading.Barrier(2 * len(tokens))

    def attempt(token: str, key: str, first: bool) -> None:
        client = Client(base, timeout=timeout)
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
        start.wait()
        results = [client.request("POST", "/api/v1/checkins", CHECKIN, headers)]
        if first:
            results += [client.request("POST", "/api/v1/checkins", CHECKIN, headers) for _ in range(tries - 2)]
        client.close()
        with lock:
            storm.answers.setdefault(key, []).extend(results)

    threads = []
    for token in tokens:
        key = f"storm-{uuid.uuid4()}"
        threads += [threading.Thread(target=attempt, args=(token, key, first)) for first in (True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return storm


def count_checkins(url: str, ids: set[str]) -> int:
    from tracker.models import CheckIn

    engine = sa.create_engine(database_url(url))
    try:
        with engine.connect() as conn:
            wanted = [uuid.UUID(i) for i in ids]
            return int(conn.scalar(sa.select(sa.func.count()).where(CheckIn.id.in_(wanted))) or 0)
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="a bench_* PostgreSQL database (or a SQLite file) with patients")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8, help="threads of the closed-loop phases")
    parser.add_argument("--seconds", type=float, default=10.0, help="each phase (at most 120)")
    parser.add_argument("--storm", type=int, default=200, help="clients of the Idempotency-Key storm (0: none)")
    parser.add_argument(
        "--patients",
        type=int,
        default=0,
        help="patients the check-ins rotate through (a patient may send 6 a day: past that every answer is a 429)",
    )
    parser.add_argument("--skip", type=int, default=0, help="start after this many patients (fresh ones per run)")
    args = parser.parse_args(argv)

    tokens = issue_tokens(args.url, max(args.clients, args.storm, args.patients), args.skip)
    print(f"load average before: {os.getloadavg()}")
    with gunicorn(args.url, args.workers) as base:

        def healthz(_client: int, _n: int) -> tuple[str, str, Any, dict[str, str]]:
            return "GET", "/healthz", None, {}

        def checkin(client: int, n: int) -> tuple[str, str, Any, dict[str, str]]:
            token = tokens[(n * args.clients + client) % max(args.clients, args.patients)]
            return "POST", "/api/v1/checkins", CHECKIN, {"Authorization": f"Bearer {token}"}

        trivial = closed_loop(base, args.clients, args.seconds, healthz)
        posts = closed_loop(base, args.clients, args.seconds, checkin)
        half = open_loop(base, max(1.0, posts.per_second / 2), args.seconds, args.clients, checkin)
        print("\n| phase | requests | time | req/s | p50 | p99 | statuses |\n|---|---|---|---|---|---|---|")
        print(trivial.line("GET /healthz, closed loop"))
        print(posts.line("POST /api/v1/checkins, closed loop"))
        print(half.line(f"POST /api/v1/checkins at half that ({posts.per_second / 2:.0f}/s)"))
        print(
            f"\nPOST ÷ trivial: {posts.per_second / trivial.per_second:.0%} (target >= 20%); p99 at half load "
            f"{half.quantile(0.99) * 1000:.1f} ms (target <= 30 ms); load average after: {os.getloadavg()}"
        )
        if args.storm:
            storm = idempotency_storm(base, tokens[: args.storm])
            created = storm.created_ids()
            ids = set().union(*created.values())
            one_each = all(len(found) == 1 for found in created.values())
            rows = count_checkins(args.url, ids)
            statuses: dict[int, int] = {}
            for tries in storm.answers.values():
                for status, _ in tries:
                    statuses[status] = statuses.get(status, 0) + 1
            print(
                f"\nIdempotency-Key storm: {len(created)} keys, answers {dict(sorted(statuses.items()))}, "
                f"5xx {storm.server_errors}, every key one check-in id: {one_each}, rows for them: {rows}"
            )
            if storm.server_errors or not one_each or rows != len(created):
                return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
