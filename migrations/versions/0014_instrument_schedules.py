"""instruments on a schedule: clinic.instrument_schedule

Revision ID: 0014_instrument_schedules
Revises: 0013_other_medicines
Create Date: 2026-12-01 16:00:00.000000

CLINICAL.md §7: a clinic chooses which instruments each phase asks and how often ({phase: {instrument:
interval}}, tracker/instruments/schedule.py). Stored clinics keep null: the defaults, PHQ-9 weekly in every
phase and nothing else, which is what they asked before.

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0014_instrument_schedules"
down_revision = "0013_other_medicines"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.add_column(sa.Column("instrument_schedule", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_column("instrument_schedule")
