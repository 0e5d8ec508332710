"""A scheduler process that runs the dispatcher once, for tests that kill it mid-dispatch (test_sms_faults.py).

python tests/dispatch_child.py DATABASE_URL TWILIO_BASE_URL ACCOUNT_SID AUTH_TOKEN RATE NOW_ISO
"""

from __future__ import annotations

import sys
from datetime import datetime

from tracker import create_app
from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.jobs.dispatch_sms import dispatch


def main(url: str, base_url: str, account_sid: str, auth_token: str, rate: str, now_iso: str) -> None:
    now = datetime.fromisoformat(now_iso)
    environ = {
        "TRACKER_ENV": "test",
        "DATABASE_URL": url,
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": account_sid,
        "TWILIO_AUTH_TOKEN": auth_token,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE_URL": base_url,
        "SMS_RATE_PER_SECOND": rate,
    }
    app = create_app({"ENVIRON": environ, "CLOCK": FrozenClock(now), "FAST_PASSWORD_HASHES_IN_TESTS": True})
    with app.app_context():
        print("dispatching", flush=True)
        print(dispatch(db.session, now), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:7])
