"""Ways to hand one SMS to a carrier: Twilio for real, the console for development.

The dispatcher job is the only caller: it reads outbox rows and calls
``Sender.send``. Failures come back as ``SendError`` subclasses whose
``retryable`` flag tells the dispatcher whether to try the row again.

Message bodies can identify a patient, so no exception raised here carries the
body (or Twilio's free-text error message, which may echo the phone number).
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, Self, TextIO

import requests
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from tracker.services.messaging import texts

# Twilio error codes (https://www.twilio.com/docs/api/errors) that get their own class.
OPTED_OUT_CODES = frozenset({21610})  # the recipient replied STOP
INVALID_NUMBER_CODES = frozenset({21211, 21614})  # not a valid number / not a mobile
RATE_LIMIT_CODES = frozenset({20429})

_MAY_HAVE_BEEN_ACCEPTED = "Twilio may or may not have accepted the message; a retry can send it twice"


@dataclass(frozen=True)
class SendResult:
    """What the carrier said on accepting a message."""

    sid: str
    status: str  # Twilio's status on accept: "queued", "accepted", "sent"...


class SendError(Exception):
    """A message was not handed over. ``retryable`` says whether trying again may help."""

    retryable: bool = False

    def __init__(self, message: str, *, code: int | None = None, http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status


class RetryableSendError(SendError):
    """Rate limit, Twilio outage, timeout or broken connection: try again later."""

    retryable = True


class OptedOutError(SendError):
    """The recipient has opted out (replied STOP); sending again will not help."""


class InvalidNumberError(SendError):
    """The number is not a valid (mobile) phone number."""


class PermanentSendError(SendError):
    """Twilio refused the request (bad credentials, bad parameters...)."""


class Sender(Protocol):
    """Anything that can hand one SMS to a carrier."""

    def send(self, to: str, body: str, status_callback: str | None = None) -> SendResult: ...


class ConsoleSender:
    """Prints messages instead of sending them: the development default.

    Redacted (production, asked for by name): the number is masked and one-time links are named, not shown,
    since whatever reads the console (a log collector) must not hold what opens an account or a check-in.
    """

    def __init__(self, stream: TextIO | None = None, *, redacted: bool = False) -> None:
        self._stream = stream
        self._redacted = redacted

    def send(self, to: str, body: str, status_callback: str | None = None) -> SendResult:
        # Resolved per call so pytest's capsys (which swaps sys.stdout) sees it.
        stream = self._stream if self._stream is not None else sys.stdout
        if self._redacted:
            to, body = f"…{to[-2:]}", texts.for_staff(body)
        print(f"SMS to {to}: {body}", file=stream, flush=True)
        return SendResult(sid=f"console-{uuid.uuid4().hex}", status="sent")


class TwilioSender:
    """Sends through the official twilio client, mapping its failures to ``SendError``."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        api_base_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not account_sid or not auth_token:
            raise ValueError("TwilioSender needs an account SID and an auth token")
        if bool(from_number) == bool(messaging_service_sid):
            raise ValueError("TwilioSender needs exactly one of from_number and messaging_service_sid")
        if timeout <= 0:
            raise ValueError("TwilioSender timeout must be positive")
        self.from_number = from_number or None
        self.messaging_service_sid = messaging_service_sid or None
        self.timeout = timeout
        # Without an explicit timeout requests waits forever on a stuck connection.
        self._http = TwilioHttpClient(timeout=timeout)
        self._client = Client(account_sid, auth_token, http_client=self._http)
        if api_base_url:
            # Messages live on the "api" domain, whose base_url is a plain attribute that
            # absolute_url() prefixes to every path; edge/region (read from TWILIO_EDGE /
            # TWILIO_REGION) would rewrite that host again, so they are cleared.
            self._client.api.base_url = api_base_url.rstrip("/")
            self._client.edge = None
            self._client.region = None
        session = self._http.session
        if session is not None:
            # requests reads the proxy and CA-bundle environment again on every send (a tenth of a send's
            # CPU at 100/s): read once here, for the one API this sender talks to, and kept on the session.
            once = session.merge_environment_settings(self._client.api.base_url, {}, None, None, None)
            session.proxies.update(once["proxies"] or {})
            session.verify = once["verify"]
            session.trust_env = False

    def send(self, to: str, body: str, status_callback: str | None = None) -> SendResult:
        """POST one message; raise a ``SendError`` subclass if it was not accepted."""
        params: dict[str, str] = (
            {"from_": self.from_number}
            if self.from_number
            else {"messaging_service_sid": self.messaging_service_sid or ""}
        )
        if status_callback:
            params["status_callback"] = status_callback
        try:
            message = self._client.api.v2010.account.messages.create(to=to, body=body, **params)
        except (TwilioRestException, TwilioServiceException) as exc:
            # from None: Twilio's message text may echo the recipient's number.
            raise _refusal(exc.status, exc.code) from None
        except (requests.Timeout, requests.ConnectionError) as exc:
            # The twilio client does not wrap transport errors: these are requests'.
            # A read timeout or a dropped answer may come after Twilio queued it.
            raise RetryableSendError(f"{type(exc).__name__} talking to Twilio; {_MAY_HAVE_BEEN_ACCEPTED}") from exc
        except requests.exceptions.ChunkedEncodingError as exc:
            raise RetryableSendError(f"Twilio's answer was cut off; {_MAY_HAVE_BEEN_ACCEPTED}") from exc
        except (requests.RequestException, ValueError) as exc:
            # A bad base URL, or a 2xx answer that is not Twilio's JSON.
            raise SendError(f"{type(exc).__name__} talking to Twilio; {_MAY_HAVE_BEEN_ACCEPTED}") from exc
        if not message.sid:
            raise SendError("Twilio answered without a message SID")
        return SendResult(sid=message.sid, status=str(message.status or "queued"))

    def close(self) -> None:
        """Close pooled connections (the client keeps them open between sends)."""
        if self._http.session is not None:
            self._http.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _refusal(http_status: int, raw_code: object) -> SendError:
    """Map an HTTP status and Twilio error code to the matching ``SendError``."""
    # Without a JSON error body the client puts the HTTP status in .code.
    code = raw_code if isinstance(raw_code, int) and raw_code >= 1000 else None
    where = f"HTTP {http_status}" + (f", Twilio error {code}" if code else "")
    if code is not None:
        where += f" (https://www.twilio.com/docs/errors/{code})"
    kind: type[SendError]
    if code in OPTED_OUT_CODES:
        kind, text = OptedOutError, "the recipient has opted out of messages"
    elif code in INVALID_NUMBER_CODES:
        kind, text = InvalidNumberError, "the number cannot receive SMS"
    elif http_status == 429 or code in RATE_LIMIT_CODES:
        kind, text = RetryableSendError, "Twilio is rate limiting us"
    elif http_status >= 500:
        kind, text = RetryableSendError, "Twilio failed"
    elif 400 <= http_status < 500:
        kind, text = PermanentSendError, "Twilio refused the message"
    else:
        kind, text = SendError, "Twilio answered unexpectedly"
    return kind(f"{text}: {where}", code=code, http_status=http_status)


