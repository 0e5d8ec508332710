"""other medicines: each patient's list kept by staff, and the clinic's medicines to review before an infusion

Revision ID: 0013_other_medicines
Revises: 0012_cssrs_screener
Create Date: 2026-12-01 16:00:00.000000

CLINICAL.md §7. patient_medicine holds a patient's medicines (name, dose, since, until: none while still taken).
clinic.review_medicines holds the clinic's list to review before an infusion (a medicine, or a class with its
members); none until an admin enters one.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0013_other_medicines"
down_revision = "0012_cssrs_screener"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "patient_medicine",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("dose", sa.String(length=100), nullable=True),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("added_by_id", sa.Uuid(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "since IS NULL OR until IS NULL OR since <= until", name=op.f("ck_patient_medicine_since_before_until")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_patient_medicine_patient_id_patient"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_patient_medicine_clinic_id_clinic"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["added_by_id"],
            ["user_account.id"],
            name=op.f("fk_patient_medicine_added_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_medicine")),
    )
    op.create_index("ix_patient_medicine_patient", "patient_medicine", ["patient_id", "until"], unique=False)
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_medicines", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_column("review_medicines")
    op.drop_index("ix_patient_medicine_patient", table_name="patient_medicine")
    op.drop_table("patient_medicine")
