"""the senders' shared pace: send_limiter

Revision ID: 0016_send_limiter
Revises: 0015_staff_names_and_flags
Create Date: 2026-12-01 16:00:00.000000

One row per sending identity: when its next free send slot starts. Every dispatcher reserves its slots there,
so any number of scheduler processes together never send faster than the carrier's rate for that sender.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016_send_limiter"
down_revision = "0015_staff_names_and_flags"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "send_limiter",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("next_free", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_send_limiter")),
    )


def downgrade() -> None:
    op.drop_table("send_limiter")
