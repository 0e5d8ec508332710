"""Instruments on a schedule through the ways in (CLINICAL.md §7, fourth bullet): the clinic's settings in the
API and on the admin's page, what is due in GET /me and on the patient's pages, the GAD-7 check-in end to end,
and the staff page's list of check-ins, each on its own scale."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from conftest import AuthActions, csrf_token_from
from factories import Factory
from flask.testing import FlaskClient

from tracker.models import CheckIn, Clinic

ONCALL = "+13125550100"
GAD7_MONTHLY = {"maintenance": {"phq9": "weekly", "gad7": "monthly"}}


def test_the_api_reads_and_changes_the_schedule(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any], fetch: Callable[..., list[Any]]
) -> None:
    clinic = factory.clinic(oncall_phone=ONCALL)
    staff, admin = bearer(factory.user(clinic)), bearer(factory.user(clinic, role="admin"))
    body = client.get("/api/v1/clinic/settings", headers=staff).get_json()
    assert body["instrument_schedule"]["maintenance"] == {"phq9": "weekly", "gad7": "off"}

    ok = client.patch(
        "/api/v1/clinic/settings", json={"instrument_schedule": {"maintenance": {"gad7": "monthly"}}}, headers=admin
    )
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["instrument_schedule"]["maintenance"] == {"phq9": "weekly", "gad7": "monthly"}
    [stored] = fetch(sa.select(Clinic.instrument_schedule).where(Clinic.id == clinic.id))
    assert stored["maintenance"]["gad7"] == "monthly"

    off = client.patch(
        "/api/v1/clinic/settings", json={"instrument_schedule": {"as_needed": {"phq9": "off"}}}, headers=admin
    )
    assert off.status_code == 422
    [error] = off.get_json()["errors"]
    assert error["field"] == "instrument_schedule.as_needed.phq9"
    assert "relapse rule" in error["message"]
    unknown = client.patch(
        "/api/v1/clinic/settings", json={"instrument_schedule": {"screening": {"gad7": "weekly"}}}, headers=admin
    )
    assert unknown.status_code == 422


def test_me_says_what_is_due_and_the_app_can_answer_it(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any]
) -> None:
    clinic = factory.clinic(oncall_phone=ONCALL, instrument_schedule=GAD7_MONTHLY)
    me = bearer(factory.patient(clinic, phase="maintenance"))
    assert client.get("/api/v1/me", headers=me).get_json()["due"] == ["phq9", "gad7"]
    gad7 = client.get("/api/v1/instruments/gad7", headers=me).get_json()
    assert (gad7["name"], len(gad7["items"]), gad7["loinc"], gad7["difficulty"]) == ("gad7", 7, "69737-5", None)

    made = client.post("/api/v1/checkins", json={"instrument": "gad7", "answers": [2, 2, 2, 2, 1, 1, 1]}, headers=me)
    assert made.status_code == 201, made.get_json()
    assert (made.get_json()["total"], made.get_json()["severity"]) == (11, "moderate")
    assert client.get("/api/v1/me", headers=me).get_json()["due"] == ["phq9"]


def _settings_form(html: str) -> dict[str, str]:
    """Every field of the admin's settings form as the page fills it in."""
    data = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"', body) or re.search(r'<option value="([^"]*)"', body)
        data[name] = chosen.group(1) if chosen else ""  # as a browser sends it: the first when none is chosen
    data["csrf_token"] = csrf_token_from(html)
    return data


def test_the_admins_page_sets_the_schedule_and_refuses_phq9_off(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    clinic = factory.clinic(oncall_phone=ONCALL)
    factory.user(clinic, role="admin", email="admin@example.org")
    auth.login("admin@example.org")
    html = client.get("/admin/settings").get_data(as_text=True)
    assert "Check-in schedule" in html and 'name="schedule_maintenance_gad7"' in html
    selects = dict(re.findall(r'<select[^>]*name="(schedule_[^"]+)"[^>]*>(.*?)</select>', html, re.S))
    for phase in ("induction", "maintenance", "as_needed"):
        assert 'value="off"' not in selects[f"schedule_{phase}_phq9"]  # never offered, then refused
        assert 'value="off"' in selects[f"schedule_{phase}_gad7"]

    saved = client.post("/admin/settings", data=_settings_form(html) | {"schedule_maintenance_gad7": "monthly"})
    assert saved.status_code == 302, re.findall(r"id=\"([\w-]+)-error\"", saved.get_data(as_text=True))
    assert re.search(r"Saved: [^<]*Check-in schedule", client.get("/admin/settings").get_data(as_text=True))
    [stored] = fetch(sa.select(Clinic.instrument_schedule).where(Clinic.id == clinic.id))
    assert stored["maintenance"] == {"phq9": "weekly", "gad7": "monthly"}

    html = client.get("/admin/settings").get_data(as_text=True)
    refused = client.post("/admin/settings", data=_settings_form(html) | {"schedule_induction_phq9": "off"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'id="schedule_induction_phq9-error"' in page and "the relapse rule reads only PHQ-9" in page
    [stored] = fetch(sa.select(Clinic.instrument_schedule).where(Clinic.id == clinic.id))
    assert stored["induction"]["phq9"] == "weekly"


def _answer(client: FlaskClient, path: str, answers: list[int]) -> Any:
    html = client.get(path).get_data(as_text=True)
    key = re.search(r'name="key" type="hidden" value="([^"]+)"', html)
    data = {f"item{n}": str(value) for n, value in enumerate(answers, start=1)}
    data |= {"csrf_token": csrf_token_from(html), "key": key.group(1) if key else ""}
    return client.post(path, data=data)


def test_the_patients_pages_ask_what_is_due_phq9_then_gad7(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    clinic = factory.clinic(oncall_phone=ONCALL, instrument_schedule=GAD7_MONTHLY)
    patient = factory.patient(clinic, phase="maintenance", phone="+13125550177")
    auth.login("+13125550177")
    assert "Due now: PHQ-9, then GAD-7." in client.get("/me").get_data(as_text=True)
    assert "This is questionnaire 1 of 2." in client.get("/me/checkin").get_data(as_text=True)

    sent = _answer(client, "/me/checkin", [1, 1, 1, 1, 1, 1, 1, 2, 0])
    assert sent.status_code == 303
    result = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Answer the GAD-7" in result and 'href="/me/checkin/gad7"' in result

    form = client.get("/me/checkin/gad7").get_data(as_text=True)
    assert "Check in: GAD-7" in form and "Not being able to stop or control worrying" in form
    assert 'name="difficulty"' not in form  # the GAD-7 has no difficulty question
    unanswered = client.post("/me/checkin/gad7", data={"csrf_token": csrf_token_from(form)})
    assert unanswered.status_code == 422 and "Question 7 needs an answer" in unanswered.get_data(as_text=True)

    done = _answer(client, "/me/checkin/gad7", [2] * 7)
    assert done.status_code == 303
    shown = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "14 of 21" in shown and "moderate symptoms" in shown and "Answer the GAD-7" not in shown
    rows = fetch(sa.select(CheckIn).where(CheckIn.patient_id == patient.id).order_by(CheckIn.instrument))
    assert [(c.instrument, c.total, c.source) for c in rows] == [("gad7", 14, "web"), ("phq9", 9, "web")]
    assert "Due now" not in client.get("/me").get_data(as_text=True)
    history = client.get("/me/history").get_data(as_text=True)
    assert "GAD-7</span> <strong>14 of 21</strong>: moderate symptoms" in history


def test_the_gad7_page_is_there_only_where_the_schedule_asks_it(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    clinic = factory.clinic(oncall_phone=ONCALL, instrument_schedule=GAD7_MONTHLY)
    factory.patient(clinic, phase="as_needed", phone="+13125550178")
    auth.login("+13125550178")
    assert client.get("/me/checkin/gad7").status_code == 404
    assert "questionnaire 1 of" not in client.get("/me/checkin").get_data(as_text=True)


def test_the_staff_page_lists_each_checkin_on_its_own_scale(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    clinic = factory.clinic(oncall_phone=ONCALL, instrument_schedule=GAD7_MONTHLY)
    factory.user(clinic, email="doc@example.org")
    patient = factory.patient(clinic, phase="maintenance")
    factory.checkin(patient, total=12, days_ago=3)
    factory.checkin(patient, answers=[2, 2, 2, 2, 2, 2, 3], days_ago=1, instrument="gad7")
    auth.login("doc@example.org")
    html = client.get(f"/clinic/patients/{patient.id}").get_data(as_text=True)
    rows = re.findall(r'<tr data-instrument="(\w+)">(.*?)</tr>', html, re.S)
    assert [name for name, _ in rows] == ["gad7", "phq9"]  # newest first
    gad7, phq9 = (re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)) for _, body in rows)
    assert "GAD-7" in gad7 and "15 of 21" in gad7 and "severe" in gad7
    assert "PHQ-9" in phq9 and "12 of 27" in phq9 and "moderate" in phq9


def test_a_reminders_link_asks_the_gad7_next_through_a_link_of_its_own(
    client: FlaskClient, app: Any, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    from test_checkin_link import answer, make_link

    clinic = factory.clinic(oncall_phone=ONCALL, instrument_schedule=GAD7_MONTHLY)
    patient = factory.patient(clinic, phase="maintenance")
    path = make_link(app, patient)
    assert client.get(f"{path}?instrument=gad7").status_code == 200  # asked in maintenance
    sent = answer(client, path, [1, 1, 1, 1, 1, 1, 1, 1, 0])
    assert sent.status_code == 200
    html = sent.get_data(as_text=True)
    found = re.search(r'href="(/c/[A-Za-z0-9_-]+)\?instrument=gad7"', html)
    assert found and found.group(1) != path and "Answer the GAD-7" in html

    next_path = f"{found.group(1)}?instrument=gad7"
    form = client.get(next_path).get_data(as_text=True)
    assert f'action="{next_path}"' in form and form.count('class="question') == 7
    done = answer(client, next_path, [3, 3, 2, 2, 1, 1, 0])
    assert done.status_code == 200 and "12 of 21" in done.get_data(as_text=True)
    assert "Answer the GAD-7" not in done.get_data(as_text=True)
    assert client.get(next_path).status_code == 410  # one check-in per link, as ever
    rows = fetch(sa.select(CheckIn.instrument).where(CheckIn.patient_id == patient.id))
    assert sorted(rows) == ["gad7", "phq9"]

    elsewhere = factory.patient(factory.clinic(oncall_phone=ONCALL), phase="maintenance")
    assert client.get(f"{make_link(app, elsewhere)}?instrument=gad7").status_code == 404  # not on its schedule
