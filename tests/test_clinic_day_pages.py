"""A clinic day on the web, over HTTP: enrol, a check-in taken in clinic, a booster raised by a clinician, and the
visit form that records, corrects, moves or cancels an infusion, each through the service the API uses."""

from __future__ import annotations

import html as markup
import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import pytest
import sqlalchemy as sa
from conftest import TEST_NOW, AuthActions, csrf_token_from
from factories import Factory
from flask.testing import FlaskClient

from tracker.models import (
    Alert,
    AuditEvent,
    BoosterRequest,
    CheckIn,
    Clinic,
    Infusion,
    Invitation,
    OutboundMessage,
    Patient,
    User,
)

Fetch = Callable[..., list[Any]]
ONCALL = "+13125550100"


def clinic_with_oncall(factory: Factory) -> Clinic:
    return factory.clinic(oncall_phone=ONCALL)


def log_in(factory: Factory, auth: AuthActions, clinic: Clinic) -> User:
    user = factory.user(clinic, email="lee@example.org")
    assert auth.login("lee@example.org").status_code == 302
    return user


def get(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:3000]
    return response.get_data(as_text=True)


def post_form(client: FlaskClient, page_path: str, action: str, prefix: str = "", **fields: str) -> Any:
    """Send a form as the browser would: the page's CSRF token, the fields under the form's prefix."""
    token = csrf_token_from(get(client, page_path))
    name = f"{prefix}-" if prefix else ""
    return client.post(action, data={f"{name}csrf_token": token, **{f"{name}{k}": v for k, v in fields.items()}})


def one(fetch: Fetch, model: Any, row_id: Any) -> Any:
    [row] = fetch(sa.select(model).where(model.id == row_id))
    return row


class OnDuty(NamedTuple):
    clinic: Clinic
    staff: User


@pytest.fixture
def on_duty(factory: Factory, auth: AuthActions) -> OnDuty:
    """A clinic with an on-call phone (enrolment needs one), and a clinician of it logged in: most tests here."""
    clinic = clinic_with_oncall(factory)
    return OnDuty(clinic, log_in(factory, auth, clinic))


def confirmation_of(html: str, prefix: str = "") -> str:
    name = f"{prefix}-confirmed" if prefix else "confirmed"
    found = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html)
    assert found is not None and found.group(1), "the page asks for no confirmation"
    return markup.unescape(found.group(1))


# Enrolment


