"""The dispatcher under faults, at bench size: a fake Twilio failing a share of calls (500s and timeouts), and a
scheduler process killed with SIGKILL mid-dispatch, then restarted. Prints what reached Twilio against the outbox.

    .venv/bin/python -m bench.faults --url postgresql+psycopg://postgres@127.0.0.1:5432/bench_p200 --messages 500

The texts are queued afresh in the bench database (purpose "bench-faults") and sent to tests/fake_twilio.py on
127.0.0.1; the database keeps them. Bounded: every loop has a count and a deadline.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bench.harness import DEFAULT_NOW, database_url, make_app

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent
PURPOSE = "bench-faults"


def fake_twilio() -> Any:
    sys.path.insert(0, str(ROOT / "tests"))
    return importlib.import_module("fake_twilio")  # the tests' fake Twilio, not a package


def environ(fake: Any, rate: float) -> dict[str, str]:
    return {
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE_URL": fake.base_url,
        "SMS_RATE_PER_SECOND": str(rate),
        "SMS_MAX_ATTEMPTS": "20",
    }


def queue(url: str, now: datetime, count: int, tag: str) -> list[str]:
    """`count` texts due now, each body unique (`tag` n), to the bench patients' phones."""
    from tracker.extensions import db
    from tracker.models import OutboundMessage, Patient

    app = make_app(url, now)
    with app.app_context():
        phones = list(db.session.scalars(sa.select(Patient.phone).order_by(Patient.id).limit(count)))
        bodies = [f"{tag} {n}" for n in range(count)]
        db.session.execute(
            sa.insert(OutboundMessage),
            [
                {
                    "to_phone": phones[n % len(phones)],
                    "body": body,
                    "purpose": PURPOSE,
                    "status": "queued",
                    "next_attempt_at": now - timedelta(seconds=1),
                    "created_at": now - timedelta(seconds=1),
                }
                for n, body in enumerate(bodies)
            ],
        )
        db.session.commit()
        db.engine.dispose()
    return bodies


def statuses(url: str, bodies: list[str]) -> Counter[str]:
    from tracker.models import OutboundMessage

    engine = sa.create_engine(database_url(url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(OutboundMessage.status).where(
                    OutboundMessage.body.in_(bodies), OutboundMessage.purpose == PURPOSE
                )
            )
            return Counter(status for (status,) in rows)
    finally:
        engine.dispose()


def drain(url: str, now: datetime, env: dict[str, str], timeout: float, deadline: float) -> datetime:
    """Run the dispatcher until nothing of ours is left to send, moving the clock past each retry's wait."""
    from tracker.extensions import db
    from tracker.jobs.dispatch_sms import dispatch
    from tracker.models import OutboundMessage

    while time.monotonic() < deadline:
        app = make_app(url, now, ENVIRON=env, TWILIO_TIMEOUT_SECONDS=timeout)  # a setting, not an environment one
        with app.app_context():
            dispatch(db.session, now)
            left = db.session.scalar(
                sa.select(sa.func.count()).where(
                    OutboundMessage.purpose == PURPOSE, OutboundMessage.status.in_(("queued", "sending"))
                )
            )
            db.session.remove()
            db.engine.dispose()
        if not left:
            return now
        now += timedelta(hours=1)
    raise SystemExit("the outbox did not drain before the deadline")


def failing_twilio(url: str, count: int, rate: float, share: float) -> bool:
    fake_module = fake_twilio()
    now = DEFAULT_NOW + timedelta(days=30)
    bodies = queue(url, now, count, f"faults-{int(time.time())}")
    with fake_module.FakeTwilio() as fake:
        fake.fail_randomly(share, seed=11, timeout_share=0.5, delay=0.8)
        began = time.monotonic()
        drain(url, now, environ(fake, rate), 0.4, began + 600)
        took = time.monotonic() - began
        entries = [m for m in fake.messages if m["Body"] in set(bodies)]
    answered = Counter(m["Body"] for m in entries if m["answer"] == 201 and not m["delay"])
    timed_out = Counter(m["Body"] for m in entries if m["answer"] == 201 and m["delay"])
    errors = sum(1 for m in entries if m["answer"] == 500)
    doubled = [b for b in bodies if answered[b] + timed_out[b] > 1]
    once = all(answered[b] == 1 for b in bodies)
    ok = once and all(timed_out[b] for b in doubled)
    outbox = dict(statuses(url, bodies))
    print(
        f"| Twilio failing {share:.0%} (half 500s, half timeouts) | {count} texts | {took:.1f} s | "
        f"{len(entries)} requests: {errors} 500s, {sum(timed_out.values())} timeouts | outbox {outbox} | "
        f"answered once each: {once}; doubled {len(doubled)}, all after a timeout: {ok} |"
    )
    return ok


def killed_scheduler(url: str, count: int, rate: float) -> bool:
    fake_module = fake_twilio()
    now = DEFAULT_NOW + timedelta(days=31)
    bodies = queue(url, now, count, f"kill-{int(time.time())}")
    with fake_module.FakeTwilio() as fake:
        child = subprocess.Popen(  # noqa: S603  (this interpreter, the tests' own script)
            [
                sys.executable,
                str(ROOT / "tests" / "dispatch_child.py"),
                database_url(url),
                fake.base_url,
                fake.account_sid,
                fake.auth_token,
                str(rate),
                now.isoformat(),
            ],
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])},
            stdout=subprocess.DEVNULL,
        )
        try:
            if not fake.wait_for_requests(count // 2, timeout=120):
                raise SystemExit("the scheduler never got halfway")
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.wait(timeout=30)
        at_kill = len(fake.messages)
        left = statuses(url, bodies)
        began = time.monotonic()
        drain(url, now + timedelta(hours=3), environ(fake, rate), 2.0, began + 600)
        reached = Counter(m["Body"] for m in fake.accepted if m["Body"] in set(bodies))
    lost = [b for b in bodies if not reached[b]]
    doubled = [b for b in bodies if reached[b] > 1]
    ok = not lost and len(doubled) <= max(1, int(rate * 0.1)) + 1
    print(
        f"| scheduler killed (SIGKILL) after {at_kill} sends, restarted | {count} texts at {rate:.0f}/s | "
        f"outbox at the kill {dict(left)} | lost {len(lost)}, doubled {len(doubled)} "
        f"(at most one group of {max(1, int(rate * 0.1))} + the send in flight) | {'ok' if ok else 'FAILED'} |"
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="a bench_* database with patients (python -m bench.generate)")
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--fail", type=float, default=0.3, help="the share of Twilio calls that fail")
    args = parser.parse_args(argv)
    print(f"load average before: {os.getloadavg()}\n\n| fault | texts | time | what Twilio got | outbox | result |")
    print("|---|---|---|---|---|---|")
    ok = failing_twilio(args.url, args.messages, args.rate, args.fail)
    ok = killed_scheduler(args.url, args.messages, args.rate) and ok
    print(f"\nload average after: {os.getloadavg()}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
