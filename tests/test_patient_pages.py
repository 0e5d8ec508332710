"""The patient's pages: check-in, result, crisis page, history; who may see them; what bad input does."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from html.parser import HTMLParser
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import AuthActions, csrf_token_from
from factories import Factory
from flask.testing import FlaskClient

from tracker.clock import FrozenClock
from tracker.models import Alert, CheckIn, OutboundMessage, Patient
from tracker.services.checkins import queries as checkin_queries

PAGES = ["/me/checkin", "/me/history", "/me/checkins/{id}", "/me/checkins/{id}/safety"]
ONCALL = "+13125550101"
# A moderate total of 12 with item 9 at 0.
TWELVE = [2, 2, 2, 2, 1, 1, 1, 1, 0]


class RadioState(HTMLParser):
    """The radios a page has checked, and every radio it offers, by name."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.checked: dict[str, str] = {}
        self.offered: dict[str, list[str]] = {}
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("type") == "radio":
            name, value = found.get("name") or "", found.get("value") or ""
            self.offered.setdefault(name, []).append(value)
            if "checked" in found:
                self.checked[name] = value


def fieldset(html: str, field_id: str) -> str:
    match = re.search(rf'<fieldset[^>]*id="{field_id}">(.*?)</fieldset>', html, re.S)
    assert match, f"no fieldset {field_id}"
    return match.group(1)


def send(
    client: FlaskClient,
    answers: Sequence[int | str | None],
    difficulty: int | str | None = None,
    key: str | None = None,
) -> Any:
    """Fill in the check-in form as a browser would: unanswered questions are simply not sent."""
    html = client.get("/me/checkin").get_data(as_text=True)
    key_match = re.search(r'name="key" type="hidden" value="([^"]+)"', html)
    assert key_match
    data: dict[str, Any] = {"csrf_token": csrf_token_from(html), "key": key or key_match.group(1)}
    for number, answer in enumerate(answers, start=1):
        if answer is not None:
            data[f"item{number}"] = str(answer)
    if difficulty is not None:
        data["difficulty"] = str(difficulty)
    return client.post("/me/checkin", data=data)


def log_in_patient(factory: Factory, auth: AuthActions, **fields: Any) -> Patient:
    patient = factory.patient(phone=fields.pop("phone", "+13125550777"), **fields)
    assert auth.login(patient.phone).status_code == 302
    return patient


# Who may see the pages


@pytest.mark.parametrize("path", PAGES)
def test_pages_need_a_login(client: FlaskClient, factory: Factory, path: str) -> None:
    checkin = factory.checkin(factory.patient(), answers=[0, 0, 0, 0, 0, 0, 0, 0, 1])
    response = client.get(path.format(id=checkin.id))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("role", ["clinician", "admin"])
@pytest.mark.parametrize("path", PAGES)
def test_staff_are_refused(client: FlaskClient, auth: AuthActions, factory: Factory, role: str, path: str) -> None:
    clinic = factory.clinic()
    checkin = factory.checkin(factory.patient(clinic), answers=[0, 0, 0, 0, 0, 0, 0, 0, 1])
    factory.user(clinic, role=role, email="staff@example.org")
    auth.login("staff@example.org")
    assert client.get(path.format(id=checkin.id)).status_code == 403


@pytest.mark.parametrize("suffix", ["", "/safety"])
def test_another_patients_checkin_is_not_found(
    client: FlaskClient, auth: AuthActions, factory: Factory, suffix: str
) -> None:
    clinic = factory.clinic()
    theirs = factory.checkin(factory.patient(clinic), answers=[1, 1, 1, 1, 1, 1, 1, 1, 2])
    mine = factory.checkin(log_in_patient(factory, auth, clinic=clinic), answers=[1, 1, 1, 1, 1, 1, 1, 1, 2])
    assert client.get(f"/me/checkins/{mine.id}{suffix}").status_code == 200
    response = client.get(f"/me/checkins/{theirs.id}{suffix}")
    assert response.status_code == 404
    assert str(theirs.id) not in response.get_data(as_text=True)
    assert client.get(f"/me/checkins/not-an-id{suffix}").status_code == 404


