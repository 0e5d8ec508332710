"""Reading booster requests: the open one of a patient, a clinic's lists, the infusion that answered each."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from tracker.db import ids_in
from tracker.errors import Invalid, NotFound
from tracker.extensions import db
from tracker.models import BoosterRequest, Infusion, Patient, User
from tracker.models.booster import OPEN_STATUSES, REQUEST_STATUSES
from tracker.services import scope
from tracker.services.audit import trail as audit


def open_requests(patient_ids: Collection[uuid.UUID] | sa.Select[Any]) -> dict[uuid.UUID, BoosterRequest]:
    """Each patient's open request (open, approved or scheduled); a unique index keeps it to one each."""
    if not isinstance(patient_ids, sa.Select) and not patient_ids:
        return {}
    among = (
        BoosterRequest.patient_id.in_(patient_ids)
        if isinstance(patient_ids, sa.Select)
        else ids_in(db.session, BoosterRequest.patient_id, list(patient_ids))
    )
    rows = db.session.scalars(sa.select(BoosterRequest).where(among, BoosterRequest.status.in_(OPEN_STATUSES)))
    return {row.patient_id: row for row in rows}


def open_request_for(patient_id: uuid.UUID) -> BoosterRequest | None:
    """The patient's open request, if any."""
    return open_requests([patient_id]).get(patient_id)


def get_request_for_staff(staff: User, request_id: str | uuid.UUID) -> BoosterRequest:
    """The request if it belongs to the staff member's clinic; NotFound otherwise."""
    query = scope.scoped_to_clinic(staff, sa.select(BoosterRequest), BoosterRequest.clinic_id)
    request = db.session.scalar(query.where(BoosterRequest.id == scope.parse_id(request_id)))
    if request is None:
        raise NotFound("No such booster request.")
    return request


def requests_query(
    staff: User, status: str | Sequence[str] | None = None, patient_id: str | uuid.UUID | None = None
) -> sa.Select[tuple[BoosterRequest]]:
    """The clinic's requests, urgent first, then the oldest (API.md); a query, so callers can page it.

    `status` is one status or several (OPEN_STATUSES for every request that counts as open).
    """
    statuses = [status] if isinstance(status, str) else list(status or ())
    if any(s not in REQUEST_STATUSES for s in statuses):
        raise Invalid.one("status", f"use one of {', '.join(REQUEST_STATUSES)}")
    query = scope.scoped_to_clinic(staff, sa.select(BoosterRequest), BoosterRequest.clinic_id)
    if statuses:
        query = query.where(BoosterRequest.status.in_(statuses))
    if patient_id is not None:
        query = query.where(BoosterRequest.patient_id == scope.parse_id(patient_id))
    return query.order_by(
        sa.case((BoosterRequest.urgency == "urgent", 0), else_=1), BoosterRequest.raised_at, BoosterRequest.id
    )


def requests_for_clinic(
    staff: User,
    status: str | Sequence[str] | None = None,
    patient_id: str | uuid.UUID | None = None,
    limit: int = 200,
) -> list[BoosterRequest]:
    """The staff member's clinic's requests (see requests_query), the read written to the audit log."""
    found = list(db.session.scalars(requests_query(staff, status, patient_id).limit(limit)))
    detail = {"status": status if status is None or isinstance(status, str) else list(status)}
    audit.record(staff, "booster.list", detail={**detail, "patient_id": str(patient_id) if patient_id else None})
    return found


def list_for_staff(
    staff: User, status: str | None = None, patient_id: str | None = None
) -> sa.Select[tuple[BoosterRequest]]:
    """The clinic's requests as the list asks for them, their evidence loaded, as a query for the caller to page.

    `status=open` means every request that counts as open (API.md); a patient of another clinic is not found.
    The read is written to the audit log (booster.list) with the filters as asked.
    """
    if patient_id:
        scope.get_patient_for_staff(staff, patient_id)
    statuses: str | Sequence[str] | None = OPEN_STATUSES if status == "open" else status
    query = requests_query(staff, statuses, patient_id).options(selectinload(BoosterRequest.evidence))
    audit.record(staff, "booster.list", detail={"status": status, "patient_id": patient_id})
    return query


def requests_for_patient(patient: Patient) -> list[BoosterRequest]:
    """A patient's own requests, newest first (GET /booster-requests)."""
    query = sa.select(BoosterRequest).where(BoosterRequest.patient_id == patient.id)
    return list(db.session.scalars(query.order_by(BoosterRequest.raised_at.desc(), BoosterRequest.id)))


def infusion_for(request: BoosterRequest) -> Infusion | None:
    """The infusion booked for or completing the request (API.md infusion_id): a live one before a cancelled one."""
    return db.session.scalar(
        sa.select(Infusion)
        .where(Infusion.booster_request_id == request.id)
        .order_by(sa.case((Infusion.status == "cancelled", 1), else_=0), Infusion.created_at.desc())
        .limit(1)
    )


def infusion_ids_for(requests: Sequence[BoosterRequest]) -> dict[uuid.UUID, uuid.UUID]:
    """`infusion_for` for a whole page of requests in one query (a live infusion before a cancelled one)."""
    if not requests:
        return {}
    rows = db.session.execute(
        sa.select(Infusion.booster_request_id, Infusion.id)
        .where(Infusion.booster_request_id.in_([r.id for r in requests]))
        .order_by(sa.case((Infusion.status == "cancelled", 0), else_=1), Infusion.created_at)
    ).all()
    # Later rows win: the ordering puts the live, newest infusion of each request last.
    return {request_id: infusion_id for request_id, infusion_id in rows if request_id is not None}


@dataclass(frozen=True)
class RequestWithInfusion:
    """A booster request and the infusion booked for or completing it, if any (API.md `infusion_id`)."""

    request: BoosterRequest
    infusion_id: uuid.UUID | None


def with_infusions(requests: Sequence[BoosterRequest]) -> list[RequestWithInfusion]:
    """Each request with its infusion's id (see infusion_ids_for), in one query for them all."""
    infusion_ids = infusion_ids_for(requests)
    return [RequestWithInfusion(request, infusion_ids.get(request.id)) for request in requests]


def with_infusion(request: BoosterRequest) -> RequestWithInfusion:
    return with_infusions([request])[0]
