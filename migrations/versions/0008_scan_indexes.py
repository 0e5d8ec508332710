"""scan indexes: the relapse scan's due patients, and a patient's booster requests by status

Revision ID: 0008_scan_indexes
Revises: 0007_password_resets
Create Date: 2026-12-01 12:40:00.000000

The scan's pick (``scanned_at IS NULL OR changed_at > scanned_at``) compares two columns, which no index on
them can answer: a partial index of only the due patients' ids replaces it. Decisions and open requests are
looked up by patient and status; the only index on booster_request.patient_id held open requests alone.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008_scan_indexes"
down_revision = "0007_password_resets"
branch_labels = None
depends_on = None

SCAN_DUE_CONDITION = "scanned_at IS NULL OR changed_at > scanned_at"


def upgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_scan_due")
        batch_op.create_index(
            "ix_patient_scan_due",
            ["id"],
            unique=False,
            sqlite_where=sa.text(SCAN_DUE_CONDITION),
            postgresql_where=sa.text(SCAN_DUE_CONDITION),
        )
    with op.batch_alter_table("booster_request", schema=None) as batch_op:
        batch_op.create_index("ix_booster_request_patient_status", ["patient_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("booster_request", schema=None) as batch_op:
        batch_op.drop_index("ix_booster_request_patient_status")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_scan_due")
        batch_op.create_index("ix_patient_scan_due", ["changed_at", "scanned_at"], unique=False)
