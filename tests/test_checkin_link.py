"""`/c/<token>`: a reminder's one-time link opens the check-in form without a password, once, for 72 hours."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from conftest import csrf_token_from
from factories import Factory
from flask import Flask
from flask.testing import FlaskClient

from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.jobs.registry import load_jobs
from tracker.models import Alert, CheckIn, CheckinLink, OutboundMessage, Patient, User
from tracker.services.checkins import links as checkin_links

TWELVE = [2, 2, 2, 2, 1, 1, 1, 1, 0]
ITEM9 = [1, 1, 1, 1, 1, 1, 1, 1, 1]


def make_link(app: Flask, patient: Patient) -> str:
    """A fresh link for the patient, as the reminders job makes them; returns its path."""
    with app.app_context():
        issued = checkin_links.create(patient.id)
        db.session.commit()
    return issued.url.removeprefix(app.config["PUBLIC_BASE_URL"])


def form_data(html: str, answers: Sequence[int | None], difficulty: int | None = None) -> dict[str, str]:
    data = {"csrf_token": csrf_token_from(html)}
    for number, answer in enumerate(answers, start=1):
        if answer is not None:
            data[f"item{number}"] = str(answer)
    if difficulty is not None:
        data["difficulty"] = str(difficulty)
    return data


def answer(client: FlaskClient, path: str, answers: Sequence[int | None], difficulty: int | None = None) -> Any:
    page = client.get(path)
    assert page.status_code == 200
    return client.post(path, data=form_data(page.get_data(as_text=True), answers, difficulty))


def test_the_link_opens_the_form_without_a_login(client: FlaskClient, app: Flask, factory: Factory) -> None:
    path = make_link(app, factory.patient())

    response = client.get(path)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<form method="post" action="{path}" class="checkin"' in html  # posts back to the link
    assert html.count("<fieldset") == 10 and "Thoughts that you would be better off dead" in html
    assert "Log out" not in html
    assert response.headers["Cache-Control"] == "no-store"
    # Nobody is logged in: the rest of the site still asks for a password.
    assert client.get("/me").status_code == 302
    assert client.get("/me/checkin").headers["Location"].startswith("/login")


def test_submitting_stores_one_web_check_in_and_uses_the_link(
    client: FlaskClient, app: Flask, factory: Factory, clock: FrozenClock, fetch: Callable[..., list[Any]]
) -> None:
    patient = factory.patient()
    path = make_link(app, patient)

    response = answer(client, path, TWELVE, difficulty=1)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Your score is <strong>12 of 27</strong>: moderate symptoms." in html
    [stored] = fetch(sa.select(CheckIn))
    assert (stored.patient_id, stored.source, stored.answers, stored.difficulty) == (patient.id, "web", TWELVE, 1)
    [link] = fetch(sa.select(CheckinLink))
    assert (link.used_at, link.checkin_id) == (clock.current, stored.id)
    # Still nobody logged in, and nothing in the session says otherwise.
    with client.session_transaction() as session:
        assert "_user_id" not in session
    assert client.get("/me/history").status_code == 302
    assert client.get(f"/me/checkins/{stored.id}").status_code == 302


def test_a_second_submission_finds_the_link_used(
    client: FlaskClient, app: Flask, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    path = make_link(app, factory.patient())
    page = client.get(path).get_data(as_text=True)
    data = form_data(page, TWELVE)
    assert client.post(path, data=data).status_code == 200

    again = client.post(path, data=data)

    assert again.status_code == 410
    assert "This link has been used" in again.get_data(as_text=True)
    reopened = client.get(path)
    assert reopened.status_code == 410 and "This link has been used" in reopened.get_data(as_text=True)
    assert len(fetch(sa.select(CheckIn))) == 1


def test_the_link_expires_after_72_hours(
    client: FlaskClient, app: Flask, factory: Factory, clock: FrozenClock, fetch: Callable[..., list[Any]]
) -> None:
    path = make_link(app, factory.patient())
    clock.advance(hours=71, minutes=59)
    page = client.get(path)
    assert page.status_code == 200

    clock.advance(minutes=1)

    expired = client.get(path)
    assert expired.status_code == 410
    assert "This link has expired" in expired.get_data(as_text=True)
    # A form opened in time and sent too late is refused too.
    late = client.post(path, data=form_data(page.get_data(as_text=True), TWELVE))
    assert late.status_code == 410
    assert fetch(sa.select(CheckIn)) == []


def test_an_unknown_link_is_not_found(client: FlaskClient, app: Flask, factory: Factory) -> None:
    path = make_link(app, factory.patient())
    assert client.get(path[:-1] + ("A" if path[-1] != "A" else "B")).status_code == 404
    assert client.get("/c/nonsense").status_code == 404


def test_item_9_shows_the_crisis_page_and_opens_an_alert(
    client: FlaskClient, app: Flask, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    clinic = factory.clinic(name="Lakeside Wellness", oncall_phone="+13125550101")
    patient = factory.patient(clinic)
    path = make_link(app, patient)

    response = answer(client, path, ITEM9)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Help is available now" in html and 'href="tel:988"' in html and 'href="sms:988"' in html
    assert "We are letting Lakeside Wellness know" in html  # the text to on-call is only queued yet
    [checkin] = fetch(sa.select(CheckIn))
    [alert] = fetch(sa.select(Alert).where(Alert.patient_id == patient.id))
    assert (alert.kind, alert.status, alert.checkin_id) == ("safety", "open", checkin.id)
    oncall = fetch(sa.select(OutboundMessage).where(OutboundMessage.to_phone == "+13125550101"))
    assert [m.purpose for m in oncall] == ["safety_oncall"]


def test_csrf_is_enforced(client: FlaskClient, app: Flask, factory: Factory, fetch: Callable[..., list[Any]]) -> None:
    path = make_link(app, factory.patient())
    data = {f"item{n}": "1" for n in range(1, 10)}

    response = client.post(path, data=data)

    assert response.status_code == 400
    assert fetch(sa.select(CheckIn)) == []
    assert client.get(path).status_code == 200  # the link was not used up


def test_an_incomplete_form_keeps_the_link(
    client: FlaskClient, app: Flask, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    path = make_link(app, factory.patient())

    response = answer(client, path, [3, 2, 1, None, 0, 1, 2, 3, 0])

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Question 4 needs an answer" in html and f'action="{path}"' in html
    assert fetch(sa.select(CheckIn)) == []
    [link] = fetch(sa.select(CheckinLink))
    assert link.used_at is None
    assert answer(client, path, TWELVE).status_code == 200
    assert len(fetch(sa.select(CheckIn))) == 1


def test_a_deactivated_account_s_link_no_longer_works(client: FlaskClient, app: Flask, factory: Factory) -> None:
    patient = factory.patient()
    path = make_link(app, patient)
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == patient.user_id).values(active=False))
        db.session.commit()
    assert client.get(path).status_code == 410


def test_the_reminders_link_opens_the_form(
    client: FlaskClient, app: Flask, factory: Factory, clock: FrozenClock, fetch: Callable[..., list[Any]]
) -> None:
    """End to end: the job's text carries a link that works, once."""
    patient = factory.patient(phase="maintenance")
    clock.advance(days=2, hours=1)  # Monday 10:00 in Chicago, the clinic's default
    with app.app_context():
        load_jobs()["reminders"].run(db.session, clock())
        db.session.commit()
    [message] = fetch(sa.select(OutboundMessage).where(OutboundMessage.patient_id == patient.id))
    match = re.search(r"(/c/[A-Za-z0-9_-]+) or reply CHECKIN", message.body)
    assert match, message.body

    assert answer(client, match.group(1), TWELVE).status_code == 200
    assert client.get(match.group(1)).status_code == 410
    [stored] = fetch(sa.select(CheckIn))
    assert stored.patient_id == patient.id
