"""what opened each alert: alert.cause

Revision ID: 0002_alert_cause
Revises: 0001_data_model
Create Date: 2026-11-28 10:00:00.000000

The alerts already stored, open or acknowledged, get their cause from the kind, dedupe key and reason they
were opened with (tracker/services/alerts/writes.py and its callers): every alert the code has written matches.

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0002_alert_cause"
down_revision = "0001_data_model"
branch_labels = None
depends_on = None

CAUSES = (
    "safety",
    "patient_request",
    "booster_raised",
    "booster_made_urgent",
    "missed_checkin",
    "sms_undelivered",
    "sms_invalid_number",
)

# A patient's own request was "booster-request:<id>" like the scan's: told apart by who raised it, or by the
# reason when the request is gone (booster_request_id SET NULL).
PATIENT_REQUEST_REASON = "The patient asked for a booster infusion."
CAUSE_OF_ALERT = """
    CASE
        WHEN kind = 'safety' THEN 'safety'
        WHEN dedupe_key LIKE 'missed-checkin-alert:%' THEN 'missed_checkin'
        WHEN dedupe_key LIKE 'sms-undelivered:%' THEN 'sms_undelivered'
        WHEN dedupe_key LIKE 'sms-invalid-number:%' THEN 'sms_invalid_number'
        WHEN dedupe_key LIKE 'booster-urgent:%' THEN 'booster_made_urgent'
        WHEN dedupe_key LIKE 'booster-request:%' AND (
            reason = :patient_reason
            OR EXISTS (
                SELECT 1 FROM booster_request
                WHERE booster_request.id = alert.booster_request_id AND booster_request.raised_by = 'patient'
            )
        ) THEN 'patient_request'
        WHEN dedupe_key LIKE 'booster-request:%' THEN 'booster_raised'
    END
"""


def upgrade():
    connection = op.get_bind()
    unknown = connection.scalar(
        sa.text(f"SELECT count(*) FROM alert WHERE ({CAUSE_OF_ALERT}) IS NULL"),
        {"patient_reason": PATIENT_REQUEST_REASON},
    )
    if unknown:
        # Checked before any change, and not guessed: no code has opened such an alert.
        raise RuntimeError(
            f"{unknown} alerts match no known cause by their kind, dedupe key and reason: "
            "give each the dedupe key of its cause (migrations/versions/0002_alert_cause.py), or delete it"
        )

    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cause", sa.String(length=24), nullable=True))

    connection.execute(
        sa.text(f"UPDATE alert SET cause = {CAUSE_OF_ALERT}"), {"patient_reason": PATIENT_REQUEST_REASON}
    )

    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.alter_column("cause", existing_type=sa.String(length=24), nullable=False)
        batch_op.create_check_constraint(
            op.f("ck_alert_cause"), "cause IN ({})".format(", ".join(f"'{cause}'" for cause in CAUSES))
        )


def downgrade():
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_alert_cause"), type_="check")
        batch_op.drop_column("cause")
