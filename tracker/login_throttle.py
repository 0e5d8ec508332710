"""How often a login may fail: per account (whatever address it comes from) and per address. Only failures count.

An attacker guessing one account's password from many addresses meets the account's limit; one guessing many
accounts from one address meets the address's; a clinic whose staff log in all morning behind one address
meets neither, since a login that succeeds is not counted. The account's limits grow: 10 failures lock it
for 15 minutes, 20 for an hour, 50 for a day. Flask-Limiter keeps the counts (memory, or Redis when several
processes serve) and answers 429 with a Retry-After that says when the next try can succeed.
"""

from __future__ import annotations

import hashlib

from flask import Response, request

ADDRESS_LIMITS = "10 per minute; 50 per hour"
ACCOUNT_LIMITS = "10 per 15 minutes; 20 per hour; 50 per day"


def failed(response: Response) -> bool:
    return response.status_code == 401


def account_key() -> str:
    """The account a login names, as the limiter counts it: normalised, and hashed so no store holds it."""
    raw = ""
    if request.is_json:
        body = request.get_json(silent=True)
        if isinstance(body, dict) and isinstance(body.get("username"), str):
            raw = body["username"]
    else:
        raw = request.form.get("username", "")
    name = "".join(raw.split()).lower()
    return "login-account:" + hashlib.sha256(name.encode()).hexdigest()
