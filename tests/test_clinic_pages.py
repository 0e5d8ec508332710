"""The clinic's pages over HTTP: the queue, the patient list, a patient's page and every action on it."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import TEST_NOW, AuthActions, csrf_token_from
from factories import Factory
from flask.testing import FlaskClient

from tracker.models import (
    Alert,
    AuditEvent,
    BoosterEvidence,
    BoosterRequest,
    CheckIn,
    Clinic,
    Infusion,
    OutboundMessage,
    Patient,
    PhaseChange,
    SchedulerHeartbeat,
    User,
)
from tracker.services.alerts import writes as alerts
from tracker.services.boosters import requests as boosters
from tracker.web import clinic_pages

Fetch = Callable[..., list[Any]]
Counter = Callable[[], Any]


def add(factory: Factory, *rows: Any) -> None:
    with factory.session() as s:
        s.add_all(rows)


def staff(factory: Factory, auth: AuthActions, clinic: Clinic, email: str = "doc@example.org") -> User:
    user = factory.user(clinic, email=email)
    assert auth.login(email).status_code == 302
    return user


def safety_alert(factory: Factory, patient: Patient, minutes_ago: int = 10, checkin: CheckIn | None = None) -> Alert:
    raised = TEST_NOW - timedelta(minutes=minutes_ago)
    row = Alert(
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        kind="safety",
        cause="safety",
        reason="PHQ-9 item 9 answered above 0",
        checkin_id=checkin.id if checkin else None,
        raised_at=raised,
        deadline=raised + timedelta(minutes=30),
    )
    add(factory, row)
    return row


def open_request(
    factory: Factory, patient: Patient, evidence: Sequence[CheckIn] = (), urgency: str = "routine"
) -> BoosterRequest:
    row = BoosterRequest(
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        urgency=urgency,
        raised_by="scan",
        raised_at=TEST_NOW - timedelta(hours=3),
    )
    add(factory, row)
    add(factory, *[BoosterEvidence(request_id=row.id, checkin_id=c.id, added_at=row.raised_at) for c in evidence])
    return row


def relapsing(factory: Factory, clinic: Clinic, name: str = "Dana R.") -> tuple[Patient, BoosterRequest]:
    """A patient past induction whose check-ins rose 14 → 17 from a low of 6, with the request they raised."""
    patient = factory.patient(clinic, display_name=name, phase="as_needed")
    factory.checkin(patient, total=20, days_ago=60)
    factory.infusion(patient, "induction", given_at=TEST_NOW - timedelta(days=50))
    factory.checkin(patient, total=6, days_ago=20)
    evidence = [factory.checkin(patient, total=14, days_ago=9), factory.checkin(patient, total=17, days_ago=1)]
    return patient, open_request(factory, patient, evidence)


def page(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def submit(client: FlaskClient, patient: Patient, action: str, prefix: str | None, **fields: str) -> Any:
    """Send one form of the patient's page as a browser would: its CSRF token and (for decisions) its version."""
    html = page(client, f"/clinic/patients/{patient.id}")
    name = f"{prefix}-" if prefix else ""
    data = {f"{name}csrf_token": csrf_token_from(html), **{f"{name}{k}": v for k, v in fields.items()}}
    version = re.search(rf'name="{name}version" type="hidden" value="(\d+)"', html)
    if version and f"{name}version" not in data:
        data[f"{name}version"] = version.group(1)
    return client.post(action, data=data)


def one(fetch: Fetch, model: Any, row_id: Any) -> Any:
    [found] = fetch(sa.select(model).where(model.id == row_id))
    return found


# Who may see what


@pytest.mark.parametrize("path", ["/clinic/", "/clinic/patients", "/clinic/patients/{id}"])
def test_pages_are_for_staff(client: FlaskClient, auth: AuthActions, factory: Factory, path: str) -> None:
    patient = factory.patient(phone="+13125550778")
    assert client.get(path.format(id=patient.id)).headers["Location"].startswith("/login")
    auth.login("+13125550778")
    assert client.get(path.format(id=patient.id)).status_code == 403


