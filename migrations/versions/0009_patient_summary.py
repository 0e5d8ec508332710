"""each patient's list figures stored: patient_summary

Revision ID: 0009_patient_summary
Revises: 0008_scan_indexes
Create Date: 2026-12-01 12:40:00.000000

The clinic's patient list reads one stored row per patient instead of ranking every check-in of the clinic, and
pages in name order along an index of the clinic's patients by name.
The rows are filled here from the stored check-ins and infusions by the same pure rules the app uses
(tracker.outcomes, CLINICAL.md §4-§5), a thousand patients at a time; from then on the app keeps them
current, and `tracker rebuild-summaries` recomputes them all.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from tracker.instruments import PHQ9
from tracker.models.base import UTCDateTime
from tracker.outcomes import course_starts, outcome
from tracker.relapse import CheckInPoint, InfusionPoint, sort_checkins

# revision identifiers, used by Alembic.
revision = "0009_patient_summary"
down_revision = "0008_scan_indexes"
branch_labels = None
depends_on = None

BATCH = 1000
PATIENT = sa.table("patient", sa.column("id", sa.Uuid()))
CHECKIN = sa.table(
    "checkin",
    sa.column("id", sa.Uuid()),
    sa.column("patient_id", sa.Uuid()),
    sa.column("instrument", sa.String()),
    sa.column("total", sa.Integer()),
    sa.column("taken_at", UTCDateTime()),
    sa.column("created_at", UTCDateTime()),
)
INFUSION = sa.table(
    "infusion",
    sa.column("id", sa.Uuid()),
    sa.column("patient_id", sa.Uuid()),
    sa.column("kind", sa.String()),
    sa.column("status", sa.String()),
    sa.column("given_at", UTCDateTime()),
)
SUMMARY = sa.table(
    "patient_summary",
    sa.column("patient_id", sa.Uuid()),
    sa.column("latest_total", sa.Integer()),
    sa.column("latest_severity", sa.String()),
    sa.column("latest_at", UTCDateTime()),
    sa.column("baseline_total", sa.Integer()),
    sa.column("reference_low", sa.Integer()),
    sa.column("refreshed_at", UTCDateTime()),
)


def upgrade():
    op.create_table(
        "patient_summary",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("latest_total", sa.Integer(), nullable=True),
        sa.Column("latest_severity", sa.String(length=20), nullable=True),
        sa.Column("latest_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("baseline_total", sa.Integer(), nullable=True),
        sa.Column("reference_low", sa.Integer(), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_patient_summary_patient_id_patient"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patient_summary")),
    )
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.create_index("ix_patient_clinic_name", ["clinic_id", "display_name", "id"], unique=False)
    _fill(op.get_bind())


def _fill(connection: sa.Connection) -> None:
    now = datetime.now(UTC)
    after = None
    while True:
        query = sa.select(PATIENT.c.id).order_by(PATIENT.c.id).limit(BATCH)
        if after is not None:
            query = query.where(PATIENT.c.id > after)
        batch = list(connection.scalars(query))
        if not batch:
            return
        after = batch[-1]
        points: dict = {patient_id: [] for patient_id in batch}
        for row in connection.execute(
            sa.select(CHECKIN).where(CHECKIN.c.patient_id.in_(batch), CHECKIN.c.instrument == PHQ9.name)
        ):
            points[row.patient_id].append(CheckInPoint(str(row.id), row.taken_at, row.total, row.created_at))
        given: dict = {patient_id: [] for patient_id in batch}
        for row in connection.execute(
            sa.select(INFUSION).where(
                INFUSION.c.patient_id.in_(batch), INFUSION.c.status == "given", INFUSION.c.given_at.is_not(None)
            )
        ):
            given[row.patient_id].append(row)
        rows = []
        for patient_id in batch:
            ordered = sort_checkins(points[patient_id])
            latest = ordered[-1] if ordered else None
            infusions = given[patient_id]
            # CLINICAL.md §4: the current course's baseline, as tracker.services.course.queries.outcomes_of.
            starts = course_starts(
                [i.given_at for i in infusions if i.kind == "induction"],
                [i.given_at for i in infusions if i.kind != "induction"],
            )
            found = outcome(
                ordered, [InfusionPoint(str(i.id), i.given_at) for i in infusions], starts[-1] if starts else None
            )
            rows.append(
                {
                    "patient_id": patient_id,
                    "latest_total": latest.total if latest else None,
                    "latest_severity": PHQ9.severity_for(latest.total) if latest else None,
                    "latest_at": latest.taken_at if latest else None,
                    "baseline_total": found.baseline,
                    "reference_low": found.reference_low,
                    "refreshed_at": now,
                }
            )
        connection.execute(SUMMARY.insert(), rows)


def downgrade():
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_clinic_name")
    op.drop_table("patient_summary")
