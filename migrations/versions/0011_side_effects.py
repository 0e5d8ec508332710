"""side effects around an infusion: side_effect_report, sms_conversation.infusion_id, the alert cause

Revision ID: 0011_side_effects
Revises: 0010_vital_signs
Create Date: 2026-12-01 16:00:00.000000

CLINICAL.md §7: staff record side effects at discharge and the patient answers the next morning, one report of
each per infusion (the unique key). A side-effect check by text is an SMS conversation about one infusion. Any
"severe" answer opens an attention alert of the new cause "severe_side_effect": the check constraint on
alert.cause is rebuilt with every cause the model knows now (tracker/models/alert.py ALERT_CAUSES), and back
without it.
"""

import sqlalchemy as sa
from alembic import op

from tracker.models.alert import ALERT_CAUSES

# revision identifiers, used by Alembic.
revision = "0011_side_effects"
down_revision = "0010_vital_signs"
branch_labels = None
depends_on = None

NEW_CAUSE = "severe_side_effect"
ITEMS = ("dissociation", "nausea", "headache", "dizziness", "drowsiness", "anxiety", "urinary")


def _cause_check(causes: tuple[str, ...]) -> str:
    return "cause IN ({})".format(", ".join(f"'{cause}'" for cause in causes))


def upgrade():
    op.create_table(
        "side_effect_report",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("infusion_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("timing", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("reported_by_id", sa.Uuid(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        *(sa.Column(item, sa.Integer(), nullable=False) for item in ITEMS),
        sa.CheckConstraint("timing IN ('discharge', 'next_morning')", name=op.f("ck_side_effect_report_timing")),
        sa.CheckConstraint("source IN ('clinic', 'app', 'web', 'sms')", name=op.f("ck_side_effect_report_source")),
        sa.CheckConstraint(
            "(timing = 'discharge' AND source = 'clinic') OR (timing = 'next_morning' AND source IN ('app', 'web', 'sms'))",
            name=op.f("ck_side_effect_report_who_reported"),
        ),
        *(
            sa.CheckConstraint(f"{item} BETWEEN 0 AND 3", name=op.f(f"ck_side_effect_report_{item}_range"))
            for item in ITEMS
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_side_effect_report_clinic_id_clinic"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["infusion_id"],
            ["infusion.id"],
            name=op.f("fk_side_effect_report_infusion_id_infusion"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_side_effect_report_patient_id_patient"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["reported_by_id"],
            ["user_account.id"],
            name=op.f("fk_side_effect_report_reported_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_side_effect_report")),
        sa.UniqueConstraint("infusion_id", "timing", name="uq_side_effect_report_infusion_timing"),
    )
    with op.batch_alter_table("side_effect_report", schema=None) as batch_op:
        batch_op.create_index("ix_side_effect_report_clinic", ["clinic_id", "reported_at"], unique=False)
        batch_op.create_index("ix_side_effect_report_patient", ["patient_id", "reported_at"], unique=False)

    with op.batch_alter_table("sms_conversation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("infusion_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_sms_conversation_infusion_id_infusion"), "infusion", ["infusion_id"], ["id"], ondelete="CASCADE"
        )

    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_alert_cause"), type_="check")
        batch_op.create_check_constraint(op.f("ck_alert_cause"), _cause_check(ALERT_CAUSES))


def downgrade():
    op.execute(f"DELETE FROM alert WHERE cause = '{NEW_CAUSE}'")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_alert_cause"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_alert_cause"), _cause_check(tuple(c for c in ALERT_CAUSES if c != NEW_CAUSE))
        )
    op.execute("DELETE FROM sms_conversation WHERE infusion_id IS NOT NULL")
    with op.batch_alter_table("sms_conversation", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_sms_conversation_infusion_id_infusion"), type_="foreignkey")
        batch_op.drop_column("infusion_id")
    with op.batch_alter_table("side_effect_report", schema=None) as batch_op:
        batch_op.drop_index("ix_side_effect_report_patient")
        batch_op.drop_index("ix_side_effect_report_clinic")
    op.drop_table("side_effect_report")