def test_another_clinics_patient_request_and_alert_are_not_found(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    theirs, request = relapsing(factory, factory.clinic())
    alert = safety_alert(factory, theirs)
    staff(factory, auth, factory.clinic())
    token = csrf_token_from(page(client, "/clinic/patients"))
    assert client.get(f"/clinic/patients/{theirs.id}").status_code == 404
    for action in [
        f"/clinic/booster-requests/{request.id}/approve",
        f"/clinic/alerts/{alert.id}/acknowledge",
        f"/clinic/patients/{theirs.id}/infusions",
        f"/clinic/patients/{theirs.id}/phase",
    ]:
        assert client.post(action, data={"csrf_token": token}).status_code == 404


def test_a_form_without_its_token_is_refused(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic()
    _, request = relapsing(factory, clinic)
    staff(factory, auth, clinic)
    assert client.post(f"/clinic/booster-requests/{request.id}/approve", data={}).status_code == 400
    assert one(fetch, BoosterRequest, request.id).status == "open"


# The queue


def test_the_queue_puts_safety_first_says_why_and_opens_the_patient(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic()
    patient, request = relapsing(factory, clinic)
    unsafe = factory.patient(clinic, display_name="Sam S.")
    alert = safety_alert(factory, unsafe, 12, factory.checkin(unsafe, answers=[2, 2, 1, 1, 1, 1, 1, 1, 2]))
    user = staff(factory, auth, clinic)
    html = page(client, "/clinic/")
    assert "<h1>Needs attention</h1>" in html
    assert html.index("Sam S.") < html.index("Dana R.")
    assert "PHQ-9 14 → 17 over 8 days, low was 6" in html
    assert "answered “More than half the days”; PHQ-9 12" in html and "due in 18 min" in html
    assert f'href="/clinic/patients/{unsafe.id}#alert-{alert.id}"' in html
    assert f'href="/clinic/patients/{patient.id}#booster"' in html
    events = fetch(sa.select(AuditEvent).where(AuditEvent.action == "attention.list"))
    assert [(e.actor_id, e.detail) for e in events] == [(user.id, {"count": 2})]
    assert request.status == "open"


def test_an_empty_queue_says_so(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    clinic = factory.clinic()
    factory.patient(clinic)
    staff(factory, auth, clinic)
    assert "Nobody needs you right now" in page(client, "/clinic/")


def test_the_queue_query_count_does_not_grow(
    client: FlaskClient, auth: AuthActions, factory: Factory, count_queries: Counter
) -> None:
    clinic = factory.clinic()
    staff(factory, auth, clinic)
    relapsing(factory, clinic, "First")
    safety_alert(factory, factory.patient(clinic))
    with count_queries() as few:
        page(client, "/clinic/")
    for n in range(4):
        relapsing(factory, clinic, f"More {n}")
        safety_alert(factory, factory.patient(clinic))
    with count_queries() as many:
        assert page(client, "/clinic/").count('class="queue-item') == 10
    assert few.count == many.count


@pytest.mark.parametrize(
    ("beat_ago", "banner"), [(None, True), (timedelta(minutes=1), False), (timedelta(minutes=20), True)]
)
def test_staff_see_a_banner_when_the_scheduler_is_stale(
    client: FlaskClient, auth: AuthActions, factory: Factory, beat_ago: timedelta | None, banner: bool
) -> None:
    clinic = factory.clinic()
    if beat_ago is not None:
        add(factory, SchedulerHeartbeat(name="host:1", beat_at=TEST_NOW - beat_ago, started_at=TEST_NOW))
    staff(factory, auth, clinic)
    assert ("The scheduler is not running" in page(client, "/clinic/patients")) is banner


def test_patients_never_see_the_banner(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    factory.patient(phone="+13125550778")
    auth.login("+13125550778")
    assert "scheduler" not in page(client, "/me")


# The patient list


def test_the_list_searches_filters_sorts_and_pages(
    client: FlaskClient, auth: AuthActions, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    clinic = factory.clinic()
    ann = factory.patient(clinic, display_name="Ann", phase="induction", phone="+13125557001")
    bob = factory.patient(clinic, display_name="Bob", phase="as_needed")
    cy = factory.patient(clinic, display_name="Cy", phase="as_needed")
    factory.patient(factory.clinic(), display_name="Stranger")
    factory.checkin(ann, total=3, days_ago=1)
    factory.checkin(bob, total=15, days_ago=9)
    factory.checkin(cy, total=8, days_ago=4)
    safety_alert(factory, cy)
    staff(factory, auth, clinic)

    def names(query: str) -> list[str]:
        return re.findall(
            r'<th scope="row"><a href="/clinic/patients/[^"]+">([^<]+)</a>', page(client, f"/clinic/patients{query}")
        )

    assert names("") == ["Ann", "Bob", "Cy"]
    assert names("?q=bo") == ["Bob"] and names("?q=555-7001") == ["Ann"]
    assert names("?phase=as_needed") == ["Bob", "Cy"]
    assert names("?attention=yes") == ["Cy"] and names("?attention=no") == ["Ann", "Bob"]
    assert names("?sort=latest_total&order=desc") == ["Bob", "Cy", "Ann"]
    assert names("?sort=days_since_last&order=desc") == ["Bob", "Cy", "Ann"]
    assert names("?sort=evil&phase=nope&page=-3") == ["Ann", "Bob", "Cy"]  # bad values are ignored, not a 500
    monkeypatch.setattr(clinic_pages, "PER_PAGE", 2)
    first = page(client, "/clinic/patients?sort=name")
    assert (
        names("?sort=name") == ["Ann", "Bob"]
        and 'rel="next"' in first
        and "Next" not in page(client, "/clinic/patients?page=2")
    )
    assert names("?sort=name&page=2") == ["Cy"]
    assert 'href="/clinic/patients?sort=name&amp;page=1"' in page(client, "/clinic/patients?sort=name&page=2")


def test_the_list_query_count_does_not_grow(
    client: FlaskClient, auth: AuthActions, factory: Factory, count_queries: Counter
) -> None:
    clinic = factory.clinic()
    staff(factory, auth, clinic)
    factory.checkin(factory.patient(clinic), total=5)
    with count_queries() as few:
        page(client, "/clinic/patients")
    for n in range(6):
        patient = factory.patient(clinic)
        factory.checkin(patient, total=n + 3)
        safety_alert(factory, patient)
    with count_queries() as many:
        page(client, "/clinic/patients")
    assert few.count == many.count


# A patient's page


def test_the_patient_page_shows_the_record_and_is_audited(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic()
    patient, _ = relapsing(factory, clinic)
    factory.infusion(patient, "booster", scheduled_for=TEST_NOW + timedelta(days=3))
    cancelled = Infusion(patient_id=patient.id, kind="booster", status="cancelled", scheduled_for=TEST_NOW)
    add(factory, cancelled)
    texts = [
        OutboundMessage(
            patient_id=patient.id,
            to_phone=patient.phone,
            body=f"text {status}",
            purpose="reminder_weekly",
            status=status,
            created_at=TEST_NOW - timedelta(days=n),
            error_code=30003 if status == "failed" else None,
        )
        for n, status in enumerate(["failed", "delivered", "sent"])
    ]
    add(factory, *texts)
    user = staff(factory, auth, clinic)
    html = page(client, f"/clinic/patients/{patient.id}")

    assert 'data-points="4"' in html and html.count("data-checkin=") == 4  # one per check-in
    drawn = re.findall(r'<polygon class="infusion [^"]*" points="[^"]*" data-infusion="([^"]+)"', html)
    assert len(drawn) == 2 and 'data-infusions="2"' in html  # given and booked; the cancelled one is not drawn
    assert str(cancelled.id) not in drawn
    assert 'data-kind="induction" data-status="given"' in html and 'data-kind="booster" data-status="scheduled"' in html
    assert 'class="rule baseline"' in html and 'data-value="20"' in html  # the last PHQ-9 before induction
    assert 'class="rule reference-low"' in html and ">low 6<" in html
    assert re.search(r'<table class="list compact" data-rows="4">', html)  # the same points as a table
    assert 'data-columns="4"' in html and "Self-harm" in html  # the heat map
    assert "PHQ-9 14 → 17 over 8 days, low was 6" in html
    assert html.index("text failed") < html.index("text delivered") < html.index("text sent")  # newest first
    assert "<script" not in html and "style=" not in html
    events = fetch(sa.select(AuditEvent).where(AuditEvent.action == "patient.read"))
    assert [(e.actor_id, e.patient_id) for e in events] == [(user.id, patient.id)]


def test_the_patient_page_query_count_does_not_grow(
    client: FlaskClient, auth: AuthActions, factory: Factory, count_queries: Counter
) -> None:
    clinic = factory.clinic()
    patient, _ = relapsing(factory, clinic)
    staff(factory, auth, clinic)
    with count_queries() as few:
        page(client, f"/clinic/patients/{patient.id}")
    for n in range(12):
        factory.checkin(patient, total=n % 9, days_ago=30 + n)
        factory.infusion(patient, "maintenance", given_at=TEST_NOW - timedelta(days=100 + n))
    with count_queries() as many:
        page(client, f"/clinic/patients/{patient.id}")
    assert few.count == many.count


# Acting on alerts and requests


def test_a_safety_alert_is_acknowledged_then_resolved_with_its_risk_level_beside_the_field(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    """CLINICAL.md §3: "I am on it" with an optional note, then the follow-up with the documented risk level."""
    clinic = factory.clinic()
    patient = factory.patient(clinic)
    alert = safety_alert(factory, patient)
    user = staff(factory, auth, clinic)
    prefix, action = f"ack-{str(alert.id)[:8]}", f"/clinic/alerts/{alert.id}/acknowledge"

    taken = submit(client, patient, action, prefix, note="Called, no answer")
    # Still waiting to be resolved: the page lands on the alert's card, the confirmation shown there.
    assert taken.status_code == 303 and taken.headers["Location"] == f"/clinic/patients/{patient.id}#alert-{alert.id}"
    stored = one(fetch, Alert, alert.id)
    assert (stored.status, stored.risk_level, stored.acknowledged_by_id) == ("acknowledged", None, user.id)
    html = page(client, taken.headers["Location"])
    assert "Alert acknowledged" in html and "Acknowledged by" in html and "Called, no answer" in html

    rprefix, resolve = f"resolve-{str(alert.id)[:8]}", f"/clinic/alerts/{alert.id}/resolve"
    refused = submit(client, patient, resolve, rprefix, note="Called back")
    assert refused.status_code == 422
    assert re.search(rf'id="{rprefix}-risk_level-error">Required for a safety alert', refused.get_data(as_text=True))
    assert one(fetch, Alert, alert.id).status == "acknowledged"

    html = page(client, f"/clinic/patients/{patient.id}")
    fields = {"csrf_token": csrf_token_from(html), "risk_level": "moderate", "action": "C-SSRS", "note": "Safety plan."}
    fields["screener_not_done"] = "Assessed in person at the clinic"  # the screener's own flow: test_cssrs.py
    done = client.post(resolve, data={f"{rprefix}-{k}": v for k, v in fields.items()})
    assert done.status_code == 303
    stored = one(fetch, Alert, alert.id)
    assert (stored.status, stored.risk_level, stored.resolved_by_id) == ("resolved", "moderate", user.id)
    assert (stored.action, stored.resolution_note) == ("C-SSRS", "Safety plan.")
    assert "Alert resolved." in page(client, done.headers["Location"])


def test_the_queue_and_the_page_show_the_reply_the_steps_and_who_took_charge(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    """CLINICAL.md §3: the words texted at item 9, the escalation's steps and who took charge, to staff."""
    clinic = factory.clinic()
    patient = factory.patient(clinic)
    alert = safety_alert(factory, patient, minutes_ago=70)
    with factory.session() as s:
        row = s.get(Alert, alert.id)
        assert row is not None
        row.reply_text = "I want to die"
        row.escalation_step, row.escalated_at, row.escalated_all_at = 2, TEST_NOW - timedelta(minutes=40), TEST_NOW
    staff(factory, auth, clinic)
    queue_html = page(client, "/clinic/")
    assert "I want to die" in queue_html
    assert "escalated to the backup contact" in queue_html and "every clinician and admin" in queue_html
    html = page(client, f"/clinic/patients/{patient.id}")
    assert "“I want to die”" in html
    assert "Escalated to the backup contact" in html and "Escalated to every clinician and admin" in html
    taken = submit(client, patient, f"/clinic/alerts/{alert.id}/acknowledge", f"ack-{str(alert.id)[:8]}")
    assert taken.status_code == 303
    assert "acknowledged by doc@example.org" in page(client, "/clinic/")
    assert "Acknowledged by doc@example.org" in page(client, f"/clinic/patients/{patient.id}")


def test_acknowledging_what_someone_else_did_is_a_conflict(
    app: Any, client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    clinic = factory.clinic()
    patient = factory.patient(clinic)
    alert = safety_alert(factory, patient)
    colleague = factory.user(clinic, email="other@example.org")
    staff(factory, auth, clinic)
    html = page(client, f"/clinic/patients/{patient.id}")
    with factory.session() as s:
        alerts.acknowledge(s.get(Alert, alert.id), s.get(User, colleague.id), risk_level="low")  # type: ignore[arg-type]
    prefix = f"ack-{str(alert.id)[:8]}"
    data = {f"{prefix}-csrf_token": csrf_token_from(html), f"{prefix}-risk_level": "high"}
    response = client.post(f"/clinic/alerts/{alert.id}/acknowledge", data=data)
    assert response.status_code == 409
    assert "already been acknowledged" in response.get_data(as_text=True)


def test_approve_then_book_in_the_clinics_time_zone(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic(timezone="America/Chicago")
    patient, request = relapsing(factory, clinic)
    staff(factory, auth, clinic)
    approved = submit(client, patient, f"/clinic/booster-requests/{request.id}/approve", "approve", note="Agreed")
    assert approved.status_code == 303 and approved.headers["Location"].endswith("#booster")
    assert one(fetch, BoosterRequest, request.id).status == "approved"

    booked = submit(
        client, patient, f"/clinic/booster-requests/{request.id}/schedule", "schedule", scheduled_for="2026-11-24T09:30"
    )
    assert booked.status_code == 303
    assert one(fetch, BoosterRequest, request.id).status == "scheduled"
    [infusion] = fetch(sa.select(Infusion).where(Infusion.booster_request_id == request.id))
    assert (infusion.status, infusion.scheduled_for) == ("scheduled", datetime(2026, 11, 24, 15, 30, tzinfo=UTC))
    [text] = fetch(sa.select(OutboundMessage).where(OutboundMessage.purpose == "booster_scheduled"))
    assert text.to_phone == patient.phone and "Tuesday, November 24 at 9:30 AM CST" in text.body
    assert "Booster booked. The patient will get a text" in page(client, booked.headers["Location"])


def test_a_decision_on_a_stale_page_is_a_conflict(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic()
    patient, request = relapsing(factory, clinic)
    colleague = factory.user(clinic, email="other@example.org")
    staff(factory, auth, clinic)
    html = page(client, f"/clinic/patients/{patient.id}")
    with factory.session() as s:
        boosters.approve(s.get(BoosterRequest, request.id), s.get(User, colleague.id))  # type: ignore[arg-type]
    data = {"decline-csrf_token": csrf_token_from(html), "decline-version": "1", "decline-reason": "Not yet"}
    response = client.post(f"/clinic/booster-requests/{request.id}/decline", data=data)
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "Someone else decided this request first" in text and 'role="alert"' in text
    assert one(fetch, BoosterRequest, request.id).status == "approved"


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("2026-11-20T09:00", "A booking must be in the future"),
        ("2027-03-14T02:30", "does not exist in America/Chicago"),
        ("", "Choose the date and time"),
        ("tomorrow", "Not a valid datetime value"),
    ],
)
def test_booking_refuses_bad_times_beside_the_field(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch, when: str, message: str
) -> None:
    clinic = factory.clinic(timezone="America/Chicago")
    patient, request = relapsing(factory, clinic)
    staff(factory, auth, clinic)
    response = submit(
        client, patient, f"/clinic/booster-requests/{request.id}/schedule", "schedule", scheduled_for=when
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(rf'id="schedule-scheduled_for-error">[^<]*{message}', html)
    assert one(fetch, BoosterRequest, request.id).status == "open"
    assert fetch(sa.select(Infusion).where(Infusion.booster_request_id == request.id)) == []


def test_declining_needs_a_reason(client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch) -> None:
    clinic = factory.clinic()
    patient, request = relapsing(factory, clinic)
    staff(factory, auth, clinic)
    action = f"/clinic/booster-requests/{request.id}/decline"
    refused = submit(client, patient, action, "decline", reason="  ")
    assert refused.status_code == 422 and 'id="decline-reason-error">Required' in refused.get_data(as_text=True)
    assert submit(client, patient, action, "decline", reason="Stable on review; recheck in a week.").status_code == 303
    stored = one(fetch, BoosterRequest, request.id)
    assert (stored.status, stored.reason) == ("declined", "Stable on review; recheck in a week.")


def test_cancelling_a_booked_request_cancels_its_visit(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic()
    patient, request = relapsing(factory, clinic)
    staff(factory, auth, clinic)
    submit(
        client, patient, f"/clinic/booster-requests/{request.id}/schedule", "schedule", scheduled_for="2026-11-25T10:00"
    )
    response = submit(client, patient, f"/clinic/booster-requests/{request.id}/cancel", "cancel", reason="Moved away")
    assert response.status_code == 303
    assert one(fetch, BoosterRequest, request.id).status == "cancelled"
    [infusion] = fetch(sa.select(Infusion).where(Infusion.booster_request_id == request.id))
    assert infusion.status == "cancelled"


# Infusions, phase and reminders


def test_an_infusion_is_refused_beside_its_fields_or_saved_with_warnings(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic()
    patient = factory.patient(clinic, phase="maintenance")
    staff(factory, auth, clinic)
    action = f"/clinic/patients/{patient.id}/infusions"
    fields = {
        "kind": "maintenance",
        "status": "given",
        "dose_mg_per_kg": "0.5",
        "duration_min": "40",
        "weight_kg": "70",
    }
    refused = submit(client, patient, action, "infusion", **fields, bp_before="300/80", observed_min="lots")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="infusion-bp_before-error">Not a plausible blood pressure: systolic 50–260' in html
    assert 'id="infusion-observed_min-error">Must be a whole number' in html
    assert fetch(sa.select(Infusion).where(Infusion.patient_id == patient.id)) == []

    unusual = {
        **fields,
        "dose_mg_per_kg": "0.9",
        "observed_min": "60",
        "bp_before": "128/82",
        "bp_after": "134/85",
        "ride_home_confirmed": "yes",
    }
    # CLINICAL.md §1: values outside the usual range are asked about first, and saved once confirmed.
    asked = submit(client, patient, action, "infusion", **unusual)
    asked_html = asked.get_data(as_text=True)
    assert asked.status_code == 422
    assert 'id="infusion-dose_mg_per_kg-warning">Check: Outside the usual 0.1–0.75 mg/kg' in asked_html
    assert fetch(sa.select(Infusion).where(Infusion.patient_id == patient.id)) == []
    key = re.search(r'name="infusion-confirmed" type="hidden" value="([^"]+)"', asked_html)
    assert key is not None
    saved = submit(client, patient, action, "infusion", **unusual, confirmed=key.group(1).replace("&#34;", '"'))
    [infusion] = fetch(sa.select(Infusion).where(Infusion.patient_id == patient.id))
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"#infusion-{infusion.id}")
    assert (infusion.status, infusion.total_mg, infusion.ride_home_confirmed) == ("given", 63, True)
    assert infusion.given_at == TEST_NOW  # blank means now
    after = page(client, saved.headers["Location"])
    assert "Check: Dose outside the usual 0.1–0.75 mg/kg" in after
    assert "Check: Observation under the usual 120 minutes of observation" in after


def test_a_booked_infusion_needs_a_time_and_can_be_recorded_as_given(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic()
    patient, request = relapsing(factory, clinic)
    staff(factory, auth, clinic)
    action = f"/clinic/patients/{patient.id}/infusions"
    refused = submit(client, patient, action, "infusion", kind="booster", status="scheduled")
    assert 'id="infusion-when-error">Required for a scheduled infusion' in refused.get_data(as_text=True)
    booked = factory.infusion(patient, "booster", scheduled_for=TEST_NOW + timedelta(hours=2))
    given = submit(client, patient, f"/clinic/infusions/{booked.id}/given", None)
    assert given.status_code == 303
    assert one(fetch, Infusion, booked.id).status == "given"
    assert one(fetch, BoosterRequest, request.id).status == "completed"  # CLINICAL.md §5
    assert "It completes the open booster request." in page(client, given.headers["Location"])


def test_phase_and_reminders(client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch) -> None:
    clinic = factory.clinic()
    patient = factory.patient(clinic, phase="as_needed")
    user = staff(factory, auth, clinic)
    moved = submit(
        client,
        patient,
        f"/clinic/patients/{patient.id}/phase",
        "phase",
        phase="maintenance",
        reason="Monthly boosters agreed",
    )
    assert moved.status_code == 303
    changes = fetch(
        sa.select(PhaseChange).where(PhaseChange.patient_id == patient.id, PhaseChange.to_phase == "maintenance")
    )
    assert [(c.changed_by_id, c.reason) for c in changes] == [(user.id, "Monthly boosters agreed")]

    action = f"/clinic/patients/{patient.id}/reminders"
    refused = submit(client, patient, action, "reminders", weekday="3", local_time="18:30", timezone="Mars/Olympus")
    assert refused.status_code == 422 and 'id="reminders-timezone-error">Use a time zone name' in refused.get_data(
        as_text=True
    )
    saved = submit(client, patient, action, "reminders", weekday="3", local_time="18:30", timezone="America/Denver")
    assert saved.status_code == 303
    stored = one(fetch, Patient, patient.id)
    assert (stored.reminders_enabled, stored.reminder_weekday, stored.timezone) == (False, 3, "America/Denver")
    assert stored.reminder_local_time.strftime("%H:%M") == "18:30"


def test_an_attention_alert_needs_no_risk_level(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic()
    patient = factory.patient(clinic, phase="screening")  # no check-ins yet: an empty chart, still a page
    alert = Alert(
        patient_id=patient.id,
        clinic_id=clinic.id,
        kind="attention",
        cause="missed_checkin",
        reason="No check-in for 22 days.",
    )
    add(factory, alert)
    staff(factory, auth, clinic)
    html = page(client, f"/clinic/patients/{patient.id}")
    assert 'data-points="0"' in html and "No check-ins yet." in html and "risk_level" not in html
    response = submit(client, patient, f"/clinic/alerts/{alert.id}/acknowledge", f"ack-{str(alert.id)[:8]}", note="")
    assert response.status_code == 303
    stored = one(fetch, Alert, alert.id)
    assert (stored.status, stored.risk_level, stored.note) == ("acknowledged", None, None)


def test_the_banner_never_breaks_a_page(
    client: FlaskClient, auth: AuthActions, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> bool:
        raise sa.exc.OperationalError("SELECT", {}, Exception("the database went away"))

    staff(factory, auth, factory.clinic())
    monkeypatch.setattr("tracker.services.heartbeat.is_stale", broken)
    assert "The scheduler is not running" not in page(client, "/clinic/patients")


def test_patient_page_links_its_exports_and_the_nav_reaches_every_staff_page(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    clinic = factory.clinic()
    factory.user(clinic, role="admin", email="boss@example.org")
    patient = factory.patient(clinic)
    auth.login("boss@example.org")
    page = client.get(f"/clinic/patients/{patient.id}").get_data(as_text=True)
    for path in (f"/exports/patients/{patient.id}/checkins.csv", f"/exports/patients/{patient.id}/fhir.json"):
        assert f'href="{path}"' in page
        response = client.get(path)
        assert response.status_code == 200 and response.get_data()  # read it all: the CSV is streamed
        response.close()
    for path in (
        "/clinic/",
        "/clinic/patients",
        "/exports/outcomes",
        "/admin/staff",
        "/admin/settings",
        "/admin/audit",
    ):
        assert f'href="{path}"' in page
        assert client.get(path).status_code == 200, path


def decision_forms(html: str, request: BoosterRequest) -> list[str]:
    return re.findall(rf'action="/clinic/booster-requests/{request.id}/(\w+)#booster"', html)


def test_the_patient_page_offers_the_decisions_the_service_allows(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    clinic = factory.clinic()
    patient, request = relapsing(factory, clinic)
    staff(factory, auth, clinic)
    path = f"/clinic/patients/{patient.id}"
    html = page(client, path)
    # An open request may be withdrawn before anyone approves it, as the service allows.
    assert decision_forms(html, request) == ["approve", "schedule", "decline", "cancel"]
    assert "Approve and book" in html
    assert submit(client, patient, f"/clinic/booster-requests/{request.id}/approve", "approve").status_code == 303
    html = page(client, path)
    assert decision_forms(html, request) == ["schedule", "decline", "cancel"]
    assert "Book the booster" in html and "Approve and book" not in html
    action = f"/clinic/booster-requests/{request.id}/schedule"
    assert submit(client, patient, action, "schedule", scheduled_for="2026-11-25T10:00").status_code == 303
    assert decision_forms(page(client, path), request) == ["cancel"]
    action = f"/clinic/booster-requests/{request.id}/cancel"
    assert submit(client, patient, action, "cancel", reason="Moved away").status_code == 303
    assert decision_forms(page(client, path), request) == []


def test_an_open_request_can_be_cancelled_from_the_page(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic()
    patient, request = relapsing(factory, clinic)
    staff(factory, auth, clinic)
    action = f"/clinic/booster-requests/{request.id}/cancel"
    assert submit(client, patient, action, "cancel", reason="Raised in error").status_code == 303
    stored = one(fetch, BoosterRequest, request.id)
    assert (stored.status, stored.reason) == ("cancelled", "Raised in error")
