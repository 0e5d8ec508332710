"""The SMS senders: the real twilio client against a fake Twilio server."""

from __future__ import annotations

import io
import re
import socket
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fake_twilio import FakeTwilio, Step

from tracker.services.messaging.senders import (
    ConsoleSender,
    InvalidNumberError,
    OptedOutError,
    PermanentSendError,
    RetryableSendError,
    SendError,
    TwilioSender,
    make_sender,
)

TO = "+15558675310"
FROM = "+15005550006"
SERVICE_SID = "MG" + "ab" * 16
# Distinctive, so a leak into an exception or traceback is easy to spot.
BODY = "Hi Pat Example, your PHQ-9 check-in is due: https://t.example/c/abc123"

MakeSender = Callable[..., TwilioSender]


@pytest.fixture
def make_twilio(fake: FakeTwilio) -> Iterator[MakeSender]:
    """Build TwilioSenders pointed at the fake; close their connection pools after."""
    senders: list[TwilioSender] = []

    def build(**overrides: Any) -> TwilioSender:
        kwargs: dict[str, Any] = {
            "from_number": FROM,
            "api_base_url": fake.base_url,
            "timeout": 5.0,
        }
        kwargs.update(overrides)
        account_sid = kwargs.pop("account_sid", fake.account_sid)
        auth_token = kwargs.pop("auth_token", fake.auth_token)
        sender = TwilioSender(account_sid, auth_token, **kwargs)
        senders.append(sender)
        return sender

    yield build
    for sender in senders:
        sender.close()


def send_failing(sender: TwilioSender) -> SendError:
    with pytest.raises(SendError) as info:
        sender.send(TO, BODY)
    return info.value


# Sending ------------------------------------------------------------------


def test_message_reaches_twilio_once(fake: FakeTwilio, make_twilio: MakeSender) -> None:
    result = make_twilio().send(TO, BODY, status_callback="https://t.example/sms/status")

    assert len(fake.messages) == 1
    got = fake.messages[0]
    assert got["To"] == TO
    assert got["From"] == FROM
    assert got["Body"] == BODY
    assert got["MessagingServiceSid"] is None
    assert got["StatusCallback"] == "https://t.example/sms/status"
    assert got["account_sid"] == fake.account_sid
    assert got["auth_user"] == fake.account_sid
    assert got["answer"] == 201
    assert result.sid == got["sid"]
    assert re.fullmatch(r"SM[0-9a-f]{32}", result.sid)
    assert result.status == "queued"


def test_status_callback_is_left_out_when_not_given(fake: FakeTwilio, make_twilio: MakeSender) -> None:
    make_twilio().send(TO, BODY)

    assert "StatusCallback" not in fake.messages[0]["form"]


def test_messaging_service_variant(fake: FakeTwilio, make_twilio: MakeSender) -> None:
    sender = make_twilio(from_number=None, messaging_service_sid=SERVICE_SID)

    result = sender.send(TO, BODY)

    assert len(fake.messages) == 1
    got = fake.messages[0]
    assert got["MessagingServiceSid"] == SERVICE_SID
    assert got["From"] is None
    assert got["Body"] == BODY
    assert result.status == "accepted"


def test_sender_reuses_itself_across_sends(fake: FakeTwilio, make_twilio: MakeSender) -> None:
    sender = make_twilio()

    sids = {sender.send(TO, f"message {n}").sid for n in range(3)}

    assert len(sids) == 3
    assert [m["Body"] for m in fake.accepted] == ["message 0", "message 1", "message 2"]
    assert len({m["connection"] for m in fake.accepted}) == 1  # one kept-alive connection for all three


