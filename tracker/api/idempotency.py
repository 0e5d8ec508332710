"""`Idempotency-Key` on creating POSTs: a retry within 24 h gets the first answer, nothing new (API.md)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

import sqlalchemy as sa
from flask import Response, g, json, make_response, request

from tracker import clock
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.models import IdempotencyRecord
from tracker.services.retention import IDEMPOTENCY_RETENTION as RETENTION

KEY_HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
# Visible ASCII, 1 to 255 characters (a UUID, say): what a header carries unchanged through every proxy.
KEY_PATTERN = "^[!-~]{1,255}$"
KEY_PARAMETER = {
    "in": "header",
    "name": KEY_HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY_PATTERN},
    "description": "A retry with the same key within 24 h returns the first answer and creates nothing new.",
}


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.get_data(cache=True)):
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _stored(user_id: Any, key: str) -> IdempotencyRecord | None:
    return db.session.scalar(
        sa.select(IdempotencyRecord).where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
    )


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.request_hash != fingerprint:
        raise Invalid.one(KEY_HEADER, "this key was already used for a different request")
    response = Response(json.dumps(record.response_body), status=record.status_code, mimetype="application/json")
    response.headers[REPLAY_HEADER] = "true"
    return response


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps a creating view (under token_required); the creation and its record are kept together.

    The request's one commit (tracker/unit_of_work.py) keeps both or neither.
    """

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(KEY_HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not re.fullmatch(KEY_PATTERN, key):
            raise Invalid.one(KEY_HEADER, "use 1 to 255 visible ASCII characters, no spaces")
        user_id = g.api_user.id
        fingerprint = _fingerprint()
        record = _stored(user_id, key)
        if record is not None:
            if record.created_at > clock.now() - RETENTION:
                return _replay(record, fingerprint)
            db.session.delete(record)  # older than the promise: the key may be used afresh
            db.session.flush()
        response = make_response(view(*args, **kwargs))
        if not 200 <= response.status_code < 300:
            return response
        try:
            with db.session.begin_nested():
                db.session.add(
                    IdempotencyRecord(
                        user_id=user_id,
                        key=key,
                        method=request.method,
                        path=request.path[:500],
                        request_hash=fingerprint,
                        status_code=response.status_code,
                        response_body=response.get_json(),
                        created_at=clock.now(),
                    )
                )
        except sa.exc.IntegrityError:
            # The same key arrived twice at once and the other request holds it: undo this one's work
            # and answer as the other did.
            db.session.rollback()
            record = _stored(user_id, key)
            if record is None:
                raise
            return _replay(record, fingerprint)
        return response

    apidoc = wrapped.__dict__.setdefault("_apidoc", {})
    apidoc.setdefault("manual_doc", {}).setdefault("parameters", []).append(KEY_PARAMETER)
    return wrapped
