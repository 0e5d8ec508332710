"""safety alerts in two steps: resolve, escalation steps, one open safety alert per patient, its check-ins

Revision ID: 0004_safety_steps
Revises: 0003_clinic_country
Create Date: 2026-12-01 11:30:00.000000

CLINICAL.md §3. The alert gains the status "resolved" (who, when, the risk level, what was done, a note), the
escalation's steps (escalation_step, escalate_at: when the next step is due, escalated_all_at), the highest
item 9 answer, the words a patient replied by text at item 9, and two attention causes of the SMS check-in.
alert_checkin lists every check-in that raised or joined a safety alert.

Alerts already stored: each safety alert is linked to its own check-in; one not yet escalated gets its next
step at its deadline, one escalated is at step 1. Where a patient has several unacknowledged or acknowledged
safety alerts, the oldest keeps them all: the later ones' check-ins join it and the later ones are deleted
(one open safety alert per patient). On downgrade, resolved alerts go back to acknowledged.
"""

import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0004_safety_steps"
down_revision = "0003_clinic_country"
branch_labels = None
depends_on = None

CAUSES_BEFORE = (
    "safety",
    "patient_request",
    "booster_raised",
    "booster_made_urgent",
    "missed_checkin",
    "sms_undelivered",
    "sms_invalid_number",
)
CAUSES_AFTER = (*CAUSES_BEFORE, "sms_stopped_checkin", "sms_checkin_unfinished")
UNRESOLVED_SAFETY = "kind = 'safety' AND status IN ('open', 'acknowledged')"


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def upgrade():
    op.create_table(
        "alert_checkin",
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("checkin_id", sa.Uuid(), nullable=False),
        sa.Column("item9", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("item9 BETWEEN 0 AND 3", name=op.f("ck_alert_checkin_item9_range")),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name=op.f("fk_alert_checkin_alert_id_alert"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkin.id"], name=op.f("fk_alert_checkin_checkin_id_checkin"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("alert_id", "checkin_id", name=op.f("pk_alert_checkin")),
    )
    with op.batch_alter_table("alert_checkin", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_checkin_checkin_id"), ["checkin_id"], unique=False)

    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.add_column(sa.Column("escalated_all_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalation_step", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("escalate_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("highest_item9", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reply_text", sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column("resolved_by_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("action", sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column("resolution_note", sa.String(length=2000), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_alert_resolved_by_id_user_account"),
            "user_account",
            ["resolved_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.drop_constraint(op.f("ck_alert_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_alert_status"), "status IN ('open', 'acknowledged', 'resolved')")
        batch_op.drop_constraint(op.f("ck_alert_cause"), type_="check")
        batch_op.create_check_constraint(op.f("ck_alert_cause"), f"cause IN ({_in(CAUSES_AFTER)})")
        batch_op.create_check_constraint(
            op.f("ck_alert_resolved_by_whom"),
            "status != 'resolved' OR (resolved_at IS NOT NULL AND resolved_by_id IS NOT NULL)",
        )
        batch_op.create_check_constraint(
            op.f("ck_alert_escalation_step_range"), "escalation_step IS NOT NULL AND (escalation_step BETWEEN 0 AND 2)"
        )
        batch_op.create_index("ix_alert_status_escalate_at", ["status", "escalate_at"], unique=False)

    connection = op.get_bind()
    # Each safety alert lists its own check-in, and shows its answer.
    connection.execute(
        sa.text(
            "INSERT INTO alert_checkin (alert_id, checkin_id, item9, added_at) "
            "SELECT alert.id, alert.checkin_id, "
            "CASE WHEN checkin.item9_positive THEN 1 ELSE 0 END, alert.raised_at "
            "FROM alert JOIN checkin ON checkin.id = alert.checkin_id WHERE alert.kind = 'safety'"
        )
    )
    connection.execute(
        sa.text("UPDATE alert SET escalation_step = 1 WHERE kind = 'safety' AND escalated_at IS NOT NULL")
    )
    connection.execute(
        sa.text(
            "UPDATE alert SET escalate_at = deadline "
            "WHERE kind = 'safety' AND status = 'open' AND escalated_at IS NULL AND deadline IS NOT NULL"
        )
    )
    _item9_answers(connection)
    _join_duplicates(connection)

    # Not in a batch: on SQLite a batch copies the alert table, and dropping the old one would cascade to the
    # alert_checkin rows just written.
    op.create_index(
        "uq_alert_one_open_safety",
        "alert",
        ["patient_id"],
        unique=True,
        sqlite_where=sa.text(UNRESOLVED_SAFETY),
        postgresql_where=sa.text(UNRESOLVED_SAFETY),
    )


def _item9_answers(connection: sa.Connection) -> None:
    """The item 9 answer of each linked check-in (answers is a JSON list; item 9 is its ninth value)."""
    rows = connection.execute(
        sa.text(
            "SELECT alert_checkin.alert_id, alert_checkin.checkin_id, checkin.answers "
            "FROM alert_checkin JOIN checkin ON checkin.id = alert_checkin.checkin_id"
        )
    ).all()
    for alert_id, checkin_id, answers in rows:
        values = json.loads(answers) if isinstance(answers, str) else answers
        item9 = values[8] if isinstance(values, list) and len(values) >= 9 else 1
        connection.execute(
            sa.text("UPDATE alert_checkin SET item9 = :item9 WHERE alert_id = :alert AND checkin_id = :checkin"),
            {"item9": item9, "alert": alert_id, "checkin": checkin_id},
        )
    connection.execute(
        sa.text(
            "UPDATE alert SET highest_item9 = "
            "(SELECT max(item9) FROM alert_checkin WHERE alert_checkin.alert_id = alert.id) "
            "WHERE kind = 'safety'"
        )
    )


def _join_duplicates(connection: sa.Connection) -> None:
    """Several unresolved safety alerts of one patient: the oldest keeps every check-in, the later ones go."""
    rows = connection.execute(
        sa.text(f"SELECT id, patient_id FROM alert WHERE {UNRESOLVED_SAFETY} ORDER BY patient_id, raised_at, id")
    ).all()
    keeper: dict[object, object] = {}
    for alert_id, patient_id in rows:
        first = keeper.setdefault(patient_id, alert_id)
        if first == alert_id:
            continue
        connection.execute(
            sa.text(
                "INSERT INTO alert_checkin (alert_id, checkin_id, item9, added_at) "
                "SELECT :first, checkin_id, item9, added_at FROM alert_checkin WHERE alert_id = :later"
            ),
            {"first": first, "later": alert_id},
        )
        # Explicitly: migrations run with SQLite's foreign keys off (migrations/env.py), so nothing cascades.
        connection.execute(sa.text("DELETE FROM alert_checkin WHERE alert_id = :later"), {"later": alert_id})
        connection.execute(sa.text("DELETE FROM alert WHERE id = :later"), {"later": alert_id})
        connection.execute(
            sa.text(
                "UPDATE alert SET highest_item9 = "
                "(SELECT max(item9) FROM alert_checkin WHERE alert_checkin.alert_id = alert.id) WHERE id = :first"
            ),
            {"first": first},
        )


def downgrade():
    connection = op.get_bind()
    connection.execute(sa.text("UPDATE alert SET status = 'acknowledged' WHERE status = 'resolved'"))
    connection.execute(
        sa.text(
            "UPDATE alert SET acknowledged_by_id = resolved_by_id, acknowledged_at = resolved_at "
            "WHERE acknowledged_at IS NULL AND resolved_at IS NOT NULL"
        )
    )
    connection.execute(sa.text(f"DELETE FROM alert WHERE cause NOT IN ({_in(CAUSES_BEFORE)})"))
    with op.batch_alter_table("alert_checkin", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_checkin_checkin_id"))
    op.drop_table("alert_checkin")
    op.drop_index("uq_alert_one_open_safety", table_name="alert")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_status_escalate_at")
        batch_op.drop_constraint(op.f("ck_alert_escalation_step_range"), type_="check")
        batch_op.drop_constraint(op.f("ck_alert_resolved_by_whom"), type_="check")
        batch_op.drop_constraint(op.f("ck_alert_cause"), type_="check")
        batch_op.create_check_constraint(op.f("ck_alert_cause"), f"cause IN ({_in(CAUSES_BEFORE)})")
        batch_op.drop_constraint(op.f("ck_alert_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_alert_status"), "status IN ('open', 'acknowledged')")
        batch_op.drop_constraint(batch_op.f("fk_alert_resolved_by_id_user_account"), type_="foreignkey")
        batch_op.drop_column("resolution_note")
        batch_op.drop_column("action")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("resolved_by_id")
        batch_op.drop_column("reply_text")
        batch_op.drop_column("highest_item9")
        batch_op.drop_column("escalate_at")
        batch_op.drop_column("escalation_step")
        batch_op.drop_column("escalated_all_at")