def test_home_offers_a_check_in_and_the_history(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    log_in_patient(factory, auth)
    html = client.get("/me").get_data(as_text=True)
    assert 'href="/me/checkin">Check in now</a>' in html
    assert 'href="/me/history"' in html


# The form


def test_form_asks_every_question_accessibly(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    log_in_patient(factory, auth)
    response = client.get("/me/checkin")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    radios = RadioState(html)
    assert radios.offered == {
        **{f"item{n}": ["0", "1", "2", "3"] for n in range(1, 10)},
        "difficulty": ["0", "1", "2", "3", ""],
    }
    assert radios.checked == {}
    assert html.count("<fieldset") == 10 and html.count("<legend>") == 10
    assert "Thoughts that you would be better off dead" in fieldset(html, "item9")
    # Every radio sits inside its own label, so the whole row is the tap target.
    assert len(re.findall(r'<label class="choice[^"]*" for="([^"]+)">\s*<input type="radio" id="\1"', html)) == 41
    assert "Nearly every day" in html and "Extremely difficult" in html
    # The CSP forbids inline code: none is written.
    assert "<script" not in html and "style=" not in html and "<style" not in html
    assert "script-src 'self'; style-src 'self'" in response.headers["Content-Security-Policy"]


def test_answers_are_scored_and_shown_in_plain_words(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    patient = log_in_patient(factory, auth)
    response = send(client, TWELVE, difficulty=2)
    [stored] = fetch(sa.select(CheckIn).where(CheckIn.patient_id == patient.id))
    assert response.status_code == 303
    assert response.headers["Location"] == f"/me/checkins/{stored.id}"
    assert (stored.answers, stored.difficulty, stored.total, stored.source) == (TWELVE, 2, 12, "web")
    assert (stored.severity, stored.item9_positive) == ("moderate", False)
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your score is <strong>12 of 27</strong>: moderate symptoms." in html
    assert "This is your first check-in" in html
    assert "Help is available now" not in html
    assert fetch(sa.select(Alert).where(Alert.patient_id == patient.id)) == []


def test_result_compares_with_the_last_check_in_and_draws_the_trend(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    patient = log_in_patient(factory, auth)
    for days_ago, total in [(21, 6), (14, 9), (7, 17)]:
        factory.checkin(patient, total=total, days_ago=days_ago)
    html = client.get(send(client, TWELVE).headers["Location"]).get_data(as_text=True)
    assert "That is 5 points lower than your last check-in (17 on Nov 14)." in html
    assert "real improvement" in html
    assert "Your last 4 scores, oldest first" in html
    assert '<desc id="trend-desc">6 on Oct 31; 9 on Nov 7; 17 on Nov 14; 12 on Nov 21.</desc>' in html
    assert html.count('<rect class="bar') == 4 and html.count('<rect class="bar current"') == 1


@pytest.mark.parametrize(
    ("last", "words"),
    [
        (12, "That is the same score as your last check-in (12 on Nov 14)."),
        (14, "That is 2 points lower than your last check-in (14 on Nov 14): about the same."),
        (11, "That is 1 point higher than your last check-in (11 on Nov 14): about the same."),
        (5, "That is 7 points higher than your last check-in (5 on Nov 14). A rise of 5 points or more"),
    ],
)
def test_change_is_told_in_words(
    client: FlaskClient, auth: AuthActions, factory: Factory, last: int, words: str
) -> None:
    patient = log_in_patient(factory, auth)
    factory.checkin(patient, total=last, days_ago=7)
    html = client.get(send(client, TWELVE).headers["Location"]).get_data(as_text=True)
    assert words in html


def test_an_unanswered_question_keeps_every_other_answer(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    patient = log_in_patient(factory, auth)
    answers: list[int | None] = [3, 2, 1, None, 0, 1, 2, 3, 0]
    response = send(client, answers, difficulty=1)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    expected = {f"item{n}": str(a) for n, a in enumerate(answers, start=1) if a is not None}
    assert RadioState(html).checked == {**expected, "difficulty": "1"}
    missing = fieldset(html, "item4")
    assert '<p class="error" id="item4-error">Please choose an answer to this question.</p>' in missing
    assert missing.count('aria-invalid="true" aria-describedby="item4-error"') == 4
    assert html.count('class="error"') == 1  # beside question 4 only
    assert '<a href="#item4">Question 4 needs an answer</a>' in html
    assert fetch(sa.select(CheckIn).where(CheckIn.patient_id == patient.id)) == []


def test_a_tampered_answer_is_refused_beside_its_question(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    patient = log_in_patient(factory, auth)
    response = send(client, [0, 0, 0, 0, 0, 0, 7, 0, "x"], difficulty=9)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="item7-error"' in fieldset(html, "item7")
    assert 'id="item9-error"' in fieldset(html, "item9")
    assert 'id="difficulty-error"' in fieldset(html, "difficulty")
    assert fetch(sa.select(CheckIn).where(CheckIn.patient_id == patient.id)) == []


def test_a_form_without_its_csrf_token_is_refused(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    patient = log_in_patient(factory, auth)
    data = {f"item{n}": "1" for n in range(1, 10)}
    response = client.post("/me/checkin", data=data)
    assert response.status_code == 400
    assert "Nothing was saved" in response.get_data(as_text=True)
    response = client.post("/me/checkin", data={**data, "csrf_token": "forged"})
    assert response.status_code == 400
    assert fetch(sa.select(CheckIn).where(CheckIn.patient_id == patient.id)) == []


def test_the_same_form_sent_twice_is_stored_once(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    patient = log_in_patient(factory, auth, clinic=factory.clinic(oncall_phone=ONCALL))
    answers = [1, 1, 1, 1, 1, 1, 1, 1, 1]
    first = send(client, answers, key="5a0c1a52-94a4-4b8e-9a3c-0d1f0e2b7c11")
    again = send(client, answers, key="5a0c1a52-94a4-4b8e-9a3c-0d1f0e2b7c11")
    assert first.headers["Location"] == again.headers["Location"]
    assert len(fetch(sa.select(CheckIn).where(CheckIn.patient_id == patient.id))) == 1
    assert len(fetch(sa.select(Alert).where(Alert.patient_id == patient.id))) == 1
    # A fresh form is a new check-in.
    assert send(client, answers).headers["Location"] != first.headers["Location"]
    assert len(fetch(sa.select(CheckIn).where(CheckIn.patient_id == patient.id))) == 2


def test_the_same_form_sent_twice_at_once_is_stored_once(
    client: FlaskClient,
    auth: AuthActions,
    factory: Factory,
    fetch: Callable[..., list[Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    patient = log_in_patient(factory, auth)
    key = "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
    first = send(client, TWELVE, key=key)
    # The second request looked before the first had committed, so it saw nothing yet.
    looks: list[object] = []
    real_find_own = checkin_queries.find_own

    def find_own_late(*args: Any) -> CheckIn | None:
        looks.append(args)
        return None if len(looks) == 1 else real_find_own(*args)

    monkeypatch.setattr(checkin_queries, "find_own", find_own_late)
    again = send(client, TWELVE, key=key)
    assert len(looks) == 2
    assert (again.status_code, again.headers["Location"]) == (303, first.headers["Location"])
    assert len(fetch(sa.select(CheckIn).where(CheckIn.patient_id == patient.id))) == 1


def test_another_patients_form_key_never_reaches_their_checkin(
    app: Any, client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    clinic = factory.clinic()
    key = "0e9d7c55-2b1a-4f3e-8d6c-5b4a39281706"
    other = factory.patient(clinic)
    other_client = app.test_client()
    AuthActions(other_client).login(other.phone)
    theirs = send(other_client, TWELVE, key=key).headers["Location"]
    log_in_patient(factory, auth, clinic=clinic)
    mine = send(client, [0] * 9, key=key)
    assert mine.status_code == 303 and mine.headers["Location"] != theirs
    assert client.get(theirs).status_code == 404


# Item 9


def test_item_9_leads_to_the_crisis_page_and_alerts_the_clinic(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    clinic = factory.clinic("Lakeside Ketamine Clinic", oncall_phone=ONCALL, phone="+13125550100")
    patient = log_in_patient(factory, auth, clinic=clinic, display_name="Robin Q.")
    response = send(client, [1, 1, 0, 0, 0, 0, 0, 0, 2])
    [stored] = fetch(sa.select(CheckIn).where(CheckIn.patient_id == patient.id))
    assert response.status_code == 303
    assert response.headers["Location"] == f"/me/checkins/{stored.id}/safety"
    [alert] = fetch(sa.select(Alert).where(Alert.patient_id == patient.id))
    assert (alert.kind, alert.status, alert.checkin_id) == ("safety", "open", stored.id)
    [message] = fetch(sa.select(OutboundMessage).where(OutboundMessage.patient_id == patient.id))
    assert (message.to_phone, message.purpose, message.status) == (ONCALL, "safety_oncall", "queued")
    assert "Robin" not in message.body

    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for link in ('href="tel:988">Call 988', 'href="sms:988">Text 988', 'href="tel:911">Call 911'):
        assert link in html
    assert "sms:911" not in html
    # The text to on-call is only queued: the page does not claim the clinic has been told, and says it once.
    assert "We are letting Lakeside Ketamine Clinic know" in html and "has been told" not in html
    assert 'href="tel:+13125550100">Call (312) 555-0100' in html and "+13125550100<" not in html
    # The result page points back to help.
    result = client.get(f"/me/checkins/{stored.id}").get_data(as_text=True)
    assert f'href="/me/checkins/{stored.id}/safety"' in result


def test_the_crisis_page_is_only_for_item_9_check_ins(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    patient = log_in_patient(factory, auth)
    calm = factory.checkin(patient, answers=[3, 3, 3, 3, 3, 3, 3, 3, 0])
    assert client.get(f"/me/checkins/{calm.id}/safety").status_code == 404


def test_no_patient_details_reach_the_logs(
    client: FlaskClient, auth: AuthActions, factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    log_in_patient(factory, auth, clinic=factory.clinic(oncall_phone=ONCALL), display_name="Robin Q.")
    send(client, [0, 0, 0, None, 0, 0, 0, 0, 0])
    send(client, [3, 3, 3, 3, 3, 3, 3, 3, 3])
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in ("Robin", "+13125550777", "answers", "27"):
        assert secret not in logged


# History


def test_history_is_newest_first_twenty_a_page(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    patient = log_in_patient(factory, auth)
    for day in range(25):
        factory.checkin(patient, total=19 if day == 24 else day % 10, days_ago=day)  # 19 on the oldest
    first = client.get("/me/history").get_data(as_text=True)
    assert first.count("<li>") == 20
    assert first.index("Nov 21, 2026") < first.index("Nov 20, 2026")
    assert "Nov 2, 2026" in first and "Nov 1, 2026" not in first
    assert 'href="/me/history?page=2">Older</a>' in first and "Newer" not in first
    second = client.get("/me/history?page=2").get_data(as_text=True)
    assert second.count("<li>") == 5
    assert "Oct 28, 2026" in second and "<strong>19 of 27</strong>: moderately severe symptoms" in second
    assert 'href="/me/history?page=1">Newer</a>' in second and "Older" not in second
    assert client.get("/me/history?page=3").status_code == 404
    assert client.get("/me/history?page=0").status_code == 404
    assert client.get("/me/history?page=abc").get_data(as_text=True) == first


def test_history_without_check_ins(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    log_in_patient(factory, auth)
    assert "You have no check-ins yet." in client.get("/me/history").get_data(as_text=True)


def test_history_costs_the_same_queries_for_few_or_many(
    client: FlaskClient, auth: AuthActions, factory: Factory, count_queries: Callable[[], Any]
) -> None:
    patient = log_in_patient(factory, auth)
    factory.checkin(patient, total=3)
    with count_queries() as few:
        client.get("/me/history")
    for day in range(1, 30):
        factory.checkin(patient, total=5, days_ago=day)
    with count_queries() as many:
        client.get("/me/history")
    assert many.count == few.count == 3  # the user, the patient, one page of check-ins


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        ("America/Chicago", "Nov 21, 2026, 9:00 AM CST"),
        ("America/Los_Angeles", "Nov 21, 2026, 7:00 AM PST"),
        ("Asia/Tokyo", "Nov 22, 2026, 12:00 AM JST"),
    ],
)
def test_times_are_in_the_patients_time_zone(
    client: FlaskClient, auth: AuthActions, factory: Factory, clock: FrozenClock, zone: str, shown: str
) -> None:
    patient = log_in_patient(factory, auth, timezone=zone)
    checkin = factory.checkin(patient, total=4)
    assert checkin.taken_at == clock()  # 15:00 UTC
    assert shown in client.get("/me/history").get_data(as_text=True)
    assert shown in client.get(f"/me/checkins/{checkin.id}").get_data(as_text=True)
