"""The data model, a module per aggregate; importing this registers every table."""

from tracker.models.access import ApiToken, CheckinLink, Invitation, WebSession
from tracker.models.alert import Alert, AlertCheckIn
from tracker.models.audit import AuditEvent
from tracker.models.base import Base
from tracker.models.booster import BoosterEvidence, BoosterRequest
from tracker.models.checkin import CheckIn
from tracker.models.clinic import Clinic
from tracker.models.idempotency import IdempotencyRecord
from tracker.models.infusion import Infusion
from tracker.models.medicine import PatientMedicine
from tracker.models.messaging import InboundMessage, OutboundMessage, SmsConversation
from tracker.models.patient import Patient, PhaseChange
from tracker.models.patient_summary import PatientSummaryRow
from tracker.models.scheduler import SchedulerHeartbeat
from tracker.models.send_limiter import SendLimiter
from tracker.models.side_effect import SideEffectReport
from tracker.models.user import User

__all__ = [
    "Alert",
    "AlertCheckIn",
    "ApiToken",
    "AuditEvent",
    "Base",
    "BoosterEvidence",
    "BoosterRequest",
    "CheckIn",
    "CheckinLink",
    "Clinic",
    "IdempotencyRecord",
    "InboundMessage",
    "Infusion",
    "Invitation",
    "OutboundMessage",
    "Patient",
    "PatientMedicine",
    "PatientSummaryRow",
    "PhaseChange",
    "SchedulerHeartbeat",
    "SendLimiter",
    "SideEffectReport",
    "SmsConversation",
    "User",
    "WebSession",
]
