"""A fake Twilio REST API on 127.0.0.1, so tests drive the real twilio client.

Only ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` is served. Every
request to it is recorded in ``FakeTwilio.messages`` (with what was answered),
so a test can say "Twilio was reached exactly once". Failures are scripted, or drawn at random from a
seeded generator (``fail_randomly``: a share of 500s and of timeouts, for the fault tests)::

    with FakeTwilio() as fake:
        fake.script(FakeTwilio.error(429, 20429, "Too Many Requests"), FakeTwilio.ok())
        sender = TwilioSender(fake.account_sid, fake.auth_token,
                              from_number="+15005550006", api_base_url=fake.base_url)
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import random
import re
import socket
import sys
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

_MESSAGES_PATH = re.compile(r"/2010-04-01/Accounts/(?P<account>[^/]+)/Messages\.json")
_API_VERSION = "2010-04-01"


@dataclass(frozen=True)
class Step:
    """One scripted answer: ``ok``, ``error`` or ``drop``, optionally after a delay."""

    kind: str
    http_status: int = 201
    code: int | None = None
    message: str = ""
    delay: float = 0.0


class FakeTwilio:
    """A threaded HTTP server answering like Twilio's Messages endpoint."""

    def __init__(
        self,
        account_sid: str = "AC" + "0123456789abcdef" * 2,
        auth_token: str = "fake-auth-token",
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[dict[str, Any]] = []
        self._script: deque[Step] = deque()
        self._failing: tuple[float, float, float] = (0.0, 0.0, 0.0)  # fail_randomly's fraction, timeouts, delay
        self._random = random.Random(0)
        self._lock = threading.Lock()
        self._recorded = threading.Condition(self._lock)
        # Set on close: wakes delayed handlers so shutdown never waits out a delay.
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="fake-twilio",
        )
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"

    # Scripted answers ------------------------------------------------------

    @staticmethod
    def ok() -> Step:
        """Accept the message: 201 with a message resource."""
        return Step("ok")

    @staticmethod
    def error(http_status: int, code: int | None, message: str) -> Step:
        """Answer with Twilio's error JSON: {"code", "message", "more_info", "status"}."""
        return Step("error", http_status=http_status, code=code, message=message)

    @staticmethod
    def delay(seconds: float, then: Step | None = None) -> Step:
        """Sleep before answering (``then``, default ok) to provoke client timeouts."""
        base = then or FakeTwilio.ok()
        return Step(base.kind, base.http_status, base.code, base.message, seconds)

    @staticmethod
    def drop() -> Step:
        """Close the connection without answering."""
        return Step("drop")

    def fail_randomly(self, fraction: float, *, seed: int = 0, timeout_share: float = 0.5, delay: float = 0.2) -> None:
        """From now on a ``fraction`` of unscripted requests fail, drawn from a seeded generator (repeatable).

        ``timeout_share`` of the failures are timeouts: accepted (201) but answered only after ``delay``, so a
        client with a shorter timeout gives up on a message Twilio has (the case where a retry sends it twice).
        The rest are 500s. ``fraction=0`` stops failing.
        """
        with self._lock:
            self._failing = (fraction, timeout_share, delay)
            self._random = random.Random(seed)

    def script(self, *steps: Step) -> None:
        """Queue answers for the next requests, in order; then it accepts again."""
        with self._lock:
            self._script.extend(steps)

    @property
    def accepted(self) -> list[dict[str, Any]]:
        """The recorded requests that were answered 201."""
        with self._lock:
            return [m for m in self.messages if m["answer"] == 201]

    # Lifecycle -------------------------------------------------------------

    def close(self) -> None:
        """Stop serving, wake delayed handlers and join every thread."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._server.shutdown()
        # daemon_threads is off, so server_close() joins the handler threads.
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # Used by the handler ---------------------------------------------------

    def _next_step(self) -> Step:
        with self._lock:
            if self._script:
                return self._script.popleft()
            fraction, timeout_share, delay = self._failing
            if fraction and self._random.random() < fraction:
                if self._random.random() < timeout_share:
                    return Step("ok", delay=delay)
                return Step("error", 500, 20500, "Internal Server Error")
            return Step("ok")

    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.messages.append(entry)
            self._recorded.notify_all()

    def wait_for_requests(self, count: int, timeout: float) -> bool:
        """Block until ``count`` requests have been recorded (True) or ``timeout`` seconds pass (False)."""
        with self._lock:
            return self._recorded.wait_for(lambda: len(self.messages) >= count, timeout)


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # joined in server_close(): no thread outlives the fake
    block_on_close = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        fake: FakeTwilio,
    ) -> None:
        self.fake = fake
        self.open_connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self.open_connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self.open_connections.discard(request)

    def server_close(self) -> None:
        """Hang up on kept-alive connections first, so their threads end now rather than at their idle timeout."""
        with self._connections_lock:
            for connection in self.open_connections:
                with contextlib.suppress(OSError):  # already gone
                    connection.shutdown(socket.SHUT_RDWR)
        super().server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about clients that hung up (timeouts do that on purpose)."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # Keep-alive, as Twilio's API: the client's pooled connection is reused, not opened per message.
    protocol_version = "HTTP/1.1"
    # The headers and the body go out as two writes: without this, Nagle holds the body back for the client's
    # delayed ACK (40 ms a message on a kept-alive connection).
    disable_nagle_algorithm = True
    timeout = 5  # a client that never sends its body cannot hold shutdown hostage

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def do_POST(self) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        match = _MESSAGES_PATH.fullmatch(urlsplit(self.path).path)
        if match is None:
            self._send_json(404, _error_json(404, 20404, "The requested resource was not found"))
            return
        form = {k: v[-1] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
        user, password = _basic_auth(self.headers.get("Authorization"))
        entry: dict[str, Any] = {
            "account_sid": match["account"],
            "auth_user": user,
            "To": form.get("To"),
            "From": form.get("From"),
            "MessagingServiceSid": form.get("MessagingServiceSid"),
            "Body": form.get("Body"),
            "StatusCallback": form.get("StatusCallback"),
            "form": form,
            "connection": self.client_address[1],  # the client's port: the same one for a reused connection
        }

        if user != fake.account_sid or password != fake.auth_token:
            step = Step("error", 401, 20003, "Authenticate")
        elif match["account"] != fake.account_sid:
            step = Step("error", 404, 20404, "The requested resource was not found")
        else:
            step = _validate(form) or fake._next_step()

        status, payload = 0, None
        if step.kind == "ok":
            status, payload = 201, _message_json(match["account"], form)
        elif step.kind == "error":
            status = step.http_status
            payload = _error_json(step.http_status, step.code, step.message)
        # What is (or, after a delay, will be) answered: an HTTP status or "dropped".
        entry["answer"] = status if payload is not None else "dropped"
        entry["delay"] = step.delay
        entry["sid"] = payload.get("sid") if payload and status == 201 else None
        fake._record(entry)  # recorded before any delay, so tests can count at once

        if step.delay and fake._stopping.wait(step.delay):
            self.close_connection = True
            return  # shutting down mid-delay: hang up instead of answering
        if payload is None:
            self.close_connection = True  # "drop": hang up without a word
            return
        self._send_json(status, payload)

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except ConnectionError:
            pass  # the client gave up (a timeout test); nothing to answer


def _basic_auth(header: str | None) -> tuple[str | None, str | None]:
    if not header or not header.lower().startswith("basic "):
        return None, None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    return user, password


def _validate(form: dict[str, str]) -> Step | None:
    """Twilio's own checks on a new message, so a sender bug is not accepted."""
    if not form.get("To"):
        return Step("error", 400, 21604, "A 'To' phone number is required.")
    if not form.get("From") and not form.get("MessagingServiceSid"):
        return Step("error", 400, 21603, "A 'From' phone number is required.")
    if not form.get("Body") and not form.get("MediaUrl"):
        return Step("error", 400, 21602, "Message body is required.")
    return None


def _error_json(status: int, code: int | None, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}" if code else None,
        "status": status,
    }


def _message_json(account_sid: str, form: dict[str, str]) -> dict[str, Any]:
    """A body shaped like Twilio's Message resource, as answered on create."""
    sid = "SM" + uuid.uuid4().hex
    now = format_datetime(datetime.now(UTC), usegmt=False)
    via_service = not form.get("From")
    uri = f"/{_API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json"
    return {
        "account_sid": account_sid,
        "api_version": _API_VERSION,
        "body": form.get("Body", ""),
        "date_created": now,
        "date_sent": None,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form.get("From"),
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        # Twilio answers "accepted" when a Messaging Service still has to pick a sender.
        "status": "accepted" if via_service else "queued",
        "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
        "to": form.get("To"),
        "uri": uri,
    }
