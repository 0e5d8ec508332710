"""What patients read and admins enter: "Check in now" opens what is due first, the reminders page words its
schedule, zone and times as the page shows them, phone numbers are written as the rest of the product writes
them, a bad difficulty answer is named beside its question, and crisis lines are read with phonenumbers."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time
from typing import Any

import sqlalchemy as sa
from conftest import AuthActions
from factories import Factory
from flask.testing import FlaskClient
from test_patient_pages import RadioState, fieldset, send

from tracker.models import CheckIn, Clinic
from tracker.web import reminder_words

Fetch = Callable[..., list[Any]]
PHONE = "+13125550777"


def _logged_in(factory: Factory, auth: AuthActions, **clinic: Any) -> Any:
    patient = factory.patient(factory.clinic(**clinic), phone=PHONE)
    assert auth.login(PHONE).status_code == 302
    return patient


def _check_in_now(client: FlaskClient) -> str:
    html = client.get("/me").get_data(as_text=True)
    match = re.search(r'<a class="button primary" href="([^"]+)">Check in now</a>', html)
    assert match, html
    return match.group(1)


# 4. "Check in now" opens what is due first


def test_check_in_now_opens_the_gad7_when_only_it_is_due(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    patient = _logged_in(factory, auth, instrument_schedule={"as_needed": {"phq9": "weekly", "gad7": "monthly"}})
    assert _check_in_now(client) == "/me/checkin"  # both due: the PHQ-9 first
    factory.checkin(patient, total=4)  # the PHQ-9 answered today: only the GAD-7 is due
    assert _check_in_now(client) == "/me/checkin/gad7"
    assert client.get("/me/checkin/gad7").status_code == 200


# 5. The reminders page


def test_the_reminders_page_words_the_schedule_the_zone_and_one_time_format(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    _logged_in(
        factory,
        auth,
        instrument_schedule={"as_needed": {"phq9": "monthly", "gad7": "every_2_weeks"}},
        quiet_start=time(21, 0),
        quiet_end=time(8, 0),
    )
    html = client.get("/me/reminders").get_data(as_text=True)
    assert "We text you a reminder when a check-in is due: the PHQ-9 every 4 weeks and the GAD-7 every 2 weeks." in html
    assert "Once a week" not in html and "each week" not in html
    assert "(Chicago time)" in html and "America/Chicago" not in html
    assert "between 9:00 PM and 8:00 AM" in html and "21:00" not in html


def test_the_words_of_each_schedule() -> None:
    assert reminder_words.cadence({"phq9": "weekly"}) == "the PHQ-9 every week"
    assert reminder_words.cadence({"phq9": "every_2_weeks"}) == "the PHQ-9 every 2 weeks"
    assert reminder_words.zone("America/Argentina/Buenos_Aires") == "Buenos Aires time"
    assert reminder_words.zone("UTC") == "UTC"
    assert (reminder_words.clock(time(0, 5)), reminder_words.clock(time(12, 0))) == ("12:05 AM", "12:00 PM")


# 6. Phone numbers on the crisis page


def test_a_crisis_line_entered_as_a_full_number_is_written_as_its_country_writes_it(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    line = {"name": "Lifeline", "phone": "+18002738255", "call": True, "sms": False, "sms_keyword": None}
    _logged_in(factory, auth, crisis_lines=[line], phone="+13125550100")
    location = send(client, [1, 1, 0, 0, 0, 0, 0, 0, 2]).headers["Location"]
    html = client.get(location).get_data(as_text=True)
    assert 'href="tel:+18002738255">Call (800) 273-8255' in html
    assert "Call (312) 555-0100" in html
    assert "+13125550100<" not in html and "+18002738255<" not in html


# 7. A difficulty answer that is none of the choices


def test_a_bad_difficulty_is_named_beside_it_and_nothing_is_lost(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    _logged_in(factory, auth)
    answers = [2, 2, 1, 1, 1, 1, 1, 1, 0]
    response = send(client, answers, difficulty="abc")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="difficulty-error"' in fieldset(html, "difficulty")
    assert RadioState(html).checked == {f"item{n}": str(a) for n, a in enumerate(answers, start=1)}
    assert fetch(sa.select(CheckIn)) == []


# 8. Crisis lines an admin enters


def test_a_line_written_with_brackets_is_parsed_and_stored_normalised_and_a_name_needs_a_letter(
    client: FlaskClient, factory: Factory, bearer: Callable[[Any], dict[str, str]], fetch: Fetch
) -> None:
    clinic = factory.clinic()
    admin = bearer(factory.user(clinic, "admin"))
    line = {"name": "Old Lifeline", "phone": "+1 (800) 273-8255", "call": True, "sms": False}
    done = client.patch("/api/v1/clinic/settings", json={"crisis_lines": [line]}, headers=admin)
    assert done.status_code == 200, done.get_data(as_text=True)
    [stored] = fetch(sa.select(Clinic).where(Clinic.id == clinic.id))
    assert stored.crisis_lines[0]["phone"] == "+18002738255"
    national = {**line, "phone": "(800) 273-8255"}  # the clinic's country (US) is assumed
    assert client.patch("/api/v1/clinic/settings", json={"crisis_lines": [national]}, headers=admin).status_code == 200

    nameless = client.patch("/api/v1/clinic/settings", json={"crisis_lines": [{**line, "name": "-5"}]}, headers=admin)
    assert nameless.status_code == 422
    assert [e["field"] for e in nameless.get_json()["errors"]] == ["crisis_lines[0].name"]
