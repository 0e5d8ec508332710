"""The migrations build the whole schema, and the models agree with them."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import TEST_NOW, make_test_app
from factories import Factory
from flask import Flask
from flask_migrate import downgrade, upgrade

from tracker.extensions import db
from tracker.models import Base, BoosterRequest, Patient
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
        factory = Factory(app)
        asked, scanned = factory.patient(), factory.patient()
        requests = {}
        for patient, raised_by in ((asked, "patient"), (scanned, "scan")):
            request = BoosterRequest(
                patient_id=patient.id, clinic_id=patient.clinic_id, raised_by=raised_by, urgency="routine"
            )
            db.session.add(request)
            db.session.flush()
            requests[raised_by] = request.id
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
        alert_before_0002(Factory(app).patient(), "attention", "Made by hand.", "by-hand:1")
        db.session.commit()
        with pytest.raises(SystemExit):  # Flask-Migrate reports the migration's error and exits
            upgrade()
        columns = {column["name"] for column in sa.inspect(db.engine).get_columns("alert")}
        version = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
        db.session.rollback()
        assert "cause" not in columns and version == "0001_data_model"
        db.engine.dispose()
