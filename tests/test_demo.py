"""The demo (tracker/demo): a story told the same way for a seed, played through the services and jobs into a
clinic whose queue has one of everything, and nothing of it kept unless the caller's unit of work commits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import TEST_NOW
from flask import Flask

from tracker.demo import build_demo, steps
from tracker.demo.story import LATEST, tell
from tracker.extensions import db
from tracker.models import Patient, User
from tracker.services.clinic import attention
from tracker.unit_of_work import transaction


def test_the_story_is_the_same_for_a_seed_and_another_for_another() -> None:
    assert tell(7, TEST_NOW) == tell(7, TEST_NOW)
    assert tell(7, TEST_NOW).steps != tell(8, TEST_NOW).steps


def test_the_story_happens_in_order_and_before_now() -> None:
    story = tell(7, TEST_NOW)
    moments = [step.at for step in story.steps]
    assert moments == sorted(moments)
    assert moments[-1] <= TEST_NOW - LATEST and min(moments) > story.start
    assert all(run <= TEST_NOW for run in story.reminder_runs)
    # Only app users check in when no reminder asked them to; the others need a reminder's link.
    web = {s.person for s in story.steps if isinstance(s, steps.CheckIn) and s.source == "web"}
    assert not any(story.people[n].uses_app for n in web)


class Stop(Exception):
    """Ends the unit of work the demo was built in, so it rolls back."""


def test_the_queue_has_one_of_each_kind_of_item_and_nothing_is_kept_without_a_commit(
    app: Flask, connection: sa.Connection, fetch: Callable[..., list[Any]]
) -> None:
    with app.app_context(), pytest.raises(Stop), transaction(db.session):
        shown = build_demo().showcase
        assert app.config["CLOCK"]() == TEST_NOW  # the app's clock is given back
        clinician = db.session.scalar(sa.select(User).where(User.email == "clinician@lakeside.example"))
        assert clinician is not None
        items = attention.queue(clinician, TEST_NOW)
        assert Counter(item.title for item in items) == {
            "Safety: item 9": 1,
            "Urgent booster request": 1,
            "Routine booster request": 1,
            "Missed check-ins": 1,
        }
        by_title = {item.title: item for item in items}
        assert by_title["Safety: item 9"].target_id == shown["safety_alert"]
        assert by_title["Urgent booster request"].target_id == shown["urgent_request"]
        assert by_title["Routine booster request"].target_id == shown["routine_request"]
        # CLINICAL.md §5: each request cites the check-ins that raised it.
        assert by_title["Routine booster request"].why.startswith("PHQ-9 14 → 17 over 8 days, low was 6")
        assert by_title["Urgent booster request"].why.startswith("PHQ-9 22 on Nov 20")
        assert [item.title for item in items][:2] == ["Safety: item 9", "Urgent booster request"]
        raise Stop
    assert fetch(sa.select(Patient)) == []


def test_the_outcomes_report_shows_the_kaplan_meier_curve_and_its_median_on_the_demo_data(
    app: Flask, connection: sa.Connection
) -> None:
    # CLINICAL.md §4: time to first booster as a Kaplan–Meier estimate, the median with its interval.
    from tracker.services.clinic import outcomes_report
    from tracker.web.charts import survival_chart

    with app.app_context(), pytest.raises(Stop), transaction(db.session):
        build_demo()
        clinician = db.session.scalar(sa.select(User).where(User.email == "clinician@lakeside.example"))
        assert clinician is not None
        km = outcomes_report.clinic_report(clinician).time_to_booster
        assert km.events >= 2 and km.median is not None
        assert km.events + km.censored == km.subjects
        chart = survival_chart(km.steps)
        assert chart.curve.startswith("M44 ") and chart.median_x is not None
        raise Stop
