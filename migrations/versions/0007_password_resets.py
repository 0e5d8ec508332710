"""password resets: invitation.purpose

Revision ID: 0007_password_resets
Revises: 0006_web_sessions
Create Date: 2026-12-01 12:40:00.000000

A password reset is a one-time password link like an invitation: the same table, told apart by its purpose.
Links made before this revision are invitations.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007_password_resets"
down_revision = "0006_web_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purpose", sa.String(length=20), server_default="invitation", nullable=False))
        batch_op.create_check_constraint(op.f("ck_invitation_purpose"), "purpose IN ('invitation', 'reset')")


def downgrade() -> None:
    # Reset links are short-lived: dropped rather than mistaken for invitations.
    op.execute("DELETE FROM invitation WHERE purpose = 'reset'")
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_invitation_purpose"), type_="check")
        batch_op.drop_column("purpose")