def test_enrolment_puts_each_problem_beside_its_field_then_sends_the_invitation(
    client: FlaskClient, on_duty: OnDuty, fetch: Fetch
) -> None:
    clinic = on_duty.clinic
    form = get(client, "/clinic/patients/new")
    assert 'value="America/Chicago"' in form  # the clinic's zone, to start from
    refused = post_form(
        client, "/clinic/patients/new", "/clinic/patients/new", display_name=" ", phone="12", timezone="Mars/Base"
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="display_name-error">Enter a name of 1 to 120 characters.' in page
    assert 'id="phone-error">That is not a valid mobile number' in page
    assert "Please correct the 3 marked fields." in page
    assert 'id="timezone-error">Use a time zone name such as America/Chicago.' in page
    assert fetch(sa.select(Patient).where(Patient.clinic_id == clinic.id)) == []

    done = post_form(
        client,
        "/clinic/patients/new",
        "/clinic/patients/new",
        display_name="Hayden P.",
        phone="+1 312 555 0188",
        timezone="America/Chicago",
        phase="induction",
    )
    [patient] = fetch(sa.select(Patient).where(Patient.clinic_id == clinic.id))
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/clinic/patients/{patient.id}#texts")
    assert (patient.display_name, patient.phone, patient.phase) == ("Hayden P.", "+13125550188", "induction")
    [text] = fetch(sa.select(OutboundMessage).where(OutboundMessage.patient_id == patient.id))
    assert (text.purpose, text.to_phone) == ("invitation", "+13125550188")
    assert len(fetch(sa.select(Invitation).where(Invitation.user_id == patient.user_id))) == 1
    landed = get(client, done.headers["Location"])
    # The number as the clinic's country writes it, as other pages show it (tracker/phones.py).
    assert "Hayden P. is enrolled. The invitation text is on its way to (312) 555-0188:" in landed
    assert "/invite/" not in landed  # the one-time link is the patient's alone
    assert [e.action for e in fetch(sa.select(AuditEvent).where(AuditEvent.patient_id == patient.id))][:1] == [
        "patient.enrol"
    ]

    again = post_form(
        client, "/clinic/patients/new", "/clinic/patients/new", display_name="H", phone="+13125550188", timezone="UTC"
    )
    assert again.status_code == 422
    assert "already" in again.get_data(as_text=True)


def test_a_clinic_without_an_oncall_phone_says_why_it_cannot_enrol(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    clinic = factory.clinic()
    log_in(factory, auth, clinic)
    refused = post_form(
        client, "/clinic/patients/new", "/clinic/patients/new", display_name="A", phone="+13125550177", timezone="UTC"
    )
    assert refused.status_code == 422 and "no on-call phone" in refused.get_data(as_text=True)

    # The clinic's reason and each field's problem, in one answer.
    both = post_form(
        client, "/clinic/patients/new", "/clinic/patients/new", display_name=" ", phone="+447700900123", timezone="UTC"
    )
    page = both.get_data(as_text=True)
    assert both.status_code == 422 and "no on-call phone" in page
    assert 'id="display_name-error">Enter a name of 1 to 120 characters.' in page
    assert 'id="phone-error">That is not a valid mobile number' in page


def test_a_well_formed_number_that_is_no_real_mobile_number_is_called_so(
    client: FlaskClient, on_duty: OnDuty, bearer: Callable[..., Any], fetch: Fetch
) -> None:
    clinic, staff = on_duty
    fields = {"display_name": "Ann", "phone": "+447700900123", "timezone": "UTC"}
    refused = post_form(client, "/clinic/patients/new", "/clinic/patients/new", **fields)
    expected = "That is not a valid mobile number: enter one with its country code, such as +13125550123."
    assert refused.status_code == 422 and f'id="phone-error">{expected}' in refused.get_data(as_text=True)
    api = client.post("/api/v1/clinic/patients", json=fields, headers=bearer(staff))
    assert api.status_code == 422 and [e["message"] for e in api.get_json()["errors"]] == [expected]
    assert fetch(sa.select(Patient).where(Patient.clinic_id == clinic.id)) == []


def test_an_email_that_is_no_address_is_refused_on_the_page_and_the_api(
    client: FlaskClient, on_duty: OnDuty, bearer: Callable[..., Any], fetch: Fetch
) -> None:
    clinic, staff = on_duty
    fields = {"display_name": "Ann", "phone": "+13125550166", "timezone": "UTC", "email": "<script>@x.com"}
    refused = post_form(client, "/clinic/patients/new", "/clinic/patients/new", **fields)
    assert refused.status_code == 422
    assert 'id="email-error">Enter an email address such as name@example.org.' in refused.get_data(as_text=True)
    api = client.post("/api/v1/clinic/patients", json=fields, headers=bearer(staff))
    assert api.status_code == 422 and [e["field"] for e in api.get_json()["errors"]] == ["email"]
    assert fetch(sa.select(Patient).where(Patient.clinic_id == clinic.id)) == []


# A check-in taken in clinic


def test_a_clinic_checkin_is_refused_beside_its_questions_then_kept_at_its_time(
    client: FlaskClient, on_duty: OnDuty, factory: Factory, fetch: Fetch
) -> None:
    clinic, staff = on_duty
    patient = factory.patient(clinic)
    path = f"/clinic/patients/{patient.id}/checkins/new"
    assert 'value="2026-11-21T09:00"' in get(client, path)  # now, on the clinic's clock (15:00 UTC)
    answers = {f"item{n}": "1" for n in range(1, 9) if n != 4}
    refused = post_form(client, path, path, taken_at="2026-11-22T09:00", **{**answers, "item9": "0"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="item4-error">Choose an answer to this question.' in page
    assert 'id="taken_at-error">Must not be in the future' in page
    assert fetch(sa.select(CheckIn).where(CheckIn.patient_id == patient.id)) == []

    saved = post_form(client, path, path, taken_at="2026-11-21T08:15", **answers, item4="2", item9="0")
    assert saved.status_code == 303 and saved.headers["Location"].endswith("#outcome")
    [checkin] = fetch(sa.select(CheckIn).where(CheckIn.patient_id == patient.id))
    assert (checkin.source, checkin.total, checkin.entered_by_id) == ("clinic", 9, staff.id)
    assert checkin.taken_at == TEST_NOW - timedelta(minutes=45)  # 8:15 in Chicago
    assert "PHQ-9 9 saved, taken Nov 21, 2026, 8:15 AM CST." in get(client, saved.headers["Location"])


def test_a_clinic_checkin_taken_at_no_time_is_refused_and_a_blank_one_is_now(
    client: FlaskClient, on_duty: OnDuty, factory: Factory, fetch: Fetch
) -> None:
    clinic = on_duty.clinic
    patient = factory.patient(clinic)
    path = f"/clinic/patients/{patient.id}/checkins/new"
    assert "Blank means now." in get(client, path)
    answers = {f"item{n}": "1" for n in range(1, 9)}
    refused = post_form(client, path, path, taken_at="abc", **answers, item9="0")
    assert refused.status_code == 422
    assert 'id="taken_at-error">Enter a date and time such as' in refused.get_data(as_text=True)
    assert fetch(sa.select(CheckIn).where(CheckIn.patient_id == patient.id)) == []
    saved = post_form(client, path, path, taken_at="", **answers, item9="0")
    assert saved.status_code == 303
    [checkin] = fetch(sa.select(CheckIn).where(CheckIn.patient_id == patient.id))
    assert checkin.taken_at == TEST_NOW


def test_the_same_checkin_form_sent_twice_is_kept_once(
    client: FlaskClient, on_duty: OnDuty, factory: Factory, fetch: Fetch
) -> None:
    clinic = on_duty.clinic
    patient = factory.patient(clinic)
    path = f"/clinic/patients/{patient.id}/checkins/new"
    form = get(client, path)
    key = re.search(r'name="key" type="hidden" value="([^"]+)"', form)
    assert key is not None
    data = {"csrf_token": csrf_token_from(form), "key": key.group(1), "taken_at": "2026-11-21T08:30"}
    data |= {f"item{n}": "0" for n in range(1, 10)}
    first, second = client.post(path, data=data), client.post(path, data=data)
    assert (first.status_code, second.status_code) == (303, 303)
    assert len(fetch(sa.select(CheckIn).where(CheckIn.patient_id == patient.id))) == 1
    assert "This PHQ-9 was saved already." in get(client, second.headers["Location"])


def test_item_9_in_clinic_opens_the_safety_alert_and_lands_on_it(
    client: FlaskClient, on_duty: OnDuty, factory: Factory, fetch: Fetch
) -> None:
    clinic = on_duty.clinic
    patient = factory.patient(clinic)
    path = f"/clinic/patients/{patient.id}/checkins/new"
    answers = {f"item{n}": "1" for n in range(1, 10)}
    saved = post_form(client, path, path, taken_at="2026-11-21T08:30", **answers)
    [alert] = fetch(sa.select(Alert).where(Alert.patient_id == patient.id))
    assert alert.kind == "safety"
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"#alert-{alert.id}")
    assert "Item 9 was answered above 0: a safety alert is open" in get(client, saved.headers["Location"])


def test_a_gad7_can_be_entered_in_clinic(client: FlaskClient, on_duty: OnDuty, factory: Factory, fetch: Fetch) -> None:
    clinic = on_duty.clinic
    patient = factory.patient(clinic)
    path = f"/clinic/patients/{patient.id}/checkins/new?instrument=gad7"
    assert "GAD-7 taken in clinic" in get(client, path)
    saved = post_form(client, path, path, taken_at="2026-11-21T08:30", **{f"item{n}": "2" for n in range(1, 8)})
    assert saved.status_code == 303
    [checkin] = fetch(sa.select(CheckIn).where(CheckIn.patient_id == patient.id))
    assert (checkin.instrument, checkin.total) == ("gad7", 14)


# A booster request raised by a clinician


def test_a_clinician_raises_a_booster_request_with_a_reason(
    client: FlaskClient, on_duty: OnDuty, factory: Factory, fetch: Fetch
) -> None:
    clinic, staff = on_duty
    patient = factory.patient(clinic)
    page = f"/clinic/patients/{patient.id}"
    action = f"/clinic/patients/{patient.id}/booster-requests"
    refused = post_form(client, page, action, "raise", reason="  ")
    assert refused.status_code == 422 and 'id="raise-reason-error">Required' in refused.get_data(as_text=True)
    raised = post_form(client, page, action, "raise", reason="Low mood for a week, reported at the visit.")
    assert raised.status_code == 303 and raised.headers["Location"].endswith("#booster")
    [request] = fetch(sa.select(BoosterRequest).where(BoosterRequest.patient_id == patient.id))
    assert (request.raised_by, request.raised_by_user_id, request.status) == ("clinician", staff.id, "open")
    landed = get(client, raised.headers["Location"])
    assert "Raise a booster request" not in landed  # one open request at a time (CLINICAL.md §5)
    twice = client.post(action, data={"raise-csrf_token": csrf_token_from(landed), "raise-reason": "again"})
    assert twice.status_code == 409 and "already has an open booster request" in twice.get_data(as_text=True)


# Record as given: the whole visit form


def test_record_as_given_opens_the_visit_form_filled_in_and_asks_before_unusual_values(
    client: FlaskClient, on_duty: OnDuty, factory: Factory, fetch: Fetch
) -> None:
    clinic = on_duty.clinic
    patient = factory.patient(clinic, phase="maintenance")
    factory.infusion(patient, "maintenance", given_at=TEST_NOW - timedelta(days=14), weight_kg=Decimal("72.5"))
    booked = factory.infusion(patient, "maintenance", scheduled_for=TEST_NOW - timedelta(minutes=30))
    record_page = get(client, f"/clinic/patients/{patient.id}")
    assert f'href="/clinic/infusions/{booked.id}/given"' in record_page  # a link to the form, not a button

    path = f"/clinic/infusions/{booked.id}/given"
    form = get(client, path)
    assert 'name="dose_mg_per_kg" type="text" value="0.500"' in form
    assert 'name="weight_kg" type="text" value="72.5"' in form  # from the last visit
    assert 'name="duration_min" type="text" value="40"' in form
    assert 'value="2026-11-21T09:00"' in form  # now, clinic time
    for label in ("Blood pressure before", "Blood pressure at about 40 min", "Observed for (min)", "Ride home"):
        assert label in form

    visit = {
        "kind": "maintenance",
        "when": "2026-11-21T08:40",
        "dose_mg_per_kg": "0.8",
        "weight_kg": "72",
        "duration_min": "40",
        "bp_before": "128/82",
        "bp_after": "136/88",
        "observed_min": "90",
        "ride_home_confirmed": "yes",
        "notes": "Mild dissociation, settled by 30 min.",
    }
    asked = post_form(client, path, path, **visit)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 422 and "Not saved yet: please confirm." in page
    assert 'id="dose_mg_per_kg-warning">Check: Outside the usual 0.1–0.75 mg/kg' in page
    assert 'id="observed_min-warning">Check: Under the usual 120 minutes of observation' in page
    assert one(fetch, Infusion, booked.id).status == "scheduled"

    # Another dose than the one confirmed is asked about again.
    changed = post_form(client, path, path, **{**visit, "dose_mg_per_kg": "0.9"}, confirmed=confirmation_of(page))
    assert changed.status_code == 422 and one(fetch, Infusion, booked.id).status == "scheduled"
    saved = post_form(client, path, path, **visit, confirmed=confirmation_of(page))
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"#infusion-{booked.id}")
    row = one(fetch, Infusion, booked.id)
    assert (row.status, row.dose_mg_per_kg, row.total_mg, row.observed_min) == (
        "given",
        Decimal("0.8"),
        Decimal("57.6"),
        90,
    )
    assert (row.bp_before_systolic, row.bp_after_diastolic, row.ride_home_confirmed) == (128, 88, True)
    assert row.given_at == TEST_NOW - timedelta(minutes=20)
    landed = get(client, saved.headers["Location"])
    shown = landed[landed.index(f'data-infusion-more="{booked.id}"') :][:1500]
    assert "Check: Dose outside the usual 0.1–0.75 mg/kg" in shown
    assert "Clinical notes (staff only):</span> Mild dissociation, settled by 30 min." in shown


def test_the_visit_form_refuses_beside_its_fields_and_a_given_infusion_is_not_given_twice(
    client: FlaskClient, on_duty: OnDuty, factory: Factory, fetch: Fetch
) -> None:
    clinic = on_duty.clinic
    patient = factory.patient(clinic)
    booked = factory.infusion(patient, "booster", scheduled_for=TEST_NOW)
    path = f"/clinic/infusions/{booked.id}/given"
    refused = post_form(client, path, path, kind="booster", bp_before="300/80", weight_kg="heavy")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="bp_before-error">Not a plausible blood pressure: systolic 50–260' in page
    assert 'id="weight_kg-error">Must be a number' in page
    given = post_form(client, path, path, kind="booster", dose_mg_per_kg="0.5", observed_min="120")
    assert given.status_code == 303
    assert get(client, path, 409).count("It was given already") == 1


# Correcting a given infusion


def test_a_correction_needs_a_reason_and_keeps_the_old_values_in_the_audit_log(
    client: FlaskClient, on_duty: OnDuty, factory: Factory, fetch: Fetch
) -> None:
    clinic = on_duty.clinic
    patient = factory.patient(clinic)
    given = factory.infusion(
        patient, "booster", given_at=TEST_NOW - timedelta(hours=3), weight_kg=Decimal("70"), observed_min=120
    )
    path = f"/clinic/infusions/{given.id}/correct"
    form = get(client, path)
    assert 'name="weight_kg" type="text" value="70.0"' in form and "Why it is corrected" in form
    fields = {"kind": "booster", "dose_mg_per_kg": "0.5", "duration_min": "", "observed_min": "120"}
    refused = post_form(client, path, path, **fields, weight_kg="75", when="2026-11-21T06:00")
    assert refused.status_code == 422
    assert 'id="reason-error">Say why the record of a given infusion is corrected' in refused.get_data(as_text=True)
    assert one(fetch, Infusion, given.id).weight_kg == Decimal("70")

    fixed = post_form(client, path, path, **fields, weight_kg="75", when="2026-11-21T06:00", reason="Weighed again.")
    assert fixed.status_code == 303 and fixed.headers["Location"].endswith(f"#infusion-{given.id}")
    row = one(fetch, Infusion, given.id)
    assert (row.weight_kg, row.total_mg, row.given_at) == (Decimal("75"), Decimal("37.5"), given.given_at)
    [event] = fetch(
        sa.select(AuditEvent).where(AuditEvent.target_id == str(given.id), AuditEvent.action == "infusion.update")
    )
    assert event.detail["reason"] == "Weighed again."
    assert event.detail["before"] == {"weight_kg": "70.0", "total_mg": None}
    landed = get(client, fixed.headers["Location"])
    assert "Infusion record corrected." in landed
    assert re.search(r"Corrected Nov 21, 2026, 9:00 AM CST by [^<:]+: Weighed again\.", landed)


# Moving or cancelling a booked infusion


def test_a_booked_infusion_is_moved_then_cancelled(
    client: FlaskClient, on_duty: OnDuty, factory: Factory, fetch: Fetch, bearer: Callable[..., Any]
) -> None:
    clinic, staff = on_duty
    patient = factory.patient(clinic, phase="maintenance")
    booked = factory.infusion(patient, "maintenance", scheduled_for=TEST_NOW + timedelta(days=2))
    path = f"/clinic/infusions/{booked.id}/change"
    assert 'value="2026-11-23T09:00"' in get(client, path)
    blank = post_form(client, path, f"/clinic/infusions/{booked.id}/reschedule", "move", when="")
    assert blank.status_code == 422 and 'id="move-when-error">Choose the new date and time' in blank.get_data(True)
    assert "Please correct the marked field." in blank.get_data(True)
    past = post_form(client, path, f"/clinic/infusions/{booked.id}/reschedule", "move", when="2026-10-21T09:00")
    assert past.status_code == 422 and 'id="move-when-error">A booking must be in the future' in past.get_data(True)
    assert one(fetch, Infusion, booked.id).scheduled_for == TEST_NOW + timedelta(days=2)
    api = client.patch(
        f"/api/v1/clinic/infusions/{booked.id}", json={"scheduled_for": "2026-10-21T15:00:00Z"}, headers=bearer(staff)
    )
    assert api.status_code == 422 and [e["field"] for e in api.get_json()["errors"]] == ["scheduled_for"]
    moved = post_form(client, path, f"/clinic/infusions/{booked.id}/reschedule", "move", when="2026-11-25T14:30")
    assert moved.status_code == 303 and moved.headers["Location"].endswith(f"#infusion-{booked.id}")
    assert one(fetch, Infusion, booked.id).scheduled_for == TEST_NOW + timedelta(days=4, hours=5, minutes=30)
    assert "Infusion moved to Nov 25, 2026, 2:30 PM CST." in get(client, moved.headers["Location"])

    cancelled = post_form(client, path, f"/clinic/infusions/{booked.id}/cancel", "cancel", reason="Patient unwell.")
    assert cancelled.status_code == 303 and one(fetch, Infusion, booked.id).status == "cancelled"
    [event] = [
        e
        for e in fetch(sa.select(AuditEvent).where(AuditEvent.target_id == str(booked.id)))
        if e.action == "infusion.update" and e.detail["status"] == "cancelled"
    ]
    assert event.detail["reason"] == "Patient unwell."
    assert get(client, path, 409).count("It is no longer booked") == 1


def test_a_visit_booked_for_a_booster_request_is_cancelled_with_the_request(
    client: FlaskClient, on_duty: OnDuty, factory: Factory, fetch: Fetch
) -> None:
    clinic = on_duty.clinic
    patient = factory.patient(clinic)
    request = BoosterRequest(
        patient_id=patient.id, clinic_id=clinic.id, status="scheduled", raised_by="scan", raised_at=TEST_NOW
    )
    with factory.session() as s:
        s.add(request)
    booked = factory.infusion(patient, "booster", scheduled_for=TEST_NOW + timedelta(days=1))
    with factory.session() as s:
        s.get(Infusion, booked.id).booster_request_id = request.id  # type: ignore[union-attr]
    path = f"/clinic/infusions/{booked.id}/change"
    refused = post_form(client, path, f"/clinic/infusions/{booked.id}/cancel", "cancel", reason="x")
    assert refused.status_code == 409 and "cancel the request" in refused.get_data(as_text=True)
    assert one(fetch, Infusion, booked.id).status == "scheduled"


def test_another_clinics_infusion_is_not_found(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    log_in(factory, auth, clinic_with_oncall(factory))
    theirs = factory.infusion(factory.patient(factory.clinic()), "booster", scheduled_for=TEST_NOW)
    for path in ("given", "correct", "change"):
        get(client, f"/clinic/infusions/{theirs.id}/{path}", 404)
    get(client, "/clinic/infusions/not-an-id/given", 404)


def test_clinical_notes_are_shown_to_staff_only(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = clinic_with_oncall(factory)
    patient = factory.patient(clinic)
    note = "Discussed lamotrigine timing with the prescriber."
    factory.infusion(patient, "booster", given_at=TEST_NOW - timedelta(days=1), notes=note)
    factory.infusion(patient, "booster", scheduled_for=TEST_NOW + timedelta(days=6), notes=note)
    log_in(factory, auth, clinic)
    assert get(client, f"/clinic/patients/{patient.id}").count(note) == 2
    auth.logout()
    assert auth.login(patient.phone).status_code == 302
    for path in ("/me", "/me/history"):
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200 and note not in response.get_data(as_text=True)
    assert note not in client.get(f"/clinic/patients/{patient.id}").get_data(as_text=True)