def make_sender(config: Mapping[str, Any]) -> Sender:
    """Build the sender the app's config asks for (``SMS_BACKEND``: console or twilio)."""
    backend = str(config.get("SMS_BACKEND") or "console").strip().lower()
    if backend == "console":
        return ConsoleSender(redacted=bool(config.get("SMS_CONSOLE_REDACTED")))
    if backend != "twilio":
        raise ValueError(f"SMS_BACKEND must be 'console' or 'twilio', not {backend!r}")
    for key in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        if not config.get(key):
            raise ValueError(f"SMS_BACKEND=twilio needs {key}")
    from_number = config.get("TWILIO_FROM_NUMBER") or None
    service_sid = config.get("TWILIO_MESSAGING_SERVICE_SID") or None
    if not from_number and not service_sid:
        raise ValueError("SMS_BACKEND=twilio needs TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
    if from_number and service_sid:
        raise ValueError("Set only one of TWILIO_FROM_NUMBER and TWILIO_MESSAGING_SERVICE_SID")
    raw_timeout = config.get("TWILIO_TIMEOUT_SECONDS", 10.0)
    try:
        timeout = float(10.0 if raw_timeout in (None, "") else raw_timeout)
    except (TypeError, ValueError):
        raise ValueError(f"TWILIO_TIMEOUT_SECONDS must be a number of seconds, not {raw_timeout!r}") from None
    if timeout <= 0:
        raise ValueError("TWILIO_TIMEOUT_SECONDS must be positive")
    return TwilioSender(
        str(config["TWILIO_ACCOUNT_SID"]),
        str(config["TWILIO_AUTH_TOKEN"]),
        from_number=from_number,
        messaging_service_sid=service_sid,
        api_base_url=config.get("TWILIO_API_BASE_URL") or None,
        timeout=timeout,
    )
