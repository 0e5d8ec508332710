"""The audit trail is written by the services that read and change a patient's record, never by the handlers.

The API and the pages call a service that scopes, audits and returns; a handler that wrote its own row could
forget it, or write it twice when two ways in share the service.
"""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "tracker"
HANDLERS = ("api", "web")
RECORD = re.compile(r"\b(audit|trail)\.record\(")
TRAIL = re.compile(r"tracker\.services\.audit\.trail\b|from tracker\.services\.audit import .*\btrail\b")


def _stray(pattern: re.Pattern[str]) -> list[str]:
    found = []
    for handlers in HANDLERS:
        for path in sorted((PACKAGE / handlers).rglob("*.py")):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line.split("#", 1)[0]):
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}")
    return found


def test_no_handler_writes_the_audit_trail() -> None:
    assert _stray(RECORD) == []


def test_no_handler_imports_the_audit_trail() -> None:
    assert _stray(TRAIL) == []


def test_the_checks_see_a_handler_that_would() -> None:
    assert RECORD.search('audit.record(staff, "patients.list", detail={"count": 1})')
    assert RECORD.search("trail.record(current_user, 'audit.read')")
    assert not RECORD.search("checkin_links.record(link, result.checkin)")
    assert TRAIL.search("from tracker.services.audit import trail as audit")
    assert TRAIL.search("from tracker.services.audit.trail import record")
    assert not TRAIL.search("from tracker.services.audit import log as audit_log")
