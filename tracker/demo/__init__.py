"""Demo data: a clinic with a year of believable history, so every screen has something true to show.

The cast (tracker/demo/cast.py) says who the patients are and the story (story.py) what each does when;
it is played through the services and the jobs (player.py, scheduler.py) under a frozen clock moved
forward through the year, so every score, alert, booster request and text is what the system itself made
of those steps. The dashboard's queue ends with one of everything: an open safety alert, an urgent and a
routine booster request citing the check-ins that raised them (CLINICAL.md §5), a missed-check-in alert;
with booked infusions, and texts sent, delivered and failed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app

from tracker import clock
from tracker.clock import FrozenClock
from tracker.demo.cast import DEMO_PASSWORD
from tracker.demo.player import DemoLogins, play
from tracker.demo.scheduler import DemoError
from tracker.demo.story import tell

__all__ = ["DEMO_PASSWORD", "DemoError", "DemoLogins", "build_demo"]


def build_demo(seed: int = 7) -> DemoLogins:
    """Create the demo clinic, its staff and its patients' year up to now; the caller's unit of work commits.

    Called inside that unit (the `demo` command's), the jobs' own per-item units nest in it, so a failure
    anywhere leaves nothing behind. The app's clock is the story's while it plays, and is given back after.
    The audit rows the played steps wrote are dropped before returning: the audit log records what people
    did, and nobody did this.
    """
    told = tell(seed, clock.now())
    with story_clock(FrozenClock(told.start)) as frozen, quiet_jobs():
        return play(told, frozen, seed)


@contextmanager
def story_clock(frozen: FrozenClock) -> Iterator[FrozenClock]:
    """The app's clock is `frozen` inside the block, and what it was before after it."""
    config = current_app.config
    had_clock, previous = "CLOCK" in config, config.get("CLOCK")
    config["CLOCK"] = frozen
    try:
        yield frozen
    finally:
        if had_clock:
            config["CLOCK"] = previous
        else:
            config.pop("CLOCK")


@contextmanager
def quiet_jobs() -> Iterator[None]:
    """A year of job runs logs thousands of INFO lines; only their warnings and errors are shown meanwhile."""
    loggers = [logging.getLogger(name) for name in ("tracker.jobs", "tracker.services")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
