"""A booked booster on the queue and in the relapse scan (CLINICAL.md §5), the heat map's dates, and the
history's severity bars."""

from __future__ import annotations

import pytest
from factories import Factory
from test_job_relapse_scan import Course

from tracker import local_time
from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.services.boosters import booking, scan
from tracker.services.boosters import queries as booster_queries
from tracker.services.boosters import requests as boosters
from tracker.services.clinic import attention


@pytest.fixture
def course(ctx: None, factory: Factory, clock: FrozenClock) -> Course:
    c = Course(factory, clock)
    c.infusion(0)
    c.checkin(1, 3)
    return c


def book(c: Course, day: float, for_day: float) -> None:
    c.clock.set(c.at(day))
    request = booster_queries.open_request_for(c.patient.id)
    assert request is not None
    booking.schedule(request, c.factory.staff_for(c.patient), c.at(for_day))
    db.session.commit()


def test_a_booked_patient_request_leaves_the_queue(course: Course) -> None:
    c = course
    c.clock.set(c.at(9))
    boosters.raise_request(c.patient, "patient", None, "I feel it coming back.")
    db.session.commit()
    doctor = c.factory.staff_for(c.patient)
    waiting = attention.queue(doctor, c.clock())
    assert [(i.kind, i.status) for i in waiting] == [("booster", "open")]  # one row for the request and its alert

    book(c, 10, 14)
    assert attention.queue(doctor, c.clock()) == []


@pytest.mark.parametrize("alone", [False, True], ids=["batched", "alone"])
def test_a_severe_check_in_does_not_re_escalate_a_booked_request(course: Course, alone: bool) -> None:
    c = course
    c.checkin(10, 12)
    c.checkin(15, 13)
    assert c.scan().counts["raised_routine"] == 1
    book(c, 16, 21)

    c.checkin(17, 22)
    if alone:
        db.session.refresh(c.patient)
        done = scan.judge(c.patient, c.patient.clinic)
        db.session.commit()
    else:
        done = ["scanned", *sorted(k for k, n in c.scan().counts.items() for _ in range(n) if k != "scanned")]
    assert sorted(done) == ["evidence_added", "scanned", "severe_alerted"]
    [request] = c.requests()
    assert (request.status, request.urgency, c.evidence_days(request)) == ("scheduled", "routine", [10, 15, 17])
    assert c.texts() == [t for t in c.texts() if t.purpose != scan.ONCALL_PURPOSE]  # on-call not paged
    day = local_time.day(c.at(21), local_time.zone_of(c.patient.clinic.timezone))
    severe = [a for a in c.alerts() if a.dedupe_key == f"booster-booked-severe:{request.id}"]
    assert [(a.cause, a.reason, a.booster_request_id) for a in severe] == [
        (
            "severe_symptoms",
            f"Severe symptoms: a severe check-in while a booster is booked for {day}. Please review.",
            None,
        )
    ]
    assert not any(a.dedupe_key == f"booster-urgent:{request.id}" for a in c.alerts())
    # The clinic sees it, with the booked day; the request itself, decided and booked, stays out.
    items = attention.queue(c.factory.staff_for(c.patient), c.clock())
    assert [(i.kind, i.why) for i in items] == [("attention", severe[0].reason)]

    c.checkin(18, 23)  # once per booked request
    assert "severe_alerted" not in c.scan().counts
    assert len([a for a in c.alerts() if a.cause == "severe_symptoms"]) == 1
