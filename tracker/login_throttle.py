"""How often a login may fail: per account (whatever address it comes from) and per address. Only failures count.

An attacker guessing one account's password from many addresses meets the account's limit; one guessing many
accounts from one address meets the address's; a clinic whose staff log in all morning behind one address
meets neither, since a login that succeeds is not counted. The account's limits grow: 10 failures lock it
for 15 minutes, 20 for an hour, 50 for a day. Flask-Limiter keeps the counts (memory, or Redis when several
processes serve) and answers 429; `retry_after` says when the next try can succeed, for the Retry-After
header and the words of the page and the problem alike.
"""

from __future__ import annotations

import hashlib
import math
import time

from flask import Response, after_this_request, request

from tracker.extensions import limiter

ADDRESS_LIMITS = "10 per minute; 50 per hour"
ACCOUNT_LIMITS = "10 per 15 minutes; 20 per hour; 50 per day"
# Asking for a password reset answers 202 whatever happens and may text a link, so every request counts, shared
# by the page and the API (RESET_SCOPE): an address meets ADDRESS_LIMITS, a number gets at most these texts.
RESET_ACCOUNT_LIMITS = "3 per 15 minutes; 10 per day"
RESET_SCOPE = "password-reset"
# How long a reset request takes to answer, whoever it names: texting a patient writes rows, naming nobody writes
# none, and the difference must not tell an onlooker which it was.
RESET_ANSWER_SECONDS = 0.2


def failed(response: Response) -> bool:
    return response.status_code == 401


def named_username() -> str:
    """The username a login or reset request names, from its JSON body or its form; empty if none."""
    if request.is_json:
        body = request.get_json(silent=True)
        if isinstance(body, dict) and isinstance(body.get("username"), str):
            return str(body["username"])
        return ""
    return request.form.get("username", "")


def named_account() -> str:
    """The account a request names as it is stored, however it is typed ("(312) 555-0142" and "+13125550142" are
    one number), hashed so no limiter store holds it: another spelling earns no more guesses and no more texts."""
    from tracker.services.accounts.users import normalize_email, normalize_phone

    raw = named_username()
    name = (normalize_email(raw) if "@" in raw else normalize_phone(raw)) or "".join(raw.split()).lower()
    return hashlib.sha256(name.encode()).hexdigest()


def account_key() -> str:
    return "login-account:" + named_account()


def reset_account_key() -> str:
    return "reset-account:" + named_account()


def retry_after() -> int:
    """Whole seconds until every limit this request broke lets a try through: the longest lock, not the first.

    The limiter tests each of a request's limits (RATELIMIT_FAIL_ON_FIRST_BREACH off) and keeps their windows
    in its store, whose clock is the process's (Redis gives time to live, read against it too).
    """
    now = time.time()
    resets = [limit.window.reset_time for limit in limiter.current_limits if limit.breached]
    if not resets:
        return 60  # a 429 raised without a limiter window: a minute, as the limits' smallest window
    return max(1, math.ceil(max(resets) - now))


def wait_in_words(seconds: int) -> str:
    """ "4 minutes": the wait rounded up, so a patient who waits as long as told is let in."""
    if seconds < 60:
        amount, unit = seconds, "second"
    elif seconds < 2 * 3600:
        amount, unit = math.ceil(seconds / 60), "minute"
    else:
        amount, unit = math.ceil(seconds / 3600), "hour"
    return f"{amount} {unit}{'' if amount == 1 else 's'}"


def answer_no_sooner_than(seconds: float) -> None:
    """Hold this request's answer until `seconds` after now, once its work is committed (after_this_request
    runs after the unit of work), so the answer takes the same time whatever the work was."""
    deadline = time.monotonic() + seconds

    @after_this_request
    def wait(response: Response) -> Response:
        if (left := deadline - time.monotonic()) > 0:
            time.sleep(left)
        return response
