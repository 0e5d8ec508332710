"""Staff display names, and the patient's flag of a high risk at the last safety follow-up.

user_account.display_name: how colleagues name a staff member on every page (existing staff get their email's
local part until an admin changes it). patient.high_risk_flagged_at / high_risk_alert_id: set when a safety alert
is resolved at "high" risk (CLINICAL.md §3), cleared only by a clinician; on the patient row, so the list reads it
with the patient and stays one query.

Revision ID: 0015_staff_names_and_flags
Revises: 0014_instrument_schedules
Create Date: 2026-12-01 16:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015_staff_names_and_flags"
down_revision = "0014_instrument_schedules"
branch_labels = None
depends_on = None

USERS = sa.table(
    "user_account",
    sa.column("id", sa.Uuid()),
    sa.column("email", sa.String()),
    sa.column("role", sa.String()),
    sa.column("display_name", sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("display_name", sa.String(length=120), nullable=True))
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("high_risk_flagged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("high_risk_alert_id", sa.Uuid(), nullable=True))
    connection = op.get_bind()
    staff = connection.execute(
        sa.select(USERS.c.id, USERS.c.email).where(USERS.c.role.in_(("clinician", "admin")), USERS.c.email.is_not(None))
    ).all()
    for user_id, email in staff:
        connection.execute(
            sa.update(USERS).where(USERS.c.id == user_id).values(display_name=email.split("@", 1)[0][:120])
        )


def downgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_column("high_risk_alert_id")
        batch_op.drop_column("high_risk_flagged_at")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("display_name")
