"""Crisis resources follow the clinic's country (CLINICAL.md §3): on the crisis page, in the API, by text, in
HELP; a clinic in a country with none built in enrols nobody until its admin has entered them."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import AuthActions, csrf_token_from, make_test_app
from factories import Factory
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sms_webhook import outbox_to, texter
from test_sms_messages import carrier_words_found, phi_found, segments

from tracker.extensions import db
from tracker.models import AuditEvent, Clinic, OutboundMessage, Patient
from tracker.safety import BUILT_IN
from tracker.services.messaging import texts as messages

Fetch = Callable[..., list[Any]]
ITEM_9 = [1, 1, 0, 0, 0, 0, 0, 0, 2]

# (time zone, what a patient of that country must be given, what never): page, API and text alike.
COUNTRIES = {
    "GB": ("Europe/London", ["Samaritans", "116 123", "SHOUT", "85258", "999"], ["988", "911"]),
    "AU": ("Australia/Sydney", ["Lifeline", "13 11 14", "000"], ["988", "911", "116 123"]),
}
LINE_DE = {"name": "TelefonSeelsorge", "phone": "0800 111 0 111", "call": True, "sms": False, "sms_keyword": None}


def clinic_in(factory: Factory, country: str, **fields: Any) -> Clinic:
    zone = COUNTRIES[country][0] if country in COUNTRIES else "Europe/Berlin"
    return factory.clinic(f"Clinic {country}", timezone=zone, oncall_phone="+13125550100", **fields)


def patient_in(factory: Factory, country: str, **fields: Any) -> Patient:
    return factory.patient(clinic_in(factory, country), **fields)


def words_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# The crisis page, after item 9 on the web


@pytest.mark.parametrize("country", sorted(COUNTRIES))
def test_the_crisis_page_gives_the_countrys_lines(
    client: FlaskClient, auth: AuthActions, factory: Factory, country: str
) -> None:
    patient = patient_in(factory, country, phone="+13125550777")
    assert auth.login(patient.phone).status_code == 302
    html = client.get("/me/checkin").get_data(as_text=True)
    key = re.search(r'name="key" type="hidden" value="([^"]+)"', html)
    assert key
    data = {"csrf_token": csrf_token_from(html), "key": key[1]}
    data |= {f"item{n}": str(answer) for n, answer in enumerate(ITEM_9, start=1)}
    response = client.post("/me/checkin", data=data)
    assert response.status_code == 303 and response.headers["Location"].endswith("/safety")

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    given, never = COUNTRIES[country][1:]
    for words in given:
        assert words in words_of(page), words
    for number in never:  # in the words shown and in the links (the page's ids are random hex)
        assert number not in words_of(page), number
        assert not re.search(rf'href="(tel|sms):{number.replace(" ", "")}\b', page), number
    if country == "GB":
        assert 'href="tel:116123">Call 116 123' in page
        assert 'href="sms:85258?&amp;body=SHOUT">Text SHOUT to 85258' in page
        assert "tel:85258" not in page  # Shout takes texts only
        assert 'href="tel:999">Call 999' in page and "sms:999" not in page
    else:
        assert 'href="tel:131114">Call 13 11 14' in page and "sms:131114" not in page
        assert 'href="tel:000">Call 000' in page


def test_the_clinics_phone_is_listed_with_the_lines(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    clinic = clinic_in(factory, "GB", phone="+441632960123")
    patient = factory.patient(clinic, phone="+13125550778")
    checkin = factory.checkin(patient, answers=ITEM_9)
    auth.login(patient.phone)
    page = client.get(f"/me/checkins/{checkin.id}/safety").get_data(as_text=True)
    assert page.index("Samaritans") < page.index("Call 999") < page.index('href="tel:+441632960123"')


# The API: the check-in's safety object and /me


@pytest.mark.parametrize("country", sorted(COUNTRIES))
def test_the_api_gives_the_countrys_lines(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any], country: str
) -> None:
    patient = patient_in(factory, country)
    headers = bearer(patient)
    response = client.post("/api/v1/checkins", json={"instrument": "phq9", "answers": ITEM_9}, headers=headers)
    assert response.status_code == 201
    body = response.get_json()
    again = client.get(f"/api/v1/checkins/{body['id']}", headers=headers).get_json()
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert again["safety"] == body["safety"]
    assert me["crisis_resources"] == body["safety"]["resources"]
    given, never = COUNTRIES[country][1:]
    text = json.dumps(body["safety"])
    for words in given:
        assert words in text, words
    for number in never:
        assert number not in text, number
    if country == "GB":
        assert [(r["name"], r["phone"], r["call"], r["sms"], r["sms_keyword"]) for r in me["crisis_resources"]] == [
            ("Samaritans", "116 123", True, False, None),
            ("Shout", "85258", False, True, "SHOUT"),
            ("Emergency services", "999", True, False, None),
        ]


# By text: the crisis text after item 9, HELP, and the pointer


def text_check_in(client: FlaskClient, patient: Patient, answers: list[int]) -> None:
    send = texter(client, patient.phone)
    send("CHECKIN")
    for answer in answers:
        send(str(answer))


@pytest.mark.parametrize("country", sorted(COUNTRIES))
def test_the_crisis_text_gives_the_countrys_lines(
    client: FlaskClient, signed: None, factory: Factory, fetch: Fetch, country: str
) -> None:
    patient = patient_in(factory, country)
    text_check_in(client, patient, ITEM_9)

    [crisis] = [m for m in outbox_to(fetch, patient.phone) if m.purpose == "crisis"]
    given, never = COUNTRIES[country][1:]
    for words in given:
        if words not in ("Samaritans", "Lifeline"):  # a text gives how to reach them, not their names
            assert words in crisis.body, words
    for number in never:
        assert number not in crisis.body, number
    expected = {
        "GB": "If you need help now, call 116 123 or text SHOUT to 85258. In immediate danger, call 999.",
        "AU": "If you need help now, call 13 11 14. In immediate danger, call 000.",
    }
    assert crisis.body.endswith(expected[country])


@pytest.mark.parametrize(
    ("country", "line"), [("GB", "call 116 123 or text SHOUT to 85258"), ("AU", "call 13 11 14"), ("US", "988")]
)
def test_help_by_text_gives_the_countrys_line(
    client: FlaskClient, signed: None, factory: Factory, fetch: Fetch, country: str, line: str
) -> None:
    if country == "US":
        patient = factory.patient(factory.clinic("Clinic US", phone="+13125550199"))
    else:
        patient = patient_in(factory, country)
    texter(client, patient.phone)("HELP")
    texter(client, patient.phone)("hello?")

    [help_text, pointer] = outbox_to(fetch, patient.phone)
    assert help_text.purpose == "sms_help" and pointer.purpose == "sms_not_understood"
    for body in (help_text.body, pointer.body):
        assert body.endswith(f"If you need help now, call or text {line}." if country == "US" else f"{line}.")
        assert (country == "US") == ("988" in body)


def test_texts_name_no_result_in_any_country(factory: Factory, ctx: None) -> None:
    """Every crisis, HELP and pointer text, for every built-in country, with the clinic's phone and without:
    no PHI, no carrier word, within two segments; with the longest lines an admin may enter, still GSM-7."""
    built_in = [factory.clinic("Lakeside Wellness", phone="+13125550199", country=code) for code in BUILT_IN]
    built_in += [factory.clinic("Quiet Clinic", timezone="Europe/London")]
    longest = {"name": "x" * 60, "call": True, "sms": True, "sms_keyword": "K" * 20, "phone": "+44 20 7946 0000 00"}
    entered = factory.clinic(
        "Lakeside Wellness",
        timezone="Europe/Berlin",
        phone="+491701234567",
        crisis_lines=[longest] * 3,
        emergency_numbers=["112", "110", "19222"],
    )
    for clinic in [*built_in, entered]:
        for body in (messages.crisis_sms(clinic), messages.help_sms(clinic), messages.not_understood_sms(clinic)):
            assert phi_found(body) == [] and carrier_words_found(body) == [], body
            assert "{" not in body, body
            # More than two segments only for the longest entered lines: a crisis text is never cut short.
            assert segments(body) <= (2 if clinic in built_in else 3), body


# A clinic in another country: nobody enrolled until its admin has entered a line and the emergency number


def enrol(client: FlaskClient, headers: dict[str, str], phone: str = "+491701234567") -> Any:
    return client.post(
        "/api/v1/clinic/patients",
        json={"display_name": "Jo", "phone": phone, "timezone": "Europe/Berlin"},
        headers=headers,
    )


def test_a_clinic_in_germany_enrols_nobody_until_its_admin_enters_a_line_and_the_emergency_number(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any], fetch: Fetch
) -> None:
    clinic = clinic_in(factory, "DE")
    assert clinic.country == "DE"  # from Europe/Berlin
    admin = bearer(factory.user(clinic, role="admin"))

    refused = enrol(client, admin)
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    detail = refused.get_json()["detail"]
    assert "at least one crisis line and the emergency number" in detail and "Germany" in detail
    assert fetch(sa.select(Patient)) == [] and fetch(sa.select(OutboundMessage)) == []
    settings = client.get("/api/v1/clinic/settings", headers=admin).get_json()
    assert (settings["country"], settings["crisis_lines"], settings["emergency_numbers"]) == ("DE", None, None)

    half = client.patch("/api/v1/clinic/settings", json={"crisis_lines": [LINE_DE]}, headers=admin)
    assert half.status_code == 200
    assert "the emergency number" in enrol(client, admin).get_json()["detail"]

    done = client.patch("/api/v1/clinic/settings", json={"emergency_numbers": ["112"]}, headers=admin)
    assert done.status_code == 200
    assert [(r["kind"], r["phone"]) for r in done.get_json()["crisis_resources"]] == [
        ("line", "0800 1110111"),  # stored E.164, written as phonenumbers writes it in Germany
        ("emergency", "112"),
    ]
    enrolled = enrol(client, admin)
    assert enrolled.status_code == 201

    # Their patient who answers item 9 is given what the admin entered.
    [patient] = fetch(sa.select(Patient))
    body = client.post(
        "/api/v1/checkins", json={"instrument": "phq9", "answers": ITEM_9}, headers=bearer(patient)
    ).get_json()
    assert [r["phone"] for r in body["safety"]["resources"]] == ["0800 1110111", "112"]


def test_a_clinic_with_patients_cannot_be_left_without_crisis_resources(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any], fetch: Fetch
) -> None:
    clinic = clinic_in(factory, "DE", crisis_lines=[LINE_DE], emergency_numbers=["112"])
    factory.patient(clinic)
    admin = bearer(factory.user(clinic, role="admin"))

    cleared = client.patch("/api/v1/clinic/settings", json={"crisis_lines": None}, headers=admin)
    assert cleared.status_code == 422
    [problem] = cleared.get_json()["errors"]
    assert problem["field"] == "crisis_lines" and "at least one crisis line" in problem["message"]

    gb = clinic_in(factory, "GB")
    factory.patient(gb)
    moved = client.patch("/api/v1/clinic/settings", json={"country": "FR"}, headers=bearer(factory.user(gb, "admin")))
    assert moved.status_code == 422 and moved.get_json()["errors"][0]["field"] == "country"
    assert [c.country for c in fetch(sa.select(Clinic).order_by(Clinic.name))] == ["DE", "GB"]


def test_the_settings_check_the_country_and_what_is_entered(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any], fetch: Fetch
) -> None:
    clinic = factory.clinic("North", timezone="America/Chicago")
    admin = bearer(factory.user(clinic, role="admin"))
    bad = client.patch(
        "/api/v1/clinic/settings",
        json={
            "country": "XX",
            "crisis_lines": [{"name": "", "phone": "call us", "call": False, "sms": False}],
            "emergency_numbers": ["nine one one"],
        },
        headers=admin,
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.get_json()["errors"]} == {
        "country",
        "crisis_lines[0].name",
        "crisis_lines[0].phone",
        "crisis_lines[0].call",
        "emergency_numbers",
    }
    assert client.patch("/api/v1/clinic/settings", json={"crisis_lines": "988"}, headers=admin).status_code == 422

    # An admin may change the built-in ones too: a US clinic's own line in place of 988.
    own = {"name": "Our night line", "phone": "+1 312 555 0100", "sms": True}
    ok = client.patch("/api/v1/clinic/settings", json={"country": "ca", "crisis_lines": [own]}, headers=admin)
    assert ok.status_code == 200
    body = ok.get_json()
    assert body["country"] == "CA"
    assert body["crisis_lines"] == [{**own, "phone": "+13125550100", "call": True, "sms_keyword": None}]
    assert [r["phone"] for r in body["crisis_resources"]] == ["+1 312-555-0100", "911"]  # a US number in Canada
    [event] = fetch(sa.select(AuditEvent).where(AuditEvent.action == "settings.change"))
    assert event.detail["before"] == {"country": "US", "crisis_lines": None}
    # And back to the built-in ones.
    back = client.patch("/api/v1/clinic/settings", json={"crisis_lines": []}, headers=admin).get_json()
    assert back["crisis_lines"] is None and back["crisis_resources"][0]["name"] == "9-8-8 Suicide Crisis Helpline"


# The admin's settings page


def settings_form(client: FlaskClient) -> dict[str, str]:
    """What the page sends back as it is shown: every input's value and every select's chosen option."""
    html = client.get("/admin/settings").get_data(as_text=True)
    data = dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', html))
    for name, options in re.findall(r'<select[^>]*name="(\w+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"', options) or re.search(r'value="([^"]*)"', options)
        data[name] = chosen[1] if chosen else ""
    for name in re.findall(r'<input[^>]*name="(\w+)"', html):
        data.setdefault(name, "")
    return {name: value.replace("&amp;", "&") for name, value in data.items()}


def test_the_settings_page_takes_the_lines_and_then_the_clinic_can_enrol(
    client: FlaskClient, auth: AuthActions, factory: Factory, bearer: Callable[..., Any], fetch: Fetch
) -> None:
    clinic = clinic_in(factory, "DE")
    admin = factory.user(clinic, role="admin", email="admin@example.org")
    auth.login("admin@example.org")
    page = client.get("/admin/settings").get_data(as_text=True)
    assert "This clinic cannot enrol patients until you enter at least one crisis line and the emergency number" in (
        words_of(page)
    )
    assert '<option selected value="DE">Germany (DE)</option>' in page

    unchanged = client.post("/admin/settings", data=settings_form(client))
    assert unchanged.status_code == 302 and fetch(sa.select(AuditEvent)) == []

    form = settings_form(client)
    bad = client.post("/admin/settings", data=form | {"line1_name": "TelefonSeelsorge", "line1_phone": "x"})
    assert bad.status_code == 422
    assert 'id="line1_phone-error">Enter the number as it is dialled' in bad.get_data(as_text=True)
    # Shown with a value the form itself could not read, all at once.
    both = client.post("/admin/settings", data=form | {"line1_name": "T", "line1_phone": "x", "quiet_start": "25:00"})
    html = both.get_data(as_text=True)
    assert 'id="line1_phone-error">' in html and 'id="quiet_start-error">' in html

    line = {"line1_name": "TelefonSeelsorge", "line1_phone": "0800 111 0 111", "line1_reach": "call"}
    saved = client.post("/admin/settings", data=form | line | {"emergency_numbers": "112"})
    assert saved.status_code == 302
    [row] = fetch(sa.select(Clinic).where(Clinic.id == clinic.id))
    assert (row.crisis_lines, row.emergency_numbers) == ([{**LINE_DE, "phone": "+498001110111"}], ["112"])
    assert "cannot enrol" not in client.get("/admin/settings").get_data(as_text=True)
    assert enrol(client, bearer(admin)).status_code == 201


def test_the_settings_page_shows_the_built_in_lines_and_keeps_following_them(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic("London", timezone="Europe/London")
    factory.user(clinic, role="admin", email="admin@example.org")
    auth.login("admin@example.org")
    form = settings_form(client)
    assert (form["line1_name"], form["line1_phone"], form["line1_reach"]) == ("Samaritans", "116 123", "call")
    assert (form["line2_name"], form["line2_keyword"], form["line2_reach"]) == ("Shout", "SHOUT", "text")
    assert form["emergency_numbers"] == "999"

    # The country changed, the lines left as shown: the new country's built-in ones.
    assert client.post("/admin/settings", data=form | {"country": "IE"}).status_code == 302
    [row] = fetch(sa.select(Clinic).where(Clinic.id == clinic.id))
    assert (row.country, row.crisis_lines, row.emergency_numbers) == ("IE", None, None)
    assert settings_form(client)["emergency_numbers"] == "112 or 999"


# The operator's command and the migration


def test_create_clinic_takes_its_country_from_its_time_zone_or_the_option(
    app: Flask, connection: sa.Connection, fetch: Fetch
) -> None:
    runner = app.test_cli_runner()
    for args, country in (
        (["London", "--timezone", "Europe/London"], "GB"),
        (["Dublin", "--timezone", "Europe/London", "--country", "ie"], "IE"),
        (["Nowhere", "--timezone", "UTC"], None),
    ):
        result = runner.invoke(args=["tracker", "create-clinic", *args])
        assert result.exit_code == 0, result.output
        [clinic] = fetch(sa.select(Clinic).where(Clinic.id == uuid.UUID(result.output.split()[-1])))
        assert clinic.country == country
        assert ("cannot enrol patients" in result.output) == (country is None)
    refused = runner.invoke(args=["tracker", "create-clinic", "X", "--timezone", "UTC", "--country", "XX"])
    assert refused.exit_code != 0 and "Unknown country 'XX'" in refused.output


def test_0003_gives_the_clinics_already_stored_the_country_of_their_time_zone(tmp_path: Path) -> None:
    app = make_test_app(f"sqlite:///{tmp_path / 'before.sqlite3'}", tmp_path)
    with app.app_context():
        upgrade(revision="0002_alert_cause")
        columns = "id, name, timezone, safety_ack_minutes, signal_min_total, signal_min_rise, confirm_min_days, "
        columns += "confirm_max_days, urgent_min_total, induction_infusion_count, post_induction_phase, "
        columns += "reminder_weekday, reminder_local_time, quiet_start, quiet_end, missed_checkin_grace_days, "
        columns += "missed_checkin_alert_days, created_at"
        for n, zone in enumerate(("Europe/London", "Australia/Sydney", "UTC")):
            db.session.execute(
                sa.text(
                    f"INSERT INTO clinic ({columns}) VALUES (:id, :zone, :zone, 30, 10, 5, 5, 15, 20, 6, 'as_needed', "
                    "0, '10:00:00', '21:00:00', '08:00:00', 2, 21, '2026-01-01 00:00:00')"
                ),
                {"id": f"{n:032x}", "zone": zone},
            )
        db.session.commit()

        upgrade(revision="0003_clinic_country")
        found = db.session.execute(sa.text("SELECT name, country, crisis_lines FROM clinic ORDER BY name")).all()
        db.session.rollback()
        assert [tuple(row) for row in found] == [
            ("Australia/Sydney", "AU", None),
            ("Europe/London", "GB", None),
            ("UTC", None, None),
        ]
        db.engine.dispose()
