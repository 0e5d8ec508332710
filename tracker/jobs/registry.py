"""The jobs the scheduler runs, by name, with how often (ARCHITECTURE.md: one process, safe to run twice)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tracker.db import DbSession


@dataclass
class JobResult:
    """What a run did, as counts: printed by `run-job` and logged by the scheduler (never PHI)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def __str__(self) -> str:
        if not self.counts:
            return "nothing to do"
        return ", ".join(f"{what}: {n}" for what, n in sorted(self.counts.items()))


JobFunction = Callable[[DbSession, datetime], JobResult]


@dataclass(frozen=True)
class Job:
    name: str
    run: JobFunction
    every: timedelta
    doc: str


JOBS: dict[str, Job] = {}


def job(name: str, every: timedelta) -> Callable[[JobFunction], JobFunction]:
    """Register a job under its operator-facing name (API.md: run-job NAME)."""

    def register(func: JobFunction) -> JobFunction:
        if name in JOBS:
            raise ValueError(f"job {name!r} registered twice")
        JOBS[name] = Job(name, func, every, (func.__doc__ or "").strip().splitlines()[0] if func.__doc__ else "")
        return func

    return register


def load_jobs() -> dict[str, Job]:
    """Import every job module so each registers itself; the list lives here, in one place."""
    import importlib

    for module in JOB_MODULES:
        importlib.import_module(module)
    return JOBS


# Modules that define jobs; later work adds its module here.
JOB_MODULES: list[str] = [
    "tracker.jobs.heartbeat",
    "tracker.jobs.dispatch_sms",
    "tracker.jobs.expire_sms_checkins",
    "tracker.jobs.reminders",
    "tracker.jobs.relapse_scan",
    "tracker.jobs.missed_checkins",
    "tracker.jobs.escalations",
    "tracker.jobs.purge_idempotency",
    "tracker.jobs.booked_visits",
    "tracker.jobs.side_effects",
]
