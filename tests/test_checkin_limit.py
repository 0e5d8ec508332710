"""A patient's own check-ins are limited per instrument per day (services/checkins/limit.py), by app, web and
SMS alike; a positive item 9 is never refused (CLINICAL.md §3), and staff entering a check-in in clinic are not
limited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import AuthActions
from factories import Factory
from flask import Flask
from flask.testing import FlaskClient
from sms_webhook import TEXTING_CLINIC, outbox_to, texter
from test_patient_pages import RadioState, send

from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.models import Alert, CheckIn, Patient, User
from tracker.services.checkins import limit
from tracker.services.checkins import submit as checkins

CLINIC = TEXTING_CLINIC
CALM = [1, 1, 1, 1, 0, 0, 0, 0, 0]
Fetch = Callable[..., list[Any]]


@pytest.fixture
def post(client: FlaskClient, patient: Patient, bearer: Callable[..., Any], clock: FrozenClock) -> Callable[..., Any]:
    headers = bearer(patient)

    def checkin(answers: list[int] = CALM, instrument: str = "phq9") -> Any:
        clock.advance(minutes=1)
        return client.post("/api/v1/checkins", json={"instrument": instrument, "answers": answers}, headers=headers)

    return checkin


def test_the_api_answers_429_with_retry_after_past_the_limit(
    post: Callable[..., Any], fetch: Fetch, clock: FrozenClock
) -> None:
    first_at = clock() + timedelta(minutes=1)
    for _ in range(limit.PER_WINDOW):
        assert post().status_code == 201
    refused = post()
    assert refused.status_code == 429 and refused.content_type.startswith("application/problem+json")
    wait = int(refused.headers["Retry-After"])
    assert wait == int((first_at + limit.WINDOW - clock()).total_seconds())
    assert refused.get_json()["retry_after"] == wait and "checked in 6 times" in refused.get_json()["detail"]
    assert len(fetch(sa.select(CheckIn))) == limit.PER_WINDOW

    # Another instrument has its own count.
    assert post([1] * 7, "gad7").status_code == 201
    # Once the first check-in leaves the window, one more is let in.
    clock.advance(seconds=wait - 60)  # `post` moves the clock a minute on
    assert post().status_code == 201


def test_a_positive_item_9_is_never_refused(post: Callable[..., Any], fetch: Fetch) -> None:
    for _ in range(limit.PER_WINDOW):
        assert post().status_code == 201
    assert post().status_code == 429
    taken = post([0, 0, 0, 0, 0, 0, 0, 0, 1])
    assert taken.status_code == 201 and taken.get_json()["safety"] is not None
    [alert] = fetch(sa.select(Alert))
    assert alert.kind == "safety"


def test_check_ins_entered_in_clinic_are_not_limited(
    app: Flask, factory: Factory, patient: Patient, fetch: Fetch, clock: FrozenClock
) -> None:
    nurse = factory.staff_for(patient)
    with app.app_context():
        me, by = db.session.get(Patient, patient.id), db.session.get(User, nurse.id)
        assert me is not None and by is not None
        for _ in range(limit.PER_WINDOW + 2):
            clock.advance(minutes=1)
            checkins.submit(me, "phq9", CALM, None, "clinic", entered_by=by)
        db.session.commit()
    assert len(fetch(sa.select(CheckIn))) == limit.PER_WINDOW + 2


def test_the_web_form_says_so_in_plain_words_and_keeps_the_answers(
    client: FlaskClient, auth: AuthActions, factory: Factory, clock: FrozenClock, fetch: Fetch
) -> None:
    patient = factory.patient(factory.clinic(), phone="+13125550777")
    assert auth.login(patient.phone).status_code == 302
    for _ in range(limit.PER_WINDOW):
        clock.advance(minutes=1)
        assert send(client, CALM).status_code == 303
    refused = send(client, CALM)
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    html = refused.get_data(as_text=True)
    assert "You have already checked in 6 times in the last day." in html
    # Nothing the patient chose is lost: the form comes back as sent.
    assert RadioState(html).checked == {f"item{number}": str(answer) for number, answer in enumerate(CALM, start=1)}
    assert len(fetch(sa.select(CheckIn))) == limit.PER_WINDOW


def test_an_sms_check_in_past_the_limit_is_answered_in_plain_words(
    client: FlaskClient, signed: None, patient: Patient, post: Callable[..., Any], fetch: Fetch, clock: FrozenClock
) -> None:
    for _ in range(limit.PER_WINDOW):
        assert post().status_code == 201  # the app's check-ins count for texts too
    text = texter(client, patient.phone)
    text("CHECKIN")
    for answer in CALM:
        clock.advance(minutes=1)
        text(str(answer))
    last = outbox_to(fetch, patient.phone)[-1]
    assert last.purpose == "checkin_limit" and last.body.startswith("You have already checked in 6 times")
    assert len(fetch(sa.select(CheckIn))) == limit.PER_WINDOW

    # A positive item 9 by text is taken, limit or not.
    text("CHECKIN")
    for answer in [*CALM[:8], 2]:
        clock.advance(minutes=1)
        text(str(answer))
    assert len(fetch(sa.select(CheckIn))) == limit.PER_WINDOW + 1
    assert outbox_to(fetch, patient.phone)[-1].purpose == "crisis"
