"""How fast the outbox drains: the carrier's rate per sending number, retries with growing waits, leases."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

JOB_EVERY = timedelta(seconds=5)


# Defaults for settings the app config may lack (load_config checks the first two at start-up).
DEFAULTS: dict[str, float] = {
    "SMS_RATE_PER_SECOND": 1.0,
    "SMS_MAX_ATTEMPTS": 6,
    "SMS_RETRY_BASE_SECONDS": 30.0,
    "SMS_RETRY_MAX_SECONDS": 30 * 60.0,
}


JITTER = 0.2  # +-20 %, so rows that failed together do not all come back in the same second


@dataclass(frozen=True)
class Settings:
    rate: float  # messages per second, per sender
    max_attempts: int
    retry_base: float
    retry_max: float
    timeout: float  # the sender's HTTP timeout, to size the lease

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        def number(name: str) -> float:
            raw: Any = config.get(name)
            if raw in (None, ""):
                raw = DEFAULTS[name]
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise ValueError(f"{name} must be a number (got {raw!r})") from None
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be positive (got {raw!r})")
            return value

        return cls(
            rate=number("SMS_RATE_PER_SECOND"),
            max_attempts=max(1, int(number("SMS_MAX_ATTEMPTS"))),
            retry_base=number("SMS_RETRY_BASE_SECONDS"),
            retry_max=number("SMS_RETRY_MAX_SECONDS"),
            timeout=_seconds(config.get("TWILIO_TIMEOUT_SECONDS")),
        )

    @property
    def batch(self) -> int:
        """Rows per run: what the rate allows until the next run, so claimed rows never wait out their lease."""
        return max(1, math.floor(self.rate * JOB_EVERY.total_seconds()))

    @property
    def group(self) -> int:
        """Sends checked before and recorded after together: RESERVE_SECONDS' worth at the rate, at least one."""
        return max(1, math.floor(self.rate * RESERVE_SECONDS))

    def lease(self, claimed: int) -> timedelta:
        """Long enough to pace and time out every claimed send, with a margin."""
        return timedelta(seconds=30 + claimed * (1 / self.rate + self.timeout + 1))

    def backoff(self, attempts: int, jitter: Callable[[float, float], float]) -> timedelta:
        """30 s x 2^(attempts-1), capped, +-20 %."""
        base = min(self.retry_max, self.retry_base * 2 ** max(0, attempts - 1))
        return timedelta(seconds=base * jitter(1 - JITTER, 1 + JITTER))


def _seconds(raw: Any, default: float = 10.0) -> float:
    """The sender's timeout, only to size the lease (make_sender refuses a bad one)."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return default
    return value if math.isfinite(value) and value > 0 else default


# Slots reserved at a time: a tenth of a second's worth, so a dispatcher asks the shared limiter ten times a
# second at most, and a burst to catch up a slow send is never more than that.
RESERVE_SECONDS = 0.1

# (slots, interval, now) -> the start of `slots` consecutive slots `interval` apart, shared with other dispatchers.
Reserve = Callable[[int, float, float], float]


class Pacer:
    """Sends on a schedule of slots 1/rate seconds apart; the clock and sleep are injectable so tests never sleep.

    Each send waits for its slot, not for 1/rate after the one before: a send that ran long is caught up by the
    next ones, by at most one group of slots (the limiter's slack). The slots come from ``reserve`` when the
    dispatcher passes it (the shared limiter, so every process keeps one rate together), else from this pacer
    alone. The default clock is wall time, the one clock that processes sharing the slots agree on.
    """

    def __init__(
        self,
        rate: float,
        monotonic: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1 / rate
        self.monotonic = monotonic
        self.sleep = sleep
        self.chunk = max(1, math.floor(rate * RESERVE_SECONDS))
        self._next: float | None = None  # the next slot already ours
        self._left = 0  # how many of our reserved slots are left, from _next on
        self._local_free: float | None = None  # without a shared limiter: where our own schedule stands

    def _local(self, slots: int, interval: float, now: float) -> float:
        """The limiter's rule for one process alone: on from the last slots, catching up at most one group late."""
        span = slots * interval
        start = now if self._local_free is None or self._local_free < now - span else self._local_free
        self._local_free = start + span
        return start

    def wait(self, reserve: Reserve | None = None) -> None:
        """Return at this send's slot: reserve the next few slots first when none of ours is left."""
        now = self.monotonic()
        if self._left == 0 or self._next is None:
            self._next = (reserve or self._local)(self.chunk, self.interval, now)
            self._left = self.chunk
        delay = self._next - now
        if delay > 0:
            self.sleep(delay)
        self._next += self.interval
        self._left -= 1

    def release(self) -> None:
        """Give up the slots not used (a run that ends): the next run reserves afresh, never sends on stale ones."""
        self._left = 0
        self._next = None


# One pacer per rate for this process, so back-to-back runs keep the pace too.
_pacers: dict[float, Pacer] = {}


def process_pacer(rate: float) -> Pacer:
    return _pacers.setdefault(rate, Pacer(rate))
