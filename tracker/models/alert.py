"""Alerts to a clinic: safety (PHQ-9 item 9, CLINICAL.md §3) and attention."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker import cssrs
from tracker.clock import system_now

if TYPE_CHECKING:
    from tracker.models.patient import Patient
from tracker.models.base import Base, JSONType, between, id_column, one_of

ALERT_KINDS = ("safety", "attention")
# What opened an alert: a safety alert is a positive item 9 (CLINICAL.md §3); the rest are attention alerts.
ALERT_CAUSES = (
    "safety",
    "patient_request",  # a patient asked for a booster
    "booster_raised",  # the relapse scan raised a booster request
    "booster_made_urgent",  # the relapse scan made the open request urgent
    "missed_checkin",
    "sms_undelivered",  # a critical text did not arrive
    "sms_invalid_number",  # the patient's number cannot take texts
    "sms_stopped_checkin",  # an opt-out word in the middle of an SMS check-in (CLINICAL.md §3)
    "sms_checkin_unfinished",  # an SMS check-in that reached item 9, or already signalled, expired unfinished
    "severe_symptoms",  # CLINICAL.md §5: a severe check-in without a trigger, no request open
    "booked_visit_unrecorded",  # CLINICAL.md §5: a booked booster 24 h past with nothing recorded
    "severe_side_effect",  # CLINICAL.md §7: a side effect reported as severe, at discharge or the next morning
)
# CLINICAL.md §3: a safety alert is acknowledged ("I am on it"), then resolved with the documented risk level.
ALERT_STATUSES = ("open", "acknowledged", "resolved")
# Still waiting on a clinician: unacknowledged, or a safety alert acknowledged but not resolved.
UNRESOLVED_STATUSES = ("open", "acknowledged")
# CLINICAL.md §3: escalation in steps, each once: 1 the backup contact, 2 every clinician and admin with a phone.
ESCALATION_STEPS = 2
RISK_LEVELS = ("low", "moderate", "high")


class Alert(Base):
    __tablename__ = "alert"
    __table_args__ = (
        one_of("kind", ALERT_KINDS),
        one_of("cause", ALERT_CAUSES),
        one_of("status", ALERT_STATUSES),
        sa.CheckConstraint("risk_level IS NULL OR risk_level IN ('low', 'moderate', 'high')", name="risk_level"),
        sa.CheckConstraint(
            "screener_suggested IS NULL OR screener_suggested IN ('low', 'moderate', 'high')",
            name="screener_suggested",
        ),
        sa.CheckConstraint(
            "status != 'acknowledged' OR (acknowledged_at IS NOT NULL AND acknowledged_by_id IS NOT NULL)",
            name="acknowledged_by_whom",
        ),
        sa.CheckConstraint(
            "status != 'resolved' OR (resolved_at IS NOT NULL AND resolved_by_id IS NOT NULL)",
            name="resolved_by_whom",
        ),
        between("escalation_step", 0, ESCALATION_STEPS, nullable=False),
        # CLINICAL.md §3: one open safety alert per patient; later positive item 9s join it.
        sa.Index(
            "uq_alert_one_open_safety",
            "patient_id",
            unique=True,
            sqlite_where=sa.text("kind = 'safety' AND status IN ('open', 'acknowledged')"),
            postgresql_where=sa.text("kind = 'safety' AND status IN ('open', 'acknowledged')"),
        ),
        sa.Index("ix_alert_clinic_status", "clinic_id", "status", "raised_at"),
        # The escalation job reads open alerts by deadline.
        sa.Index("ix_alert_status_deadline", "status", "deadline"),
        sa.Index("ix_alert_status_escalate_at", "status", "escalate_at"),
    )

    id: Mapped[uuid.UUID] = id_column()
    patient_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    clinic_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("clinic.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    cause: Mapped[str] = mapped_column(sa.String(24))
    reason: Mapped[str] = mapped_column(sa.String(300))
    checkin_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("checkin.id", ondelete="SET NULL"))
    booster_request_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("booster_request.id", ondelete="SET NULL")
    )
    # Jobs that raise "once per gap" alerts name the gap here; the unique index makes it once.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    raised_at: Mapped[datetime] = mapped_column(default=system_now)
    deadline: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]  # the first step: the backup contact
    escalated_all_at: Mapped[datetime | None]  # the second step: every clinician and admin with a phone
    escalation_step: Mapped[int] = mapped_column(default=0, server_default="0")
    escalate_at: Mapped[datetime | None]  # when the next step is due if nobody acknowledges; None: no step left
    # CLINICAL.md §3: the highest item 9 answer among the check-ins that raised it (3, "nearly every day", highest).
    highest_item9: Mapped[int | None]
    # CLINICAL.md §3 over SMS: what the patient replied at item 9 instead of 0-3, shown to staff only.
    reply_text: Mapped[str | None] = mapped_column(sa.String(2000))
    acknowledged_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    acknowledged_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(sa.String(2000))  # the acknowledgement's note
    risk_level: Mapped[str | None] = mapped_column(sa.String(10))
    resolved_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None]
    action: Mapped[str | None] = mapped_column(sa.String(2000))  # what was done (resolve)
    resolution_note: Mapped[str | None] = mapped_column(sa.String(2000))
    # CLINICAL.md §7: the C-SSRS screener at resolve: its answers (tracker.cssrs.Answers.as_dict), the level its
    # triage suggested (risk_level is the clinician's), or why it was not asked.
    screener: Mapped[dict[str, bool | None] | None] = mapped_column(JSONType)
    screener_suggested: Mapped[str | None] = mapped_column(sa.String(10))
    screener_not_done: Mapped[str | None] = mapped_column(sa.String(300))

    patient: Mapped[Patient] = relationship(viewonly=True)
    checkin_links: Mapped[list[AlertCheckIn]] = relationship(
        back_populates="alert", cascade="all, delete-orphan", order_by="AlertCheckIn.added_at"
    )

    @property
    def checkin_ids(self) -> list[uuid.UUID]:
        """Every check-in that raised or joined this alert, in the order they came."""
        return [link.checkin_id for link in self.checkin_links]

    @property
    def is_unresolved(self) -> bool:
        return self.status in UNRESOLVED_STATUSES

    @property
    def shown_note(self) -> str | None:
        """The note API.md's alert carries: the resolution's once resolved, the acknowledgement's before."""
        return self.resolution_note if self.status == "resolved" else self.note

    @property
    def screener_rows(self) -> list[tuple[int | str, str, str]]:
        """CLINICAL.md §7: the screener's questions with the answers kept, in words (none when not asked)."""
        answers = cssrs.from_stored(self.screener)
        return cssrs.shown(answers) if answers is not None else []

    @property
    def highest_is_nearly_every_day(self) -> bool:
        """CLINICAL.md §3: "nearly every day" (3) is marked as the highest answer."""
        return self.highest_item9 == 3


class AlertCheckIn(Base):
    """CLINICAL.md §3: a check-in with a positive item 9 that raised or joined a safety alert."""

    __tablename__ = "alert_checkin"
    __table_args__ = (between("item9", 0, 3, nullable=False),)

    alert_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("alert.id", ondelete="CASCADE"), primary_key=True)
    checkin_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("checkin.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    item9: Mapped[int]
    added_at: Mapped[datetime] = mapped_column(default=system_now)

    alert: Mapped[Alert] = relationship(back_populates="checkin_links")
