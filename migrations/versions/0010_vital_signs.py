"""vital signs around the infusion: the reading about 40 minutes in, heart rate and SpO2, the hold threshold

Revision ID: 0010_vital_signs
Revises: 0009_patient_summary
Create Date: 2026-12-01 16:00:00.000000

CLINICAL.md §7: blood pressure before the dose, about 40 minutes in and before discharge, with heart rate and
SpO2 where recorded. The readings stay columns of the infusion (three fixed moments, always read with it): the
existing bp_before_* and bp_after_* keep their data as the "before" and "before discharge" readings, and the
"during" ones, heart rate and SpO2 are added. An infusion given at the clinic's hold-and-review level keeps the
clinician's confirmation (bp_hold_confirmed) and the hold level in force when it was saved (bp_hold_systolic,
bp_hold_diastolic: left null for rows saved before, which are judged at the default 180/110, the only level a
clinic had until this revision); the clinic gets its hold threshold, by default 180/110.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010_vital_signs"
down_revision = "0009_patient_summary"
branch_labels = None
depends_on = None

MOMENTS = ("before", "during", "after")
# (column, low, high): the plausible ranges of tracker/vitals.py, as check constraints.
RANGES = (
    ("bp_during_systolic", 50, 260),
    ("bp_during_diastolic", 30, 160),
    *((f"heart_rate_{m}", 20, 250) for m in MOMENTS),
    *((f"spo2_{m}", 50, 100) for m in MOMENTS),
)


def upgrade() -> None:
    with op.batch_alter_table("infusion", schema=None) as batch_op:
        for column, _low, _high in RANGES:
            batch_op.add_column(sa.Column(column, sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("bp_hold_confirmed", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("bp_hold_systolic", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("bp_hold_diastolic", sa.Integer(), nullable=True))
        for column, low, high in RANGES:
            batch_op.create_check_constraint(
                op.f(f"ck_infusion_{column}_range"), f"{column} IS NULL OR ({column} BETWEEN {low} AND {high})"
            )
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bp_hold_systolic", sa.Integer(), nullable=False, server_default="180"))
        batch_op.add_column(sa.Column("bp_hold_diastolic", sa.Integer(), nullable=False, server_default="110"))
        batch_op.create_check_constraint(
            op.f("ck_clinic_bp_hold_systolic_range"), "bp_hold_systolic BETWEEN 141 AND 260"
        )
        batch_op.create_check_constraint(
            op.f("ck_clinic_bp_hold_diastolic_range"), "bp_hold_diastolic BETWEEN 91 AND 160"
        )


def downgrade() -> None:
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_clinic_bp_hold_diastolic_range"), type_="check")
        batch_op.drop_constraint(op.f("ck_clinic_bp_hold_systolic_range"), type_="check")
        batch_op.drop_column("bp_hold_diastolic")
        batch_op.drop_column("bp_hold_systolic")
    with op.batch_alter_table("infusion", schema=None) as batch_op:
        for column, _low, _high in reversed(RANGES):
            batch_op.drop_constraint(op.f(f"ck_infusion_{column}_range"), type_="check")
        batch_op.drop_column("bp_hold_diastolic")
        batch_op.drop_column("bp_hold_systolic")
        batch_op.drop_column("bp_hold_confirmed")
        for column, _low, _high in reversed(RANGES):
            batch_op.drop_column(column)