def test_the_proxy_environment_is_read_once_when_the_sender_is_built(
    monkeypatch: pytest.MonkeyPatch, make_twilio: MakeSender
) -> None:
    """requests would read it again for every send; a proxy the operator set is still used."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    sender = make_twilio(api_base_url="https://api.twilio.example")

    session = sender._http.session
    assert session is not None and session.trust_env is False
    assert session.proxies["https"] == "http://proxy.internal.example:3128"


# Failures -----------------------------------------------------------------


def test_wrong_auth_token_is_permanent(fake: FakeTwilio, make_twilio: MakeSender) -> None:
    error = send_failing(make_twilio(auth_token="not-the-token"))

    assert type(error) is PermanentSendError
    assert error.http_status == 401
    assert error.code == 20003
    assert error.retryable is False
    assert [m["answer"] for m in fake.messages] == [401]


@pytest.mark.parametrize(
    ("step", "http_status", "code"),
    [
        pytest.param(FakeTwilio.error(429, 20429, "Too Many Requests"), 429, 20429, id="429"),
        pytest.param(FakeTwilio.error(400, 20429, "Too Many Requests"), 400, 20429, id="20429"),
        pytest.param(FakeTwilio.error(500, 20500, "Internal Server Error"), 500, 20500, id="500"),
        pytest.param(FakeTwilio.error(503, 20503, "Service Unavailable"), 503, 20503, id="503"),
        pytest.param(
            FakeTwilio.error(503, None, "Service Unavailable"),
            503,
            None,
            id="503-no-code",
        ),
    ],
)
def test_rate_limits_and_outages_are_retryable(
    fake: FakeTwilio,
    make_twilio: MakeSender,
    step: Step,
    http_status: int,
    code: int | None,
) -> None:
    fake.script(step)

    error = send_failing(make_twilio())

    assert type(error) is RetryableSendError
    assert error.retryable is True
    assert error.http_status == http_status
    assert error.code == code
    assert len(fake.messages) == 1


def test_script_runs_out_and_twilio_accepts_again(fake: FakeTwilio, make_twilio: MakeSender) -> None:
    fake.script(FakeTwilio.error(503, 20503, "Service Unavailable"))
    sender = make_twilio()

    with pytest.raises(RetryableSendError):
        sender.send(TO, BODY)
    sender.send(TO, BODY)

    assert [m["answer"] for m in fake.messages] == [503, 201]


def test_timeout_is_retryable_and_says_it_may_have_been_sent(fake: FakeTwilio, make_twilio: MakeSender) -> None:
    fake.script(FakeTwilio.delay(1.5))

    error = send_failing(make_twilio(timeout=0.5))

    assert type(error) is RetryableSendError
    assert error.http_status is None
    assert "may or may not" in str(error)
    assert len(fake.messages) == 1  # reached once: the client did not retry on its own


def test_dropped_connection_is_retryable(fake: FakeTwilio, make_twilio: MakeSender) -> None:
    fake.script(FakeTwilio.drop())

    error = send_failing(make_twilio())

    assert type(error) is RetryableSendError
    assert "may or may not" in str(error)
    assert [m["answer"] for m in fake.messages] == ["dropped"]


def test_unreachable_twilio_is_retryable() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with TwilioSender(
        "AC" + "0" * 32,
        "token",
        from_number=FROM,
        api_base_url=f"http://127.0.0.1:{port}",
    ) as sender:
        error = send_failing(sender)

    assert type(error) is RetryableSendError


def test_opted_out_recipient(fake: FakeTwilio, make_twilio: MakeSender) -> None:
    fake.script(FakeTwilio.error(400, 21610, "Attempt to send to unsubscribed recipient"))

    error = send_failing(make_twilio())

    assert type(error) is OptedOutError
    assert error.retryable is False
    assert error.code == 21610
    assert error.http_status == 400


@pytest.mark.parametrize("code", [21211, 21614])
def test_invalid_number(fake: FakeTwilio, make_twilio: MakeSender, code: int) -> None:
    fake.script(FakeTwilio.error(400, code, f"The 'To' number {TO} is not a valid phone number."))

    error = send_failing(make_twilio())

    assert type(error) is InvalidNumberError
    assert error.retryable is False
    assert error.code == code


@pytest.mark.parametrize(("http_status", "code"), [(400, 21606), (400, 21408), (403, 20008), (404, 20404)])
def test_other_client_errors_are_permanent(
    fake: FakeTwilio, make_twilio: MakeSender, http_status: int, code: int
) -> None:
    fake.script(FakeTwilio.error(http_status, code, "Refused"))

    error = send_failing(make_twilio())

    assert type(error) is PermanentSendError
    assert error.retryable is False
    assert (error.http_status, error.code) == (http_status, code)


@pytest.mark.parametrize(
    "step",
    [
        pytest.param(
            FakeTwilio.error(400, 21211, f"The 'To' number {TO} is not valid."),
            id="21211",
        ),
        pytest.param(FakeTwilio.error(400, 21617, f"Body too long: {BODY}"), id="echoing-400"),
        pytest.param(FakeTwilio.error(500, 20500, "Internal Server Error"), id="500"),
        pytest.param(FakeTwilio.drop(), id="drop"),
    ],
)
def test_errors_never_carry_the_body_or_number(fake: FakeTwilio, make_twilio: MakeSender, step: Step) -> None:
    fake.script(step)

    error = send_failing(make_twilio())

    # The whole traceback, chained causes included, is what a logger would print.
    printed = "".join(traceback.format_exception(error)) + repr(error)
    assert BODY not in printed
    assert "PHQ-9" not in printed
    assert TO not in printed


def test_wrong_credentials_error_has_no_body(fake: FakeTwilio, make_twilio: MakeSender) -> None:
    error = send_failing(make_twilio(auth_token="wrong"))

    assert BODY not in "".join(traceback.format_exception(error))


# Construction -------------------------------------------------------------


@pytest.mark.parametrize(
    "senders",
    [{}, {"from_number": FROM, "messaging_service_sid": SERVICE_SID}],
    ids=["neither", "both"],
)
def test_twilio_sender_needs_exactly_one_sender_identity(
    senders: dict[str, Any],
) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        TwilioSender("AC" + "0" * 32, "token", **senders)


# Console ------------------------------------------------------------------


def test_console_sender_prints_to_its_stream() -> None:
    stream = io.StringIO()

    result = ConsoleSender(stream).send(TO, BODY)

    assert stream.getvalue() == f"SMS to {TO}: {BODY}\n"
    assert re.fullmatch(r"console-[0-9a-f]{32}", result.sid)
    assert result.status == "sent"
    assert ConsoleSender(io.StringIO()).send(TO, BODY).sid != result.sid


def test_console_sender_defaults_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleSender().send(TO, "hello")

    assert capsys.readouterr().out == f"SMS to {TO}: hello\n"


# make_sender --------------------------------------------------------------


def twilio_config(fake: FakeTwilio, **changes: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_FROM_NUMBER": FROM,
        "TWILIO_API_BASE_URL": fake.base_url,
        "TWILIO_TIMEOUT_SECONDS": "2.5",
    }
    config.update(changes)
    return {k: v for k, v in config.items() if v is not None}


@pytest.mark.parametrize("config", [{}, {"SMS_BACKEND": "console"}], ids=["default", "console"])
def test_make_sender_console(config: dict[str, str]) -> None:
    assert isinstance(make_sender(config), ConsoleSender)


def test_make_sender_twilio_sends_through_the_configured_base_url(
    fake: FakeTwilio,
) -> None:
    sender = make_sender(twilio_config(fake))
    assert isinstance(sender, TwilioSender)
    with sender:
        sender.send(TO, BODY)

    assert sender.timeout == 2.5
    assert [(m["To"], m["From"], m["Body"]) for m in fake.accepted] == [(TO, FROM, BODY)]


def test_make_sender_twilio_with_messaging_service(fake: FakeTwilio) -> None:
    config = twilio_config(fake, TWILIO_FROM_NUMBER=None, TWILIO_MESSAGING_SERVICE_SID=SERVICE_SID)
    sender = make_sender(config)
    assert isinstance(sender, TwilioSender)
    with sender:
        sender.send(TO, BODY)

    assert fake.accepted[0]["MessagingServiceSid"] == SERVICE_SID


def test_make_sender_timeout_defaults_to_ten_seconds(fake: FakeTwilio) -> None:
    sender = make_sender(twilio_config(fake, TWILIO_TIMEOUT_SECONDS=None))
    assert isinstance(sender, TwilioSender)
    sender.close()

    assert sender.timeout == 10.0


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("TWILIO_ACCOUNT_SID", "TWILIO_ACCOUNT_SID"),
        ("TWILIO_AUTH_TOKEN", "TWILIO_AUTH_TOKEN"),
        ("TWILIO_FROM_NUMBER", "TWILIO_FROM_NUMBER"),
    ],
)
def test_make_sender_refuses_incomplete_twilio_config(fake: FakeTwilio, missing: str, named: str) -> None:
    config = twilio_config(fake)
    del config[missing]

    with pytest.raises(ValueError, match=named):
        make_sender(config)


def test_make_sender_refuses_empty_twilio_setting(fake: FakeTwilio) -> None:
    with pytest.raises(ValueError, match="TWILIO_AUTH_TOKEN"):
        make_sender(twilio_config(fake, TWILIO_AUTH_TOKEN=""))


def test_make_sender_refuses_both_sender_identities(fake: FakeTwilio) -> None:
    config = twilio_config(fake, TWILIO_MESSAGING_SERVICE_SID=SERVICE_SID)

    with pytest.raises(ValueError, match="TWILIO_MESSAGING_SERVICE_SID"):
        make_sender(config)


@pytest.mark.parametrize("timeout", ["soon", "0", "-1"])
def test_make_sender_refuses_bad_timeout(fake: FakeTwilio, timeout: str) -> None:
    with pytest.raises(ValueError, match="TWILIO_TIMEOUT_SECONDS"):
        make_sender(twilio_config(fake, TWILIO_TIMEOUT_SECONDS=timeout))


def test_make_sender_refuses_unknown_backend() -> None:
    with pytest.raises(ValueError, match="SMS_BACKEND"):
        make_sender({"SMS_BACKEND": "carrier-pigeon"})


def test_a_console_backend_asked_for_in_production_prints_no_number_or_link() -> None:
    stream = io.StringIO()
    body = "Lakeside: check in here https://tracker.example.org/c/AbC123_x-9 or set up https://t.example.org/invite/Zz9"
    ConsoleSender(stream, redacted=True).send("+13125550123", body)
    printed = stream.getvalue()
    assert "+13125550123" not in printed and "5550123" not in printed
    assert "AbC123_x-9" not in printed and "Zz9" not in printed
    assert "[check-in link]" in printed and "[invitation link]" in printed
    built = make_sender({"SMS_BACKEND": "console", "SMS_CONSOLE_REDACTED": True})
    assert isinstance(built, ConsoleSender) and built._redacted
