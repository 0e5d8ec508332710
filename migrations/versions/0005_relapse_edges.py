"""the relapse rule's edges: the alert causes "severe_symptoms" and "booked_visit_unrecorded"

Revision ID: 0005_relapse_edges
Revises: 0004_safety_steps
Create Date: 2026-12-01 11:30:00.000000

CLINICAL.md §5: a severe check-in without a trigger, and a booked booster 24 h past with nothing recorded,
open attention alerts of their own cause. Only the check constraint on alert.cause changes: it is rebuilt
with every cause the model knows now (tracker/models/alert.py ALERT_CAUSES), and back without the two.
"""

from alembic import op

from tracker.models.alert import ALERT_CAUSES

# revision identifiers, used by Alembic.
revision = "0005_relapse_edges"
down_revision = "0004_safety_steps"
branch_labels = None
depends_on = None

NEW_CAUSES = ("severe_symptoms", "booked_visit_unrecorded")


def _cause_check(causes: tuple[str, ...]) -> str:
    return "cause IN ({})".format(", ".join(f"'{cause}'" for cause in causes))


def upgrade():
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_alert_cause"), type_="check")
        batch_op.create_check_constraint(op.f("ck_alert_cause"), _cause_check(ALERT_CAUSES))


def downgrade():
    op.execute("DELETE FROM alert WHERE cause IN ('severe_symptoms', 'booked_visit_unrecorded')")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_alert_cause"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_alert_cause"), _cause_check(tuple(c for c in ALERT_CAUSES if c not in NEW_CAUSES))
        )
