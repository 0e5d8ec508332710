"""the C-SSRS screener at the safety follow-up: its answers, its suggested level, or why it was not asked

Revision ID: 0012_cssrs_screener
Revises: 0011_side_effects
Create Date: 2026-12-01 16:00:00.000000

CLINICAL.md §7. Resolving a safety alert keeps the screener's answers with the alert (JSON), the risk level its
triage suggested beside the clinician's documented one (risk_level), or the reason it was not asked. Alerts
already resolved keep none: nothing was asked of them.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0012_cssrs_screener"
down_revision = "0011_side_effects"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.add_column(sa.Column("screener", JSON, nullable=True))
        batch_op.add_column(sa.Column("screener_suggested", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("screener_not_done", sa.String(length=300), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_alert_screener_suggested"),
            "screener_suggested IS NULL OR screener_suggested IN ('low', 'moderate', 'high')",
        )


def downgrade() -> None:
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_alert_screener_suggested"), type_="check")
        batch_op.drop_column("screener_not_done")
        batch_op.drop_column("screener_suggested")
        batch_op.drop_column("screener")
