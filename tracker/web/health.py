"""Liveness and readiness for load balancers and the operator on call."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from tracker.services import health

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz() -> ResponseReturnValue:
    report = health.readiness()
    return jsonify(report.as_dict()), (200 if report.ready else 503)
