"""Password reset (services/accounts/password_reset.py): a patient's texted link, a staff member's link from their
admin, each once and for 30 minutes, ending every other session and token; the request never tells who exists."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import AuthActions, csrf_token_from
from factories import PASSWORD, PASSWORD_HASH, Factory
from fake_twilio import FakeTwilio
from flask import Flask
from flask.testing import FlaskClient

from tracker import clock as tracker_clock
from tracker import login_throttle
from tracker.clock import FrozenClock
from tracker.errors import Gone
from tracker.extensions import db
from tracker.jobs.dispatch_sms import dispatch
from tracker.models import AuditEvent, Invitation, OutboundMessage, User
from tracker.models.access import hash_secret
from tracker.services.accounts import enrolment, password_links, password_reset
from tracker.services.messaging.pacing import Pacer

RESET = "/api/v1/auth/password-reset"
CONFIRM = "/api/v1/auth/password-reset/confirm"
NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"/reset/([A-Za-z0-9_\-]+)")


@pytest.fixture
def twilio(app: Flask, fake: FakeTwilio, monkeypatch: pytest.MonkeyPatch) -> FakeTwilio:
    """The dispatcher sends through the real twilio client to the fake; monkeypatch restores the config."""
    settings = {
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_MESSAGING_SERVICE_SID": None,
        "TWILIO_API_BASE_URL": fake.base_url,
        "TWILIO_TIMEOUT_SECONDS": 2,
    }
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)
    return fake


def send_texts(app: Flask) -> None:
    """One run of the dispatch-sms job, outside any request."""
    with app.app_context():
        dispatch(db.session, tracker_clock.now(), pacer=Pacer(1000), jitter=lambda low, high: 1.0)


def reset_messages(fetch: Callable[..., list[Any]]) -> list[OutboundMessage]:
    return fetch(sa.select(OutboundMessage).where(OutboundMessage.purpose == "password_reset"))


def issued_link(app: Flask, user_id: Any) -> str:
    """A reset link for the account as the service makes it, committed; returns the token."""
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        url = password_links.issue(user, "reset", password_reset.RESET_LIFETIME)
        db.session.commit()
    match = LINK.search(url)
    assert match
    return match[1]


def logged_in_browser(app: Flask, username: str) -> FlaskClient:
    browser = app.test_client()
    assert AuthActions(browser).login(username).status_code == 302
    return browser


def test_a_patient_resets_by_the_texted_link_and_every_other_session_ends(
    app: Flask,
    client: FlaskClient,
    factory: Factory,
    twilio: FakeTwilio,
    fetch: Callable[..., list[Any]],
    bearer: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    clinic = factory.clinic(name="Lakeside", oncall_phone="+13125550100")
    patient = factory.patient(clinic, phone="+13125550142")
    staff = factory.user(clinic)
    old_token = bearer(patient)
    old_browser = logged_in_browser(app, patient.phone)

    answer = client.post(RESET, json={"username": "(312) 555-0142"})  # any usual spelling of the number
    assert answer.status_code == 202
    send_texts(app)

    [sent] = twilio.accepted
    assert sent["To"] == "+13125550142"
    body = sent["Body"]
    match = LINK.search(body)
    assert match and body.startswith("Lakeside: ") and "30 minutes" in body
    token = match[1]
    # The database keeps neither the link nor, once sent, a readable copy of it; staff see what it was.
    [row] = reset_messages(fetch)
    assert token not in row.body and "[password reset link]" in row.body
    assert fetch(sa.select(Invitation).where(Invitation.token_hash == hash_secret(token)))[0].purpose == "reset"
    AuthActions(client).login(staff.email or "")
    history = client.get(f"/clinic/patients/{patient.id}").get_data(as_text=True)
    assert "[password reset link]" in history and token not in history
    AuthActions(client).logout()

    confirmed = client.post(CONFIRM, json={"token": token, "password": NEW_PASSWORD})
    assert confirmed.status_code == 201
    issued = confirmed.get_json()
    assert issued["token_type"] == "Bearer" and issued["role"] == "patient"
    assert set(issued) == {"access_token", "token_type", "expires_at", "role"}  # exactly as /auth/token
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {issued['access_token']}"}).status_code == 200
    assert client.get("/api/v1/me", headers=old_token).status_code == 401
    assert old_browser.get("/me/history").status_code == 302
    login = {"username": patient.phone, "password": NEW_PASSWORD}
    assert client.post("/api/v1/auth/token", json=login).status_code == 201
    assert client.post("/api/v1/auth/token", json={**login, "password": PASSWORD}).status_code == 401

    again = client.post(CONFIRM, json={"token": token, "password": "yet another passphrase"})
    assert again.status_code == 410 and again.mimetype == "application/problem+json"
    assert token not in caplog.text


@pytest.mark.parametrize("who", ["unknown email", "unknown phone", "staff", "deactivated patient", "bad spelling"])
def test_the_answer_is_the_same_whoever_asks_and_only_a_patient_is_texted(
    client: FlaskClient, factory: Factory, fetch: Callable[..., list[Any]], who: str
) -> None:
    clinic = factory.clinic()
    patient = factory.patient(clinic)
    staff = factory.user(clinic, email="doc@example.org", phone="+13125550177")
    gone = factory.user(clinic, role="patient", phone="+13125550178", active=False)
    username = {
        "unknown email": "nobody@example.org",
        "unknown phone": "+13125559999",
        "staff": staff.email,
        "deactivated patient": gone.phone,
        "bad spelling": "not a username at all",
    }[who]

    known = client.post(RESET, json={"username": patient.phone})
    other = client.post(RESET, json={"username": username})

    assert (other.status_code, other.get_data(), other.mimetype) == (
        known.status_code,
        known.get_data(),
        "application/json",
    )
    assert known.status_code == 202
    assert set(other.headers.keys()) == set(known.headers.keys())
    assert [m.to_phone for m in reset_messages(fetch)] == [patient.phone]
    links = fetch(sa.select(Invitation.user_id).where(Invitation.purpose == "reset"))
    assert links == [patient.user_id]  # a staff member's own phone is never texted a reset


def test_the_answer_takes_the_same_time_whoever_it_names(client: FlaskClient, factory: Factory) -> None:
    """Texting a patient writes rows and naming nobody writes none: both answers wait for the same moment."""
    patient = factory.patient()

    def took(username: str) -> float:
        started = time.perf_counter()
        assert client.post(RESET, json={"username": username}).status_code == 202
        return time.perf_counter() - started

    known, unknown = took(patient.phone), took("+13125559999")
    assert min(known, unknown) >= login_throttle.RESET_ANSWER_SECONDS
    assert abs(known - unknown) < login_throttle.RESET_ANSWER_SECONDS / 2


def test_a_link_works_once(app: Flask, client: FlaskClient, factory: Factory) -> None:
    patient = factory.patient()
    token = issued_link(app, patient.user_id)
    first = client.post(CONFIRM, json={"token": token, "password": NEW_PASSWORD})
    assert first.status_code == 201
    assert client.post(CONFIRM, json={"token": token, "password": "another passphrase"}).status_code == 410
    page = app.test_client().get(f"/reset/{token}")
    assert page.status_code == 410
    html = page.get_data(as_text=True)
    assert "no longer works" in html and 'href="/reset"' in html


def test_a_link_expires_after_30_minutes(app: Flask, client: FlaskClient, factory: Factory, clock: FrozenClock) -> None:
    patient = factory.patient()
    late = issued_link(app, patient.user_id)
    clock.advance(minutes=30)
    assert client.post(CONFIRM, json={"token": late, "password": NEW_PASSWORD}).status_code == 410
    assert client.get(f"/reset/{late}").status_code == 410
    in_time = issued_link(app, patient.user_id)
    clock.advance(minutes=29, seconds=59)
    assert client.post(CONFIRM, json={"token": in_time, "password": NEW_PASSWORD}).status_code == 201


def test_a_newer_link_voids_the_older_but_not_a_pending_invitation(
    app: Flask, client: FlaskClient, factory: Factory
) -> None:
    staff = factory.user(factory.clinic(oncall_phone="+13125550100"))
    with app.app_context():
        enrolled = enrolment.enrol_patient(db.session.get(User, staff.id), "Ada", "+13125550190", "America/Chicago")  # type: ignore[arg-type]
        db.session.commit()
        user_id = enrolled.patient.user_id
    invitation = enrolled.invitation_url.rsplit("/", 1)[-1]
    older = issued_link(app, user_id)
    newer = issued_link(app, user_id)
    assert client.post(CONFIRM, json={"token": older, "password": NEW_PASSWORD}).status_code == 410
    assert client.get(f"/invite/{invitation}").status_code == 200  # asking for a reset cannot void it
    # Each kind of link opens only its own door: a reset token is no invitation, and the other way round.
    assert client.post("/api/v1/auth/invitation", json={"token": newer, "password": NEW_PASSWORD}).status_code == 404
    assert client.post(CONFIRM, json={"token": invitation, "password": NEW_PASSWORD}).status_code == 404
    assert client.post(CONFIRM, json={"token": newer, "password": NEW_PASSWORD}).status_code == 201


def test_a_weak_password_is_refused_and_leaves_the_link_usable(
    app: Flask, client: FlaskClient, factory: Factory
) -> None:
    patient = factory.patient()
    token = issued_link(app, patient.user_id)
    weak = client.post(CONFIRM, json={"token": token, "password": "short"})
    assert weak.status_code == 422
    assert weak.get_json()["errors"] == [{"field": "password", "message": "Use at least 10 characters."}]
    assert client.post(CONFIRM, json={"token": "not-a-link", "password": NEW_PASSWORD}).status_code == 404
    assert client.post(CONFIRM, json={"token": token, "password": NEW_PASSWORD}).status_code == 201


def test_two_uses_at_once_let_only_one_through(app: Flask, factory: Factory, clock: FrozenClock) -> None:
    """The link is claimed with a conditional update: a second request holding the same link loses."""
    patient = factory.patient()
    token = issued_link(app, patient.user_id)
    with app.app_context():
        first, second = password_reset.find(token), password_reset.find(token)
        password_links.claim(first, password_reset.GONE)
        with pytest.raises(Gone):
            password_links.claim(second, password_reset.GONE)
        db.session.rollback()


# The web pages -----------------------------------------------------------------------------------


def test_forgot_password_on_the_web_texts_the_link_and_the_link_logs_in(
    app: Flask, client: FlaskClient, factory: Factory, fetch: Callable[..., list[Any]], bearer: Callable[..., Any]
) -> None:
    patient = factory.patient()
    other_browser = logged_in_browser(app, patient.phone)
    old_token = bearer(patient)
    login_page = client.get("/login").get_data(as_text=True)
    assert 'href="/reset"' in login_page and "Forgot password?" in login_page

    form = client.get("/reset").get_data(as_text=True)
    empty = client.post("/reset", data={"csrf_token": csrf_token_from(form), "username": ""})
    assert empty.status_code == 422
    assert 'id="username-error">Enter your email or mobile number.' in empty.get_data(as_text=True)
    sent = client.post("/reset", data={"csrf_token": csrf_token_from(form), "username": patient.phone})
    unknown = client.post("/reset", data={"csrf_token": csrf_token_from(form), "username": "nobody@example.org"})
    assert sent.status_code == unknown.status_code == 200
    assert sent.get_data() == unknown.get_data()
    assert password_reset.ACCEPTED.replace("'", "&#39;") in sent.get_data(as_text=True)

    [message] = reset_messages(fetch)
    found = LINK.search(message.body)  # queued, not yet sent: the body still holds the link
    assert found
    token = found[1]
    page = client.get(f"/reset/{token}")
    assert page.status_code == 200
    csrf = csrf_token_from(page.get_data(as_text=True))
    mismatch = client.post(
        f"/reset/{token}", data={"csrf_token": csrf, "password": NEW_PASSWORD, "confirm": "something else"}
    )
    assert mismatch.status_code == 422 and 'id="confirm-error">The two passwords differ.' in mismatch.get_data(
        as_text=True
    )
    weak = client.post(f"/reset/{token}", data={"csrf_token": csrf, "password": "short", "confirm": "short"})
    assert weak.status_code == 422 and 'id="password-error">Use at least 10 characters.' in weak.get_data(as_text=True)
    done = client.post(f"/reset/{token}", data={"csrf_token": csrf, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert (done.status_code, done.headers["Location"]) == (303, "/me")
    assert client.get("/me/history").status_code == 200  # logged in here
    assert other_browser.get("/me/history").status_code == 302
    assert client.get("/api/v1/me", headers=old_token).status_code == 401
    assert client.get(f"/reset/{token}").status_code == 410


# Staff: a link their admin issues and sees once ---------------------------------------------------


def test_an_admin_issues_a_staff_link_seen_once_and_never_again(
    app: Flask, client: FlaskClient, factory: Factory, fetch: Callable[..., list[Any]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clinic = factory.clinic()
    admin = factory.user(clinic, role="admin")
    member = factory.user(clinic)
    member_browser = logged_in_browser(app, member.email or "")
    AuthActions(client).login(admin.email or "")
    staff_page = client.get("/admin/staff").get_data(as_text=True)
    assert f"/admin/staff/{member.id}/reset" in staff_page
    assert f"/admin/staff/{admin.id}/reset" not in staff_page  # their own: the password page, with the current one

    answer = client.post(f"/admin/staff/{member.id}/reset", data={"csrf_token": csrf_token_from(staff_page)})
    assert answer.status_code == 303
    html = client.get(answer.headers["Location"]).get_data(as_text=True)
    match = LINK.search(html)
    assert match and "30 minutes" in html
    token = match[1]

    for later in ("/admin/staff", "/admin/audit", "/admin/", "/clinic/", "/admin/settings"):
        assert token not in client.get(later).get_data(as_text=True), later
    events = fetch(sa.select(AuditEvent).where(AuditEvent.action == "staff.password_reset_link"))
    assert [(e.actor_id, e.target_id, e.detail) for e in events] == [(admin.id, str(member.id), None)]
    assert "staff.password_reset_link" in client.get("/admin/audit").get_data(as_text=True)

    stranger = app.test_client()
    page = stranger.get(f"/reset/{token}")
    csrf = csrf_token_from(page.get_data(as_text=True))
    done = stranger.post(
        f"/reset/{token}", data={"csrf_token": csrf, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert done.status_code == 303 and stranger.get("/clinic/").status_code == 200
    assert member_browser.get("/clinic/").status_code == 302  # the member's old session ended
    assert token not in caplog.text
    assert reset_messages(fetch) == []  # nothing texted to staff


def test_only_the_clinics_admin_issues_staff_links(app: Flask, client: FlaskClient, factory: Factory) -> None:
    clinic = factory.clinic()
    member = factory.user(clinic)
    outsider = factory.user(factory.clinic(), role="admin")
    AuthActions(client).login(outsider.email or "")
    token = csrf_token_from(client.get("/admin/staff").get_data(as_text=True))
    assert client.post(f"/admin/staff/{member.id}/reset", data={"csrf_token": token}).status_code == 404
    AuthActions(client).logout()
    AuthActions(client).login(factory.user(clinic).email or "")  # a clinician of the clinic
    token = csrf_token_from(client.get("/clinic/").get_data(as_text=True))
    assert client.post(f"/admin/staff/{member.id}/reset", data={"csrf_token": token}).status_code == 403


def test_a_staff_member_without_a_password_gets_an_invitation_instead(
    app: Flask, client: FlaskClient, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    clinic = factory.clinic()
    admin = factory.user(clinic, role="admin")
    pending = factory.user(clinic, password=None)
    AuthActions(client).login(admin.email or "")
    token = csrf_token_from(client.get("/admin/staff").get_data(as_text=True))
    answer = client.post(f"/admin/staff/{pending.id}/reset", data={"csrf_token": token})
    assert answer.status_code == 302
    assert "send an invitation instead" in client.get("/admin/staff").get_data(as_text=True)
    assert fetch(sa.select(Invitation).where(Invitation.user_id == pending.id)) == []


# Throttling --------------------------------------------------------------------------------------


def test_one_number_gets_at_most_3_texts_in_15_minutes_however_written_from_any_address_or_way_in(
    client: FlaskClient, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    patient = factory.patient(phone="+13125550142")
    spellings = ["+13125550142", "(312) 555-0142", "312.555.0142"]
    statuses = [
        client.post(RESET, json={"username": name}, environ_base={"REMOTE_ADDR": f"198.51.100.{n}"}).status_code
        for n, name in enumerate(spellings)
    ]
    page = client.get("/reset", environ_base={"REMOTE_ADDR": "203.0.113.5"}).get_data(as_text=True)
    web = client.post(
        "/reset",
        data={"csrf_token": csrf_token_from(page), "username": "1 312 555 0142"},
        environ_base={"REMOTE_ADDR": "203.0.113.5"},
    )
    api = client.post(RESET, json={"username": "+1 (312) 555-0142"}, environ_base={"REMOTE_ADDR": "203.0.113.6"})
    assert statuses == [202] * 3
    assert (web.status_code, api.status_code) == (429, 429)
    assert 0 < int(api.headers["Retry-After"]) <= 15 * 60
    assert [m.to_phone for m in reset_messages(fetch)] == [patient.phone] * 3
    # Another number is not held up by it.
    assert client.post(RESET, json={"username": factory.patient().phone}).status_code == 202


def test_one_address_asking_for_many_accounts_is_stopped(client: FlaskClient) -> None:
    statuses = [
        client.post(
            RESET, json={"username": f"person{n}@example.org"}, environ_base={"REMOTE_ADDR": "192.0.2.9"}
        ).status_code
        for n in range(11)
    ]
    assert statuses == [202] * 10 + [429]


# Re-authentication before changing a phone, email or password ---------------------------------


@pytest.mark.parametrize("field", ["phone", "email", "password"])
def test_no_self_service_change_of_phone_email_or_password_skips_the_current_password(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any], fetch: Callable[..., list[Any]], field: str
) -> None:
    """The one self-service change of these is the password's (POST /auth/password, with the current one):
    /me takes neither a phone nor an email nor a password, so none can be changed without it."""
    patient = factory.patient()
    value = {"phone": "+13125550111", "email": "new@example.org", "password": NEW_PASSWORD}[field]
    answer = client.patch("/api/v1/me", json={field: value}, headers=bearer(patient))
    assert answer.status_code == 422
    [user] = fetch(sa.select(User).where(User.id == patient.user_id))
    assert (user.phone, user.email, user.password_hash) == (patient.phone, None, PASSWORD_HASH)


def test_the_openapi_document_has_both_routes(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    request = paths["/api/v1/auth/password-reset"]["post"]
    confirm = paths["/api/v1/auth/password-reset/confirm"]["post"]
    assert "202" in request["responses"] and "201" in confirm["responses"]
    assert "security" not in request and "security" not in confirm  # anyone may call them


def test_request_lines_in_the_access_log_hold_no_link_secret(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    secrets = {"reset": "Zr1_-abcDEF", "invite": "Iv2_-ghiJKL", "c": "Ck3_-mnoPQR"}
    access = logging.getLogger("werkzeug")
    for kind, secret in secrets.items():
        access.info('127.0.0.1 - - "%s %s HTTP/1.1" %s -', "GET", f"/{kind}/{secret}", 200)
    assert not any(secret in caplog.text for secret in secrets.values())
    for words in ("[password reset link]", "[invitation link]", "[check-in link]"):
        assert words in caplog.text
