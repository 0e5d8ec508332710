"""Operator commands, run through Flask's CLI runner against the test database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from conftest import TEST_NOW
from flask import Flask

from tracker.instruments import get_instrument
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
    User,
)


def test_create_clinic_prints_its_id_last(
    app: Flask, connection: sa.Connection, fetch: Callable[..., list[Any]]
) -> None:
    result = app.test_cli_runner().invoke(
        args=["tracker", "create-clinic", "North Clinic", "--timezone", "America/Denver"]
    )
    assert result.exit_code == 0, result.output
    clinic_id = result.output.strip().splitlines()[-1]
    [clinic] = fetch(sa.select(Clinic).where(Clinic.name == "North Clinic"))
    assert str(clinic.id) == clinic_id
    assert clinic.timezone == "America/Denver"


def test_create_clinic_refuses_an_unknown_time_zone(app: Flask, connection: sa.Connection) -> None:
    result = app.test_cli_runner().invoke(args=["tracker", "create-clinic", "X", "--timezone", "Mars/Olympus"])
    assert result.exit_code != 0
    assert "Unknown time zone 'Mars/Olympus'" in result.output


def test_create_user_reads_the_password_from_stdin(
    app: Flask, connection: sa.Connection, fetch: Callable[..., list[Any]]
) -> None:
    runner = app.test_cli_runner()
    clinic_id = runner.invoke(args=["tracker", "create-clinic", "C", "--timezone", "UTC"]).output.split()[-1]
    result = runner.invoke(
        args=["tracker", "create-user", "--clinic", clinic_id, "--role", "admin", "--email", "Ops@Example.org"],
        input="a long enough secret\n",
    )
    assert result.exit_code == 0, result.output
    [user] = fetch(sa.select(User).where(User.email == "ops@example.org"))
    assert user.role == "admin" and str(user.clinic_id) == clinic_id
    assert user.check_password("a long enough secret")
    assert "a long enough secret" not in result.output


def test_create_user_refuses_a_weak_password_and_an_unknown_clinic(app: Flask, connection: sa.Connection) -> None:
    runner = app.test_cli_runner()
    clinic_id = runner.invoke(args=["tracker", "create-clinic", "C", "--timezone", "UTC"]).output.split()[-1]
    weak = runner.invoke(
        args=["tracker", "create-user", "--clinic", clinic_id, "--role", "clinician", "--email", "a@example.org"],
        input="short\n",
    )
    assert weak.exit_code != 0 and "at least 10 characters" in weak.output
    unknown = runner.invoke(
        args=["tracker", "create-user", "--clinic", "nope", "--role", "clinician", "--email", "a@example.org"],
        input="a long enough secret\n",
    )
    assert (unknown.exit_code != 0 and "Not found" in unknown.output) or "No clinic" in unknown.output


def test_demo_fills_an_empty_database_with_every_kind_of_course(
    app: Flask, connection: sa.Connection, fetch: Callable[..., list[Any]]
) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tracker", "demo"])
    assert result.exit_code == 0, result.output
    assert "clinician@lakeside.example" in result.output and "demo-password-2026" in result.output

    patients = fetch(sa.select(Patient))
    assert 28 <= len(patients) <= 35
    assert {p.phase for p in patients} >= {"screening", "induction", "as_needed", "maintenance"}
    checkins = fetch(sa.select(CheckIn))
    assert {row.instrument for row in checkins} == {"phq9", "gad7"}
    for row in checkins:  # every stored score is what its own instrument says
        score = get_instrument(row.instrument).score(row.answers)
        assert (row.total, row.severity, row.diagnosis, row.item9_positive) == (
            score.total,
            score.severity,
            score.diagnosis,
            score.item9_positive,
        )
    assert any(row.item9_positive for row in checkins)
    span = max(r.taken_at for r in checkins) - min(r.taken_at for r in checkins)
    assert span.days >= 300
    boosters = fetch(sa.select(Infusion).where(Infusion.kind == "booster", Infusion.status == "given"))
    assert len(boosters) >= 5
    statuses = {r.status for r in fetch(sa.select(BoosterRequest))}
    assert {"completed", "open"} <= statuses

    # The dashboard has one of everything to show (the clinic's queue and a patient's page).
    now = TEST_NOW  # the app's clock, which the demo was built by
    open_alerts = fetch(sa.select(Alert).where(Alert.status == "open"))
    [safety] = [a for a in open_alerts if a.kind == "safety"]
    assert safety.checkin_id is not None and safety.deadline is not None and safety.deadline > now
    assert any(a.kind == "attention" and (a.dedupe_key or "").startswith("missed-checkin-alert:") for a in open_alerts)
    waiting = fetch(sa.select(BoosterRequest).where(BoosterRequest.status == "open"))
    assert {r.urgency for r in waiting} == {"urgent", "routine"}
    evidence = {e.request_id for e in fetch(sa.select(BoosterEvidence))}
    assert all(r.id in evidence for r in waiting)  # CLINICAL.md §5: each cites the check-ins that raised it
    checkin_times = {c.id: c.taken_at for c in checkins}
    assert all(t <= now for t in checkin_times.values())  # nothing is taken in the future
    booked = fetch(sa.select(Infusion).where(Infusion.status == "scheduled"))
    assert booked and all(i.scheduled_for is not None and i.scheduled_for > now for i in booked)
    texts = fetch(sa.select(OutboundMessage))
    assert {"sent", "delivered", "failed"} <= {t.status for t in texts}
    assert all(t.patient_id is not None and t.status != "queued" for t in texts)  # nothing waits to be sent

    again = runner.invoke(args=["tracker", "demo"])
    assert "already has data" in again.output
    assert len(fetch(sa.select(Patient))) == len(patients)
    # The played history leaves no audit trail, but for the corrections of given infusions (their reason and the
    # values they replaced live there) and the confirmations of a hold blood pressure (the page names who
    # confirmed it, and when): demo/player.py drop_audit_trail.
    kept = fetch(sa.select(AuditEvent))
    corrections = [e for e in kept if e.action == "infusion.update" and (e.detail or {}).get("reason")]
    assert corrections and all(e.detail.get("before") for e in corrections)
    holds = [e for e in kept if e not in corrections]
    assert holds and all(e.action.startswith("infusion.") and e.target_type == "infusion" for e in holds)
