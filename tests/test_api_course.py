"""The course and booster workflow through the API (API.md, Clinician and Patient)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from factories import Factory
from flask import Flask
from flask.testing import FlaskClient

from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.models import Alert, AuditEvent, Clinic, Infusion, OutboundMessage, Patient, PhaseChange
from tracker.services.boosters import requests as boosters

PROBLEM = "application/problem+json"
CLINIC = {"name": "Lakeside", "oncall_phone": "+13125550101"}


@pytest.fixture
def patient(factory: Factory, clinic: Clinic) -> Patient:
    return factory.patient(clinic, phase="induction", display_name="Kim")


@pytest.fixture
def staff(factory: Factory, clinic: Clinic, bearer: Callable[..., Any]) -> dict[str, str]:
    return bearer(factory.user(clinic))


@pytest.fixture
def stranger(factory: Factory, bearer: Callable[..., Any]) -> dict[str, str]:
    return bearer(factory.user(factory.clinic("Elsewhere")))


def _given(client: FlaskClient, headers: dict[str, str], patient: Patient, at: Any, **extra: Any) -> Any:
    body = {"kind": "induction", "status": "given", "given_at": at.isoformat(), "weight_kg": 80, **extra}
    return client.post(f"/api/v1/clinic/patients/{patient.id}/infusions", json=body, headers=headers)


def test_detail_has_outcomes_and_is_audited(
    client: FlaskClient,
    staff: dict[str, str],
    factory: Factory,
    patient: Patient,
    clock: FrozenClock,
    fetch: Callable[..., list[Any]],
) -> None:
    now = clock.current
    factory.checkin(patient, total=20, taken_at=now - timedelta(days=30))
    factory.infusion(patient, "induction", given_at=now - timedelta(days=29))
    factory.checkin(patient, total=9, taken_at=now - timedelta(days=2))
    body = client.get(f"/api/v1/clinic/patients/{patient.id}", headers=staff).get_json()
    # CLINICAL.md §4: 9 <= 50% of 20 is response; 9 is not remission (< 5)
    assert body["outcome"] == {
        "baseline": 20,
        "current": 9,
        "change": -11,
        "response": True,
        "remission": False,
        "reference_low": None,
    }
    assert body["open_booster_request"] is None and body["open_alerts"] == 0
    [event] = fetch(sa.select(AuditEvent).where(AuditEvent.action == "patient.read"))
    assert event.patient_id == patient.id


def test_infusions_warn_refuse_and_end_induction_at_the_sixth(
    client: FlaskClient, staff: dict[str, str], patient: Patient, clock: FrozenClock, fetch: Callable[..., list[Any]]
) -> None:
    refused = _given(client, staff, patient, clock.current, dose_mg_per_kg=5, bp_before="300/90")
    assert refused.status_code == 422 and refused.mimetype == PROBLEM
    assert {e["field"] for e in refused.get_json()["errors"]} == {"dose_mg_per_kg", "bp_before"}
    assert fetch(sa.select(Infusion)) == []

    first = _given(client, staff, patient, clock.current - timedelta(days=10), dose_mg_per_kg=0.8, observed_min=60)
    assert first.status_code == 201
    body = first.get_json()
    assert body["total_mg"] == 64.0 and body["duration_min"] == 40
    assert {w["field"] for w in body["warnings"]} == {"dose_mg_per_kg", "observed_min"}
    for days in (8, 6, 4, 2):
        assert _given(client, staff, patient, clock.current - timedelta(days=days)).status_code == 201
    assert client.get(f"/api/v1/clinic/patients/{patient.id}", headers=staff).get_json()["phase"] == "induction"
    assert _given(client, staff, patient, clock.current - timedelta(hours=3)).status_code == 201
    assert client.get(f"/api/v1/clinic/patients/{patient.id}", headers=staff).get_json()["phase"] == "as_needed"
    moves = fetch(sa.select(PhaseChange).where(PhaseChange.to_phase == "as_needed"))
    assert len(moves) == 1 and moves[0].changed_by_id is None
    listing = client.get(f"/api/v1/clinic/patients/{patient.id}/infusions?limit=4", headers=staff).get_json()
    assert len(listing["items"]) == 4 and listing["next_cursor"]


def test_scheduled_infusion_is_recorded_as_given(
    client: FlaskClient, staff: dict[str, str], patient: Patient, clock: FrozenClock
) -> None:
    booked = client.post(
        f"/api/v1/clinic/patients/{patient.id}/infusions",
        json={
            "kind": "maintenance",
            "status": "scheduled",
            "scheduled_for": (clock.current + timedelta(days=2)).isoformat(),
        },
        headers=staff,
    )
    assert booked.status_code == 201
    infusion_id = booked.get_json()["id"]
    clock.advance(days=2, hours=1)
    given = client.patch(
        f"/api/v1/clinic/infusions/{infusion_id}",
        json={"status": "given", "given_at": (clock.current - timedelta(hours=1)).isoformat(), "bp_after": "130/85"},
        headers=staff,
    )
    assert given.status_code == 200 and given.get_json()["status"] == "given"
    assert given.get_json()["bp_after"] == "130/85"
    back = client.patch(f"/api/v1/clinic/infusions/{infusion_id}", json={"status": "scheduled"}, headers=staff)
    assert back.status_code == 409 and back.mimetype == PROBLEM


def test_patch_patient_changes_phase_with_history(
    client: FlaskClient, staff: dict[str, str], patient: Patient, fetch: Callable[..., list[Any]]
) -> None:
    response = client.patch(
        f"/api/v1/clinic/patients/{patient.id}",
        json={"phase": "maintenance", "phase_reason": "weekly plan", "reminders": {"local_time": "07:45"}},
        headers=staff,
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["phase"] == "maintenance" and body["reminders"]["local_time"] == "07:45"
    [move] = fetch(sa.select(PhaseChange).where(PhaseChange.to_phase == "maintenance"))
    assert move.reason == "weekly plan"
    bad = client.patch(f"/api/v1/clinic/patients/{patient.id}", json={"phase": "cured"}, headers=staff)
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "phase"
    url = f"/api/v1/clinic/patients/{patient.id}"
    unsaid = client.patch(url, json={"phase": "discharged", "display_name": "Kim R."}, headers=staff)
    assert unsaid.status_code == 422 and unsaid.mimetype == PROBLEM
    assert [e["field"] for e in unsaid.get_json()["errors"]] == ["phase_reason"]
    kept = client.get(url, headers=staff).get_json()
    assert (kept["phase"], kept["display_name"]) == ("maintenance", "Kim")  # nothing of the refused PATCH is kept
    done = client.patch(url, json={"phase": "discharged", "phase_reason": "moved away"}, headers=staff)
    assert done.status_code == 200 and done.get_json()["phase"] == "discharged"


def test_patient_raises_one_request_at_a_time_and_the_clinic_is_alerted(
    client: FlaskClient, bearer: Callable[..., Any], patient: Patient, fetch: Callable[..., list[Any]]
) -> None:
    me = bearer(patient)
    first = client.post("/api/v1/booster-requests", json={"reason": "Feeling low again"}, headers=me)
    assert first.status_code == 201
    body = first.get_json()
    assert (body["raised_by"], body["status"], body["patient_reason"]) == ("patient", "open", "Feeling low again")
    second = client.post("/api/v1/booster-requests", json={"reason": "please"}, headers=me)
    assert second.status_code == 409 and second.mimetype == PROBLEM
    assert [a.kind for a in fetch(sa.select(Alert))] == ["attention"]
    mine = client.get("/api/v1/booster-requests", headers=me).get_json()["items"]
    assert [r["id"] for r in mine] == [body["id"]]
    too_long = client.post("/api/v1/booster-requests", json={"reason": "x" * 501}, headers=me)
    assert too_long.status_code == 422


def test_the_decision_flow_approve_schedule_give(
    client: FlaskClient,
    staff: dict[str, str],
    factory: Factory,
    clinic: Clinic,
    clock: FrozenClock,
    fetch: Callable[..., list[Any]],
    bearer: Callable[..., Any],
) -> None:
    patient = factory.patient(clinic, phase="as_needed")
    raised = client.post(
        f"/api/v1/clinic/patients/{patient.id}/booster-requests", json={"reason": "rising"}, headers=staff
    )
    assert raised.status_code == 201
    request_id = raised.get_json()["id"]
    assert (
        client.post(
            f"/api/v1/clinic/patients/{patient.id}/booster-requests", json={"reason": "x"}, headers=staff
        ).status_code
        == 409
    )

    approved = client.post(f"/api/v1/clinic/booster-requests/{request_id}/approve", json={"note": "ok"}, headers=staff)
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    when = (clock.current + timedelta(days=3)).isoformat()
    booked = client.post(
        f"/api/v1/clinic/booster-requests/{request_id}/schedule", json={"scheduled_for": when}, headers=staff
    )
    assert booked.status_code == 200
    result = booked.get_json()
    assert result["request"]["status"] == "scheduled" and result["request"]["infusion_id"] == result["infusion"]["id"]
    assert result["infusion"]["kind"] == "booster" and result["infusion"]["status"] == "scheduled"
    [sms] = fetch(sa.select(OutboundMessage).where(OutboundMessage.purpose == "booster_scheduled"))
    assert sms.to_phone == patient.phone and "ride" in sms.body.lower()

    refused = client.post(f"/api/v1/clinic/booster-requests/{request_id}/decline", json={"reason": "no"}, headers=staff)
    assert refused.status_code == 409
    mine = client.get("/api/v1/infusions", headers=bearer(patient)).get_json()["items"]
    assert [i["status"] for i in mine] == ["scheduled"] and "notes" not in mine[0]

    clock.advance(days=3, hours=2)
    given = client.patch(
        f"/api/v1/clinic/infusions/{result['infusion']['id']}",
        json={"status": "given", "given_at": (clock.current - timedelta(hours=2)).isoformat()},
        headers=staff,
    )
    assert given.status_code == 200
    listing = client.get(f"/api/v1/clinic/booster-requests?patient_id={patient.id}", headers=staff).get_json()
    assert listing["items"][0]["status"] == "completed"
    assert client.get("/api/v1/clinic/booster-requests?status=open", headers=staff).get_json()["items"] == []


def test_decline_needs_a_reason_and_urgent_requests_come_first(
    app: Flask, client: FlaskClient, staff: dict[str, str], factory: Factory, clinic: Clinic, clock: FrozenClock
) -> None:
    routine = factory.patient(clinic, phase="as_needed")
    urgent = factory.patient(clinic, phase="as_needed")
    first = client.post(f"/api/v1/clinic/patients/{routine.id}/booster-requests", json={"reason": "a"}, headers=staff)
    clock.advance(minutes=5)
    with app.app_context():  # urgent requests come from the scan
        scan_raised = boosters.raise_request(db.session.get(Patient, urgent.id), "scan", None, None, urgency="urgent")  # type: ignore[arg-type]
        db.session.commit()
        urgent_id = str(scan_raised.id)
    listing = client.get("/api/v1/clinic/booster-requests?status=open", headers=staff).get_json()["items"]
    assert [r["id"] for r in listing] == [urgent_id, first.get_json()["id"]]  # urgent first, though newer

    decline_url = f"/api/v1/clinic/booster-requests/{first.get_json()['id']}/decline"
    no_reason = client.post(decline_url, json={}, headers=staff)
    assert no_reason.status_code == 422 and no_reason.get_json()["errors"][0]["field"] == "reason"
    declined = client.post(decline_url, json={"reason": "stable on review"}, headers=staff)
    assert declined.get_json()["status"] == "declined" and declined.get_json()["reason"] == "stable on review"
    open_ones = client.get("/api/v1/clinic/booster-requests?status=open", headers=staff).get_json()["items"]
    assert [r["id"] for r in open_ones] == [urgent_id]


def test_safety_alert_acknowledged_without_a_risk_level_and_resolved_with_one(
    client: FlaskClient, staff: dict[str, str], bearer: Callable[..., Any], patient: Patient
) -> None:
    """CLINICAL.md §3, API.md: acknowledge ("I am on it") takes an optional note; resolve needs the risk level."""
    client.post("/api/v1/checkins", json={"instrument": "phq9", "answers": [0] * 8 + [2]}, headers=bearer(patient))
    [alert] = client.get("/api/v1/clinic/alerts?status=open", headers=staff).get_json()["items"]
    assert alert["kind"] == "safety" and alert["deadline"]
    assert alert["patient"] == {"id": str(patient.id), "display_name": patient.display_name}
    assert alert["highest_item9"] == 2 and len(alert["checkins"]) == 1 and alert["escalation_step"] == 0
    url = f"/api/v1/clinic/alerts/{alert['id']}/acknowledge"
    taken = client.post(url, json={"note": "called, no answer"}, headers=staff)
    assert taken.status_code == 200
    assert (taken.get_json()["status"], taken.get_json()["risk_level"]) == ("acknowledged", None)
    assert taken.get_json()["note"] == "called, no answer" and taken.get_json()["acknowledged_by"]
    assert client.post(url, json={}, headers=staff).status_code == 409
    # API.md: ?status=open is open and acknowledged: it still waits to be resolved.
    [still] = client.get("/api/v1/clinic/alerts?status=open", headers=staff).get_json()["items"]
    assert still["id"] == alert["id"]

    resolve = f"/api/v1/clinic/alerts/{alert['id']}/resolve"
    not_asked = {"screener_not_done": "Assessed in the emergency department"}
    missing = client.post(resolve, json={"note": "called", **not_asked}, headers=staff)
    assert missing.status_code == 422 and missing.get_json()["errors"][0]["field"] == "risk_level"
    bad = client.post(resolve, json={"risk_level": "extreme"}, headers=staff)
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "risk_level"
    done = client.post(
        resolve,
        json={"risk_level": "moderate", "action": "C-SSRS by phone", "note": "safety plan", **not_asked},
        headers=staff,
    )
    assert done.status_code == 200
    body = done.get_json()
    assert (body["status"], body["risk_level"], body["action"], body["note"]) == (
        "resolved",
        "moderate",
        "C-SSRS by phone",
        "safety plan",
    )
    assert body["resolved_by"] and body["resolved_at"] and body["acknowledge_note"] == "called, no answer"
    assert client.post(resolve, json={"risk_level": "low", **not_asked}, headers=staff).status_code == 409
    assert client.get("/api/v1/clinic/alerts?status=open", headers=staff).get_json()["items"] == []
    [resolved] = client.get("/api/v1/clinic/alerts?status=resolved", headers=staff).get_json()["items"]
    assert resolved["id"] == alert["id"]


def test_settings_read_by_staff_changed_by_admin(
    client: FlaskClient,
    staff: dict[str, str],
    factory: Factory,
    clinic: Clinic,
    bearer: Callable[..., Any],
    fetch: Callable[..., list[Any]],
) -> None:
    assert client.get("/api/v1/clinic/settings", headers=staff).get_json()["signal_min_total"] == 10
    assert client.patch("/api/v1/clinic/settings", json={"signal_min_total": 12}, headers=staff).status_code == 403
    admin = bearer(factory.user(clinic, role="admin"))
    bad = client.patch(
        "/api/v1/clinic/settings",
        json={"signal_min_total": 40, "confirm_min_days": 10, "confirm_max_days": 5, "oncall_phone": "12"},
        headers=admin,
    )
    assert bad.status_code == 422
    # Issue 11 point 5: every problem at once, the thresholds checked together too (CLINICAL.md §5).
    assert {e["field"] for e in bad.get_json()["errors"]} == {"signal_min_total", "oncall_phone", "confirm_max_days"}
    ok = client.patch(
        "/api/v1/clinic/settings",
        json={"signal_min_total": 12, "quiet_start": "22:00", "backup_phone": "(312) 555-0199"},
        headers=admin,
    )
    assert ok.status_code == 200
    body = ok.get_json()
    assert (body["signal_min_total"], body["quiet_start"], body["backup_phone"]) == (12, "22:00", "+13125550199")
    assert fetch(sa.select(AuditEvent.action).where(AuditEvent.action == "settings.change")) == ["settings.change"]
    window = client.patch("/api/v1/clinic/settings", json={"confirm_max_days": 3}, headers=admin)
    assert window.status_code == 422 and window.get_json()["errors"][0]["field"] == "confirm_max_days"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/clinic/patients/{p}", None),
        ("patch", "/api/v1/clinic/patients/{p}", {"display_name": "x"}),
        ("get", "/api/v1/clinic/patients/{p}/infusions", None),
        ("post", "/api/v1/clinic/patients/{p}/infusions", {"kind": "booster", "status": "given"}),
        ("post", "/api/v1/clinic/patients/{p}/booster-requests", {"reason": "x"}),
        ("get", "/api/v1/clinic/booster-requests?patient_id={p}", None),
    ],
)
def test_another_clinic_gets_404(
    client: FlaskClient,
    stranger: dict[str, str],
    patient: Patient,
    fetch: Callable[..., list[Any]],
    method: str,
    path: str,
    body: Any,
) -> None:
    response = getattr(client, method)(path.format(p=patient.id), json=body, headers=stranger)
    assert response.status_code == 404 and response.mimetype == PROBLEM
    assert fetch(sa.select(Infusion)) == []
    assert fetch(sa.select(AuditEvent).where(AuditEvent.patient_id == patient.id)) == []


def test_another_clinics_request_alert_and_infusion_are_404(
    client: FlaskClient,
    staff: dict[str, str],
    stranger: dict[str, str],
    patient: Patient,
    bearer: Callable[..., Any],
    clock: FrozenClock,
) -> None:
    request_id = client.post("/api/v1/booster-requests", json={"reason": "x"}, headers=bearer(patient)).get_json()["id"]
    [alert] = client.get("/api/v1/clinic/alerts", headers=staff).get_json()["items"]
    infusion = _given(client, staff, patient, clock.current - timedelta(hours=1)).get_json()
    for path, body in (
        (f"/api/v1/clinic/booster-requests/{request_id}/approve", {}),
        (f"/api/v1/clinic/booster-requests/{request_id}/decline", {"reason": "x"}),
        (f"/api/v1/clinic/alerts/{alert['id']}/acknowledge", {"note": "x"}),
    ):
        assert client.post(path, json=body, headers=stranger).status_code == 404
    assert (
        client.patch(f"/api/v1/clinic/infusions/{infusion['id']}", json={"notes": "x"}, headers=stranger).status_code
        == 404
    )
    assert client.get("/api/v1/clinic/alerts", headers=stranger).get_json()["items"] == []
    assert client.get("/api/v1/clinic/booster-requests", headers=stranger).get_json()["items"] == []


def test_patients_cannot_reach_clinic_endpoints(
    client: FlaskClient, bearer: Callable[..., Any], patient: Patient
) -> None:
    me = bearer(patient)
    assert client.get("/api/v1/clinic/alerts", headers=me).status_code == 403
    assert client.get(f"/api/v1/clinic/patients/{patient.id}", headers=me).status_code == 403


def test_staff_changes_to_a_patient_are_audited(
    client: FlaskClient, staff: dict[str, str], patient: Patient, fetch: Callable[..., list[Any]]
) -> None:
    client.patch(
        f"/api/v1/clinic/patients/{patient.id}",
        json={"display_name": "Kim R.", "reminders": {"enabled": False}},
        headers=staff,
    )
    [event] = fetch(sa.select(AuditEvent).where(AuditEvent.action == "patient.update"))
    assert event.patient_id == patient.id and event.detail == {"fields": ["display_name", "reminders_enabled"]}


def test_me_gives_the_next_booked_visit_and_null_without_one(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any], clock: FrozenClock
) -> None:
    patient = factory.patient()
    headers = bearer(patient)
    assert client.get("/api/v1/me", headers=headers).get_json()["next_visit"] is None
    factory.infusion(patient, kind="booster", given_at=clock.current - timedelta(days=3))
    later = factory.infusion(patient, kind="booster", scheduled_for=clock.current + timedelta(days=9))
    sooner = factory.infusion(patient, kind="booster", scheduled_for=clock.current + timedelta(days=2))
    body = client.get("/api/v1/me", headers=headers).get_json()
    assert body["next_visit"]["id"] == str(sooner.id) and body["next_visit"]["status"] == "scheduled"
    assert "notes" not in body["next_visit"] and str(later.id) != body["next_visit"]["id"]
