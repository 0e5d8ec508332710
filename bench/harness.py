"""What every benchmark shares: the bench database and its app, a clock frozen at the data's "now", and a
measurement of one piece of work (wall time, SQL statements and their time, peak Python memory).

A benchmark database is named bench_* on PostgreSQL (or is a SQLite file): the generator drops and rebuilds
it, so it refuses any other PostgreSQL database rather than empty one that holds real rows.
"""

from __future__ import annotations

import resource
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

from tracker import create_app
from tracker.clock import FrozenClock
from tracker.config import normalize_database_url

# A Monday, 10:05 in Chicago: the clinics' weekly reminder slot (Monday 10:00 local) passed five minutes ago,
# so the reminders job has all of the Chicago clinics' weekly reminders to queue at once, as on a real Monday.
DEFAULT_NOW = datetime(2026, 11, 30, 16, 5, tzinfo=UTC)
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_tracker"
DEFAULT_SQLITE = "sqlite:///" + str(Path(__file__).resolve().parent / "data" / "bench.sqlite3")
# Every account the generator makes logs in with this (a benchmark database holds no real person).
PASSWORD = "bench-password-2026"  # noqa: S105  (a synthetic database's shared password)


def database_url(url: str) -> str:
    """The URL as the app reads it, refusing a PostgreSQL database not named bench_*."""
    url = normalize_database_url(url)
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "postgresql" and not (parsed.database or "").startswith("bench_"):
        raise ValueError(f"benchmark databases are named bench_* (got {parsed.database!r}): it is dropped and rebuilt")
    return url


def postgres_problem(url: str) -> str | None:
    """None when the PostgreSQL server behind `url` answers, else why not (the quick run skips it then)."""
    admin = sa.create_engine(sa.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        return f"PostgreSQL is not reachable at {sa.make_url(url).render_as_string(hide_password=True)}: {error.orig}"
    finally:
        admin.dispose()
    return None


def make_app(url: str, now: datetime, **config: Any) -> Flask:
    """The app on the bench database, in test mode (cheap password hashes), its clock frozen at `now`."""
    environ = {
        "TRACKER_ENV": "test",
        "DATABASE_URL": database_url(url),
        "SMS_BACKEND": "console",
    }
    environ.update(config.pop("ENVIRON", {}))
    return create_app({"ENVIRON": environ, "CLOCK": FrozenClock(now), "FAST_PASSWORD_HASHES_IN_TESTS": True, **config})


@dataclass
class QueryCounter:
    """Counts the statements an engine runs and the time they take, from SQLAlchemy's cursor events."""

    engine: sa.Engine
    count: int = 0
    seconds: float = 0.0
    _started: list[float] = field(default_factory=list)

    def _before(self, *_args: Any) -> None:
        self._started.append(time.perf_counter())

    def _after(self, *_args: Any) -> None:
        self.count += 1
        if self._started:
            self.seconds += time.perf_counter() - self._started.pop()

    def __enter__(self) -> QueryCounter:
        sa.event.listen(self.engine, "before_cursor_execute", self._before)
        sa.event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_exc: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._before)
        sa.event.remove(self.engine, "after_cursor_execute", self._after)


def _status_kib(field_name: str) -> float | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def rss_mb() -> float:
    """The process's resident memory now."""
    now = _status_kib("VmRSS")
    return (now if now is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


def reset_peak_rss() -> None:
    """Start the peak-RSS count again from now (Linux: clear_refs 5), so a peak is one block's own."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass  # elsewhere the peak is the process's since it started


def peak_rss_mb() -> float:
    """The peak resident memory since the last reset (the process's, where it cannot be reset)."""
    peak = _status_kib("VmHWM")
    return (peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


@dataclass
class Measure:
    """One measured piece of work: wall seconds, statements and their seconds, resident memory before it and
    at its peak, and (when traced) its peak Python allocation."""

    seconds: float = 0.0
    queries: int = 0
    sql_seconds: float = 0.0
    rss_start_mb: float = 0.0
    rss_peak_mb: float = 0.0
    peak_bytes: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@contextmanager
def measure(engine: sa.Engine, *, trace_memory: bool = False) -> Iterator[Measure]:
    """Time the block, count its SQL, take its peak RSS, and, if asked, trace its peak Python allocation
    (tracemalloc slows the work down: off by default)."""
    result = Measure()
    reset_peak_rss()
    result.rss_start_mb = rss_mb()
    started_tracing = trace_memory and not tracemalloc.is_tracing()
    if started_tracing:
        tracemalloc.start()
    if trace_memory:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
    with QueryCounter(engine) as counter:
        start = time.perf_counter()
        try:
            yield result
        finally:
            result.seconds = time.perf_counter() - start
            result.queries, result.sql_seconds = counter.count, counter.seconds
            result.rss_peak_mb = max(peak_rss_mb(), result.rss_start_mb)
            if trace_memory:
                result.peak_bytes = max(0, tracemalloc.get_traced_memory()[1] - base)
            if started_tracing:
                tracemalloc.stop()
