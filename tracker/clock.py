"""The one clock: services and jobs take `now` from here so tests can set time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask import current_app, has_app_context


def system_now() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    """The current time in UTC, from the app's clock when one is set (tests do)."""
    if has_app_context():
        clock: Callable[[], datetime] = current_app.config.get("CLOCK") or system_now
        return clock()
    return system_now()


class FrozenClock:
    """A settable clock for tests: time moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current

    def set(self, moment: datetime) -> None:
        self.current = moment
