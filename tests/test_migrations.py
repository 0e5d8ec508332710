"""The migrations build the whole schema, and the models agree with them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import TEST_NOW, make_test_app
from flask import Flask
from flask_migrate import downgrade, upgrade

from tracker.extensions import db
from tracker.models import Base, Patient
from tracker.models.base import UTCDateTime
from tracker.services.health import expected_revision


def test_models_and_migrations_agree(app: Flask) -> None:
    """Autogenerate against the migrated test database finds no difference."""
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        assert compare_metadata(context, Base.metadata) == []


def test_schema_is_at_the_head_revision(app: Flask) -> None:
    with app.app_context():
        current = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
        db.session.rollback()
    assert current == expected_revision()


def test_upgrade_downgrade_upgrade_on_an_empty_sqlite_file(tmp_path) -> None:
    app = make_test_app(f"sqlite:///{tmp_path / 'fresh.sqlite3'}", tmp_path)
    with app.app_context():
        upgrade()
        assert "patient" in sa.inspect(db.engine).get_table_names()
        downgrade(revision="base")
        assert "patient" not in sa.inspect(db.engine).get_table_names()
        upgrade()
        assert set(Base.metadata.tables) <= set(sa.inspect(db.engine).get_table_names())
        db.engine.dispose()


# The reason a patient's own request opened its alert with, before 0002.
PATIENT_REQUEST_REASON = "The patient asked for a booster infusion."
# The alert table as 0001 built it: no cause yet.
ALERT_BEFORE_0002 = sa.table(
    "alert",
    sa.column("id", sa.Uuid()),
    sa.column("patient_id", sa.Uuid()),
    sa.column("clinic_id", sa.Uuid()),
    sa.column("kind", sa.String()),
    sa.column("reason", sa.String()),
    sa.column("booster_request_id", sa.Uuid()),
    sa.column("dedupe_key", sa.String()),
    sa.column("status", sa.String()),
    sa.column("raised_at", UTCDateTime()),
)


def insert_as_then(table_name: str, /, **values: Any) -> uuid.UUID:
    """A row in a table as an earlier revision built it: only the columns it had then, the models' defaults
    for those not given (the models have since grown columns that revision's table lacks)."""
    now_table = Base.metadata.tables[table_name]
    then = [column["name"] for column in sa.inspect(db.session.connection()).get_columns(table_name)]
    row: dict[str, Any] = {}
    for column_name in then:
        default = now_table.c[column_name].default if column_name in now_table.c else None
        if column_name in values:
            row[column_name] = values[column_name]
        elif default is not None and getattr(default, "is_scalar", False):
            row[column_name] = default.arg
        elif default is not None and getattr(default, "is_callable", False):
            row[column_name] = default.arg(None)
    table = sa.table(table_name, *(sa.column(c, now_table.c[c].type) for c in then if c in now_table.c))
    db.session.execute(sa.insert(table).values(**row))
    return row["id"]


def patient_then(n: int) -> Patient:
    """A clinic, an account and a patient as revision 0001 stored them; what the alerts below need of it."""
    clinic_id = insert_as_then("clinic", name=f"Clinic {n}", timezone="America/Chicago")
    phone = f"+1312555{8000 + n:04d}"
    user_id = insert_as_then("user_account", clinic_id=clinic_id, role="patient", phone=phone)
    patient_id = insert_as_then(
        "patient",
        user_id=user_id,
        clinic_id=clinic_id,
        display_name=f"Patient {n}",
        phone=phone,
        timezone="America/Chicago",
        phase="as_needed",
    )
    return Patient(id=patient_id, clinic_id=clinic_id)


def alert_before_0002(patient: Patient, kind: str, reason: str, key: str | None, request_id: Any = None) -> None:
    db.session.execute(
        sa.insert(ALERT_BEFORE_0002).values(
            id=uuid.uuid4(),
            patient_id=patient.id,
            clinic_id=patient.clinic_id,
            kind=kind,
            reason=reason,
            booster_request_id=request_id,
            dedupe_key=key,
            status="open",
            raised_at=TEST_NOW,
        )
    )


def test_0002_gives_the_alerts_opened_before_it_their_cause(tmp_path: Path) -> None:
    app = make_test_app(f"sqlite:///{tmp_path / 'before.sqlite3'}", tmp_path)
    with app.app_context():
        upgrade(revision="0001_data_model")
        asked, scanned = patient_then(1), patient_then(2)
        requests = {}
        for patient, raised_by in ((asked, "patient"), (scanned, "scan")):
            requests[raised_by] = insert_as_then(
                "booster_request",
                patient_id=patient.id,
                clinic_id=patient.clinic_id,
                raised_by=raised_by,
                urgency="routine",
                status="open",
                raised_at=TEST_NOW,
            )
        alert_before_0002(asked, "safety", "PHQ-9 item 9 answered above 0", None)
        alert_before_0002(asked, "attention", "No check-in for 22 days.", f"missed-checkin-alert:{asked.id}:enrolment")
        alert_before_0002(asked, "attention", "An urgent text was not delivered.", "sms-undelivered:1")
        alert_before_0002(asked, "attention", "Texts cannot be delivered.", f"sms-invalid-number:{asked.id}:ab")
        alert_before_0002(asked, "attention", "Asked.", f"booster-request:{requests['patient']}", requests["patient"])
        alert_before_0002(asked, "attention", PATIENT_REQUEST_REASON, "booster-request:gone")  # its request deleted
        alert_before_0002(scanned, "attention", "Two raised.", f"booster-request:{requests['scan']}", requests["scan"])
        alert_before_0002(scanned, "attention", "Made urgent.", f"booster-urgent:{requests['scan']}", requests["scan"])
        db.session.commit()

        upgrade()
        found = db.session.execute(sa.text("SELECT reason, cause FROM alert")).tuples().all()
        db.session.rollback()
        assert sorted(found) == sorted(
            [
                ("PHQ-9 item 9 answered above 0", "safety"),
                ("No check-in for 22 days.", "missed_checkin"),
                ("An urgent text was not delivered.", "sms_undelivered"),
                ("Texts cannot be delivered.", "sms_invalid_number"),
                ("Asked.", "patient_request"),
                (PATIENT_REQUEST_REASON, "patient_request"),
                ("Two raised.", "booster_raised"),
                ("Made urgent.", "booster_made_urgent"),
            ]
        )
        db.engine.dispose()


def test_0002_stops_before_any_change_at_an_alert_of_no_known_cause(tmp_path: Path) -> None:
    app = make_test_app(f"sqlite:///{tmp_path / 'unknown.sqlite3'}", tmp_path)
    with app.app_context():
        upgrade(revision="0001_data_model")
        alert_before_0002(patient_then(3), "attention", "Made by hand.", "by-hand:1")
        db.session.commit()
        with pytest.raises(SystemExit):  # Flask-Migrate reports the migration's error and exits
            upgrade()
        columns = {column["name"] for column in sa.inspect(db.engine).get_columns("alert")}
        version = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
        db.session.rollback()
        assert "cause" not in columns and version == "0001_data_model"
        db.engine.dispose()


def _revision_before(revision: str) -> str:
    from alembic.script import ScriptDirectory

    from tracker.extensions import migrate

    config = migrate.get_config()
    down = ScriptDirectory.from_config(config).get_revision(revision).down_revision
    assert isinstance(down, str)
    return down


def test_0004_joins_a_patients_open_safety_alerts_and_keeps_their_escalation(tmp_path: Path) -> None:
    """CLINICAL.md §3: one open safety alert per patient, listing every check-in that raised it."""
    app = make_test_app(f"sqlite:///{tmp_path / 'before4.sqlite3'}", tmp_path)
    with app.app_context():
        upgrade(revision=_revision_before("0004_safety_steps"))
        patient = patient_then(4)
        ids = []
        for minutes, item9, escalated in ((0, 2, True), (40, 3, False)):
            checkin_id = insert_as_then(
                "checkin",
                id=uuid.uuid4(),
                patient_id=patient.id,
                instrument="phq9",
                answers=[1, 1, 1, 1, 1, 0, 0, 0, item9],
                total=5 + item9,
                severity="mild",
                diagnosis="none",
                item9_positive=True,
                taken_at=TEST_NOW,
                source="app",
                created_at=TEST_NOW,
            )
            raised = TEST_NOW + timedelta(minutes=minutes)
            ids.append(
                insert_as_then(
                    "alert",
                    id=uuid.uuid4(),
                    patient_id=patient.id,
                    clinic_id=patient.clinic_id,
                    kind="safety",
                    cause="safety",
                    reason="PHQ-9 item 9 answered above 0",
                    checkin_id=checkin_id,
                    status="open",
                    raised_at=raised,
                    deadline=raised + timedelta(minutes=30),
                    escalated_at=raised + timedelta(minutes=30) if escalated else None,
                )
            )
        db.session.commit()
        upgrade()
        rows = db.session.execute(
            sa.text("SELECT id, highest_item9, escalation_step, escalate_at FROM alert WHERE kind = 'safety'")
        ).all()
        assert len(rows) == 1
        kept, highest, step, escalate_at = rows[0]
        assert uuid.UUID(str(kept)) == ids[0] and (highest, step, escalate_at) == (3, 1, None)
        links = db.session.execute(sa.text("SELECT item9 FROM alert_checkin ORDER BY item9")).scalars().all()
        assert links == [2, 3]
        db.session.rollback()
        downgrade(revision=_revision_before("0004_safety_steps"))
        db.engine.dispose()
