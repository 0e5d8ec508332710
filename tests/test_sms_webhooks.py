"""Twilio's webhooks: signatures checked with the real RequestValidator, keywords, unknown numbers, status.

The signing and texting helpers, and the `signed` fixture, are in sms_webhook.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from factories import Factory
from flask import Flask
from flask.testing import FlaskClient
from sms_webhook import PUBLIC, TEXTING_CLINIC, Fetch, inbound_params, outbox_to, post_signed, signature, texter
from werkzeug.test import TestResponse

from tracker.clock import FrozenClock
from tracker.models import Alert, Clinic, InboundMessage, OutboundMessage, Patient, SmsConversation
from tracker.services.messaging import texts as messages

CLINIC = TEXTING_CLINIC


def stored_patient(fetch: Fetch, patient: Patient) -> Patient:
    [row] = fetch(sa.select(Patient).where(Patient.id == patient.id))
    return row


def inbound_rows(fetch: Fetch) -> list[InboundMessage]:
    return fetch(sa.select(InboundMessage))


# Signatures ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/sms/inbound", "/sms/status"])
def test_a_valid_signature_passes(client: FlaskClient, signed: None, patient: Patient, path: str) -> None:
    response = post_signed(client, path, inbound_params(patient.phone, "hello"))

    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert response.get_data(as_text=True) == '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@pytest.mark.parametrize("path", ["/sms/inbound", "/sms/status"])
@pytest.mark.parametrize("tamper", ["changed parameter", "added parameter", "wrong URL", "no signature", "wrong token"])
def test_a_bad_signature_is_refused(
    client: FlaskClient, signed: None, fetch: Fetch, patient: Patient, path: str, tamper: str
) -> None:
    params = inbound_params(patient.phone, "STOP")
    good = signature(path, params)
    headers = {"X-Twilio-Signature": good}
    sent = dict(params)
    if tamper == "changed parameter":
        sent["From"] = "+13125559999"
    elif tamper == "added parameter":
        sent["Extra"] = "1"
    elif tamper == "wrong URL":  # what Flask sees behind the proxy is not what Twilio signed
        headers["X-Twilio-Signature"] = signature(path, params, url=f"http://localhost{path}")
    elif tamper == "no signature":
        del headers["X-Twilio-Signature"]
    else:
        headers["X-Twilio-Signature"] = signature(path, params, token="someone-elses-token")

    response = client.post(path, data=sent, headers=headers)

    assert response.status_code == 403
    assert inbound_rows(fetch) == []
    assert stored_patient(fetch, patient).sms_opted_out is False


def test_without_an_auth_token_everything_is_refused(
    app: Flask, client: FlaskClient, fetch: Fetch, patient: Patient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SMS_BACKEND", "console")
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", None)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", PUBLIC)
    params = inbound_params(patient.phone, "HELP")

    response = client.post(
        "/sms/inbound", data=params, headers={"X-Twilio-Signature": signature("/sms/inbound", params)}
    )

    assert response.status_code == 403
    assert inbound_rows(fetch) == []


def test_webhooks_take_posts_only(client: FlaskClient, signed: None) -> None:
    assert client.get("/sms/inbound").status_code == 405


# Inbound messages --------------------------------------------------------------------------------


def test_inbound_is_stored_once_however_often_twilio_retries(
    client: FlaskClient, signed: None, fetch: Fetch, patient: Patient
) -> None:
    params = inbound_params(patient.phone, "HELP", sid="SM" + "a" * 32)

    for _ in range(3):
        assert post_signed(client, "/sms/inbound", params).status_code == 200

    [stored] = inbound_rows(fetch)
    assert (stored.twilio_sid, stored.from_phone, stored.body, stored.patient_id) == (
        "SM" + "a" * 32,
        patient.phone,
        "HELP",
        patient.id,
    )
    assert len(outbox_to(fetch, patient.phone)) == 1


@pytest.mark.parametrize(
    "word", ["STOP", "stop", " Stop ", "S T O P", "stop.", "StopAll", "unsubscribe", "CANCEL", "End", "quit"]
)
def test_opt_out_keywords(
    client: FlaskClient, signed: None, fetch: Fetch, patient: Patient, clock: FrozenClock, word: str
) -> None:
    text = texter(client, patient.phone)
    text("CHECKIN")
    before = len(outbox_to(fetch, patient.phone))

    text(word)

    stored = stored_patient(fetch, patient)
    assert stored.sms_opted_out is True
    assert stored.sms_opted_out_at == clock()
    assert len(outbox_to(fetch, patient.phone)) == before  # Twilio confirms; we send nothing more
    [conversation] = fetch(sa.select(SmsConversation))
    assert conversation.status == "cancelled"


@pytest.mark.parametrize("word", ["START", "yes", "Unstop"])
def test_opt_in_keywords_confirm(
    client: FlaskClient, signed: None, fetch: Fetch, factory: Factory, clinic: Clinic, clock: FrozenClock, word: str
) -> None:
    patient = factory.patient(clinic, sms_opted_out=True, sms_opted_out_at=clock() - timedelta(days=3))

    texter(client, patient.phone)(word)

    stored = stored_patient(fetch, patient)
    assert stored.sms_opted_out is False and stored.sms_opted_out_at is None
    [reply] = outbox_to(fetch, patient.phone)
    assert reply.body == messages.SMS_OPTED_IN
    assert reply.patient_id == patient.id


def test_yes_in_the_middle_of_a_check_in_asks_the_item_again(
    client: FlaskClient, signed: None, fetch: Fetch, patient: Patient, clock: FrozenClock
) -> None:
    text = texter(client, patient.phone)
    text("CHECKIN")
    clock.advance(minutes=1)
    text("1")
    clock.advance(minutes=1)

    text("yes")

    latest = {m.body for m in outbox_to(fetch, patient.phone) if m.created_at == clock()}
    assert messages.SMS_OPTED_IN in latest
    assert any(body.startswith("2/9 ") for body in latest)


@pytest.mark.parametrize("word", ["HELP", "help", "Info"])
def test_help_gives_the_clinics_name_and_phone(
    client: FlaskClient, signed: None, fetch: Fetch, patient: Patient, word: str
) -> None:
    texter(client, patient.phone)(word)

    [reply] = outbox_to(fetch, patient.phone)
    assert "Lakeside Wellness" in reply.body and "+13125550199" in reply.body
    assert "988" in reply.body


def test_help_without_a_clinic_phone(client: FlaskClient, signed: None, fetch: Fetch, factory: Factory) -> None:
    patient = factory.patient(factory.clinic(name="Quiet Clinic"))

    texter(client, patient.phone)("HELP")

    [reply] = outbox_to(fetch, patient.phone)
    assert reply.body == messages.SMS_HELP_NO_PHONE.format(clinic="Quiet Clinic", lines="call or text 988")


@pytest.mark.parametrize("word", ["HELP", "CHECKIN", "2", "hello?"])
def test_an_opted_out_patient_gets_nothing(
    client: FlaskClient, signed: None, fetch: Fetch, factory: Factory, clinic: Clinic, word: str
) -> None:
    patient = factory.patient(clinic, sms_opted_out=True)

    texter(client, patient.phone)(word)

    assert outbox_to(fetch, patient.phone) == []
    assert fetch(sa.select(SmsConversation)) == []
    assert len(inbound_rows(fetch)) == 1  # still kept


def test_an_unknown_number_gets_one_neutral_reply_a_day(
    client: FlaskClient, signed: None, fetch: Fetch, clinic: Clinic, clock: FrozenClock
) -> None:
    stranger = "+14155550123"
    text = texter(client, stranger)

    text("Hi, who is this?")
    text("CHECKIN")
    text("HELP")

    [reply] = outbox_to(fetch, stranger)
    assert reply.body == messages.SMS_UNKNOWN_SENDER
    assert "tracker" not in reply.body.lower() and "Lakeside" not in reply.body
    assert (reply.patient_id, reply.clinic_id) == (None, None)
    assert fetch(sa.select(SmsConversation)) == []

    clock.advance(days=1)
    text("hello again")
    assert len(outbox_to(fetch, stranger)) == 2


@pytest.mark.parametrize(("sender", "body"), [("+14155550123", "STOP"), ("+14155550123", "quit"), ("TWILIO", "hi")])
def test_unknown_senders_that_get_nothing(
    client: FlaskClient, signed: None, fetch: Fetch, sender: str, body: str
) -> None:
    texter(client, sender)(body)

    assert fetch(sa.select(OutboundMessage)) == []
    assert len(inbound_rows(fetch)) == 1


# Status callbacks --------------------------------------------------------------------------------


def sent_message(factory: Factory, patient: Patient, sid: str, **fields: Any) -> OutboundMessage:
    with factory.session() as s:
        message = OutboundMessage(
            to_phone=fields.pop("to_phone", patient.phone),
            body=fields.pop("body", "Time for your check-in."),
            purpose=fields.pop("purpose", "reminder"),
            patient_id=patient.id,
            clinic_id=patient.clinic_id,
            status=fields.pop("status", "sent"),
            attempts=1,
            twilio_sid=sid,
            **fields,
        )
        s.add(message)
    return message


def report(client: FlaskClient, sid: str, status: str, error_code: str | None = None) -> TestResponse:
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32, "To": "+13125550001"}
    if error_code:
        params["ErrorCode"] = error_code
    return post_signed(client, "/sms/status", params)


def status_of(fetch: Fetch, sid: str) -> OutboundMessage:
    [message] = fetch(sa.select(OutboundMessage).where(OutboundMessage.twilio_sid == sid))
    return message


@pytest.mark.parametrize("final", ["delivered", "undelivered", "failed"])
def test_status_moves_a_sent_message_forward(
    client: FlaskClient, signed: None, fetch: Fetch, factory: Factory, patient: Patient, final: str
) -> None:
    sent_message(factory, patient, "SM1")

    assert report(client, "SM1", "sending").status_code == 200
    assert status_of(fetch, "SM1").status == "sent"  # not one of ours to record
    assert report(client, "SM1", final, "30003" if final != "delivered" else None).status_code == 200

    message = status_of(fetch, "SM1")
    assert message.status == final
    assert message.error_code == (30003 if final != "delivered" else None)
    assert fetch(sa.select(Alert)) == []  # not critical, and 30003 (phone off) says nothing about the number


@pytest.mark.parametrize(
    ("first", "then"),
    [("delivered", "undelivered"), ("delivered", "failed"), ("undelivered", "delivered"), ("failed", "delivered")],
)
def test_status_never_moves_backwards_or_sideways(
    client: FlaskClient, signed: None, fetch: Fetch, factory: Factory, patient: Patient, first: str, then: str
) -> None:
    sent_message(factory, patient, "SM2")
    report(client, "SM2", first)

    assert report(client, "SM2", then).status_code == 200

    assert status_of(fetch, "SM2").status == first


@pytest.mark.parametrize("status", ["queued", "cancelled"])
def test_status_leaves_unsent_and_cancelled_rows_alone(
    client: FlaskClient, signed: None, fetch: Fetch, factory: Factory, patient: Patient, status: str
) -> None:
    sent_message(factory, patient, "SM3", status=status)

    report(client, "SM3", "delivered")

    assert status_of(fetch, "SM3").status == status


def test_unknown_sids_are_ignored(client: FlaskClient, signed: None, fetch: Fetch) -> None:
    assert report(client, "SMnobody", "delivered").status_code == 200
    assert fetch(sa.select(OutboundMessage)) == []


def test_an_undelivered_critical_message_alerts_the_clinic_once(
    client: FlaskClient, signed: None, fetch: Fetch, factory: Factory, patient: Patient, clinic: Clinic
) -> None:
    message = sent_message(factory, patient, "SM4", to_phone=clinic.oncall_phone, purpose="x", critical=True)

    report(client, "SM4", "undelivered", "30003")
    report(client, "SM4", "failed", "30003")

    [alert] = fetch(sa.select(Alert))
    assert (alert.kind, alert.patient_id, alert.clinic_id) == ("attention", patient.id, clinic.id)
    assert alert.dedupe_key == f"sms-undelivered:{message.id}"


def test_a_landline_reported_by_the_carrier_flags_the_patients_number(
    client: FlaskClient, signed: None, fetch: Fetch, factory: Factory, patient: Patient
) -> None:
    sent_message(factory, patient, "SM5")

    report(client, "SM5", "undelivered", "30006")

    assert status_of(fetch, "SM5").error_code == 30006
    [alert] = fetch(sa.select(Alert))
    assert alert.kind == "attention" and "phone number" in alert.reason


def test_an_opt_out_reported_by_a_status_callback_marks_the_patient(
    client: FlaskClient, signed: None, fetch: Fetch, factory: Factory, patient: Patient
) -> None:
    sent_message(factory, patient, "SM6")

    report(client, "SM6", "failed", "21610")

    assert (status_of(fetch, "SM6").status, status_of(fetch, "SM6").error_code) == ("failed", 21610)
    assert stored_patient(fetch, patient).sms_opted_out is True
    assert fetch(sa.select(Alert)) == []


# The development outbox page ----------------------------------------------------------------------


def test_dev_page_lists_the_outbox_newest_first(
    client: FlaskClient, fetch: Fetch, factory: Factory, patient: Patient, clock: FrozenClock
) -> None:
    sent_message(factory, patient, "SMold", created_at=clock() - timedelta(hours=1), body="older <b>text</b>")
    sent_message(factory, patient, "SMnew", created_at=clock(), body="newer text")

    page = client.get("/dev/sms")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.index("newer text") < html.index("older &lt;b&gt;text&lt;/b&gt;")
    assert patient.phone in html


@pytest.mark.parametrize("environment", ["production"])
def test_dev_page_is_not_found_outside_development(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch, environment: str
) -> None:
    monkeypatch.setitem(app.config, "TRACKER_ENV", environment)

    assert client.get("/dev/sms").status_code == 404


def test_dev_page_in_development(app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "TRACKER_ENV", "development")

    assert client.get("/dev/sms").status_code == 200


@pytest.mark.parametrize("code", ["9" * 40, "-1", "1e9", "３０００３", "30003\x00", " "])
def test_an_absurd_error_code_in_a_signed_report_is_no_code_not_a_500(
    client: FlaskClient, signed: None, fetch: Fetch, factory: Factory, patient: Patient, code: str
) -> None:
    sent_message(factory, patient, "SM9")
    assert report(client, "SM9", "undelivered", code).status_code == 200
    message = status_of(fetch, "SM9")
    assert message.status == "undelivered" and message.error_code is None
