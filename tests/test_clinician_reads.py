"""What a clinician reads is true and plain: ages worked out when drawn, readable phone numbers, no live reminders
for a discharged patient, staff by name, texts without their links, the audit log in words, the queue that refreshes
itself, the high-risk flag, and confirmations where the page lands."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from html import unescape
from typing import Any

import sqlalchemy as sa
from conftest import TEST_NOW, AuthActions, csrf_token_from
from factories import Factory
from flask.testing import FlaskClient

from tracker.models import Alert, AuditEvent, Clinic, OutboundMessage, Patient, User
from tracker.services.alerts import writes as alerts
from tracker.services.boosters import requests as boosters

Fetch = Callable[..., list[Any]]


def page(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:1500]
    return response.get_data(as_text=True)


def login_staff(factory: Factory, auth: AuthActions, clinic: Clinic, name: str | None = "Dr Sam Lee") -> User:
    user = factory.user(clinic, email="sam.lee@example.org")
    with factory.session() as s:
        s.get(User, user.id).display_name = name  # type: ignore[union-attr]
    assert auth.login("sam.lee@example.org").status_code == 302
    return user


def safety_alert(factory: Factory, patient: Patient, minutes_ago: int = 10) -> Alert:
    raised = TEST_NOW - timedelta(minutes=minutes_ago)
    row = Alert(
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        kind="safety",
        cause="safety",
        reason="PHQ-9 item 9 answered above 0",
        raised_at=raised,
        deadline=raised + timedelta(minutes=30),
    )
    with factory.session() as s:
        s.add(row)
    return row


def resolve(factory: Factory, alert: Alert, user: User, risk: str) -> None:
    with factory.session() as s:
        alerts.resolve(
            s.get(Alert, alert.id),  # type: ignore[arg-type]
            s.get(User, user.id),  # type: ignore[arg-type]
            risk,
            "Called",
            screener_not_done="Assessed in the emergency department",
        )


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


# 1. Ages worked out when the page is drawn, in the clinic's zone


def test_the_list_says_how_long_ago_in_clinic_days_and_never_sorts_as_the_oldest(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    clinic = factory.clinic()
    today = factory.patient(clinic, display_name="Ann Today")
    factory.checkin(today, total=5, taken_at=TEST_NOW - timedelta(hours=2))
    # 11 PM in Chicago the evening before (TEST_NOW is 9 AM there): 10 hours ago, yet "yesterday".
    yesterday = factory.patient(clinic, display_name="Bo Yesterday")
    factory.checkin(yesterday, total=5, taken_at=TEST_NOW - timedelta(hours=10))
    old = factory.patient(clinic, display_name="Cy Old")
    factory.checkin(old, total=5, taken_at=TEST_NOW - timedelta(days=26))
    factory.patient(clinic, display_name="Di Never")
    login_staff(factory, auth, clinic)

    html = page(client, "/clinic/patients?sort=days_since_last&order=desc")
    words = text_of(html)
    for name, age in [("Ann Today", "today"), ("Bo Yesterday", "yesterday"), ("Cy Old", "26 days ago")]:
        assert re.search(rf"{name}.*?{age}", words), name
    assert re.search(r"Di Never.*?never", words)
    order = re.findall(r"(Ann Today|Bo Yesterday|Cy Old|Di Never)", words)
    assert order == ["Di Never", "Cy Old", "Bo Yesterday", "Ann Today"]  # the longest silence first
    words = text_of(page(client, "/clinic/patients?sort=days_since_last&order=asc"))
    order = re.findall(r"(Ann Today|Bo Yesterday|Cy Old|Di Never)", words)
    assert order == ["Ann Today", "Bo Yesterday", "Cy Old", "Di Never"]


def test_a_missed_check_in_says_its_age_as_it_is_now_not_as_it_was_when_raised(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    clinic = factory.clinic(missed_checkin_alert_days=21)
    patient = factory.patient(clinic, display_name="Quiet Q.")
    factory.checkin(patient, total=6, taken_at=TEST_NOW - timedelta(days=26))
    with factory.session() as s:
        s.add(
            Alert(
                patient_id=patient.id,
                clinic_id=clinic.id,
                kind="attention",
                cause="missed_checkin",
                reason="No check-in for 21 days (the clinic's limit is 21).",  # true five days ago
                raised_at=TEST_NOW - timedelta(days=5),
            )
        )
    login_staff(factory, auth, clinic)
    queue = text_of(page(client, "/clinic/"))
    assert "No check-in for 26 days (the clinic's limit is 21 days)." in queue and "for 21 days" not in queue
    record = text_of(page(client, f"/clinic/patients/{patient.id}"))
    assert "No check-in for 26 days" in record and "last check-in 26 days ago" in record


# 2. Phone numbers for reading; 3. no live reminders once discharged


def test_the_patient_page_shows_the_number_as_the_clinic_writes_it_and_stores_e164(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic()
    patient = factory.patient(clinic, phone="+13125550177")
    login_staff(factory, auth, clinic)
    html = page(client, f"/clinic/patients/{patient.id}")
    assert '<a href="tel:+13125550177">(312) 555-0177</a>' in html
    [stored] = fetch(sa.select(Patient.phone).where(Patient.id == patient.id))
    assert stored == "+13125550177"


def test_a_discharged_patient_is_not_said_to_have_reminders_on(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    clinic = factory.clinic()
    active = factory.patient(clinic, phase="maintenance", reminders_enabled=True)
    gone = factory.patient(clinic, phase="discharged", reminders_enabled=True)
    login_staff(factory, auth, clinic)
    assert 'Reminders <span class="hint">(on)</span>' in page(client, f"/clinic/patients/{active.id}")
    html = page(client, f"/clinic/patients/{gone.id}")
    assert "(on)</span>" not in html and "none: discharged" in html


def test_discharge_asks_for_a_reason_beside_the_field_and_keeps_the_alert_queued(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic()
    patient = factory.patient(clinic, phase="as_needed", display_name="Noor Q.")
    login_staff(factory, auth, clinic)
    with factory.session() as s:
        asking = s.get(Patient, patient.id)
        assert asking is not None
        boosters.raise_request(asking, "patient", None, "It is coming back.")
    assert "It is coming back." in text_of(page(client, "/clinic/"))
    html = page(client, f"/clinic/patients/{patient.id}")
    assert "Needed to discharge, which cancels an open booster request" in html

    def discharge(reason: str) -> Any:
        data = {"phase-csrf_token": csrf_token_from(html), "phase-phase": "discharged", "phase-reason": reason}
        return client.post(f"/clinic/patients/{patient.id}/phase", data=data)

    refused = discharge("  ")
    assert refused.status_code == 422 and 'id="phase-reason-error"' in refused.get_data(as_text=True)
    assert [p.phase for p in fetch(sa.select(Patient).where(Patient.id == patient.id))] == ["as_needed"]
    assert discharge("Course complete.").status_code == 303
    assert [p.phase for p in fetch(sa.select(Patient).where(Patient.id == patient.id))] == ["discharged"]
    # The request is cancelled by the discharge; the alert it carried is open until resolved, so still queued.
    assert "Noor Q. The patient asked for a booster infusion." in text_of(page(client, "/clinic/"))


# 4. Staff by name; 5. texts without their links


def test_who_acknowledged_and_resolved_is_named_not_emailed(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    clinic = factory.clinic()
    patient = factory.patient(clinic)
    colleague = factory.user(clinic, email="kim.ng@example.org")
    with factory.session() as s:
        s.get(User, colleague.id).display_name = "Nurse Kim Ng"  # type: ignore[union-attr]
    alert = safety_alert(factory, patient)
    with factory.session() as s:
        alerts.acknowledge(s.get(Alert, alert.id), s.get(User, colleague.id))  # type: ignore[arg-type]
    login_staff(factory, auth, clinic)
    queue = text_of(page(client, "/clinic/"))
    assert "acknowledged by Nurse Kim Ng" in queue and "kim.ng@example.org" not in queue
    resolve(factory, alert, colleague, "low")
    record = text_of(page(client, f"/clinic/patients/{patient.id}"))
    assert "Acknowledged by Nurse Kim Ng" in record and "Resolved by Nurse Kim Ng" in record
    assert "kim.ng@example.org" not in record


def test_text_history_names_the_link_a_text_carried_and_who_it_went_to(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    clinic = factory.clinic(oncall_phone="+13125550101")
    patient = factory.patient(clinic)
    colleague = factory.user(clinic, email="kim.ng@example.org", phone="+13125550188")
    with factory.session() as s:
        s.get(User, colleague.id).display_name = "Nurse Kim Ng"  # type: ignore[union-attr]
        for n, (to, body) in enumerate(
            [
                (patient.phone, "Lakeside: time for your check-in. Tap http://x.test/c/AbC_123-xyz or reply CHECKIN."),
                (patient.phone, "Set your password here (valid 72 hours): http://x.test/invite/SeCrEt_1"),
                (
                    "+13125550101",
                    "tracker: a patient needs a safety follow-up. Open the dashboard: http://x.test/clinic/",
                ),
                ("+13125550188", "tracker: a safety follow-up has not been acknowledged."),
            ]
        ):
            s.add(
                OutboundMessage(
                    patient_id=patient.id,
                    to_phone=to,
                    body=body,
                    purpose="reminder_weekly",
                    status="queued",
                    created_at=TEST_NOW - timedelta(minutes=n),
                )
            )
    login_staff(factory, auth, clinic)
    html = page(client, f"/clinic/patients/{patient.id}")
    assert "[check-in link]" in html and "[invitation link]" in html
    assert "AbC_123-xyz" not in html and "SeCrEt_1" not in html
    words = text_of(html)
    assert "the on-call contact (312) 555-0101" in words
    assert "Nurse Kim Ng (312) 555-0188" in words


def test_the_admin_names_staff_at_invitation_and_renames_them_audited(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic()
    factory.user(clinic, role="admin", email="boss@example.org")
    assert auth.login("boss@example.org").status_code == 302
    html = page(client, "/admin/staff")
    answer = client.post(
        "/admin/staff",
        data={
            "csrf_token": csrf_token_from(html),
            "email": "new.doc@example.org",
            "role": "clinician",
            "display_name": "Dr Ada Cole",
        },
    )
    assert answer.status_code == 303  # to the page that shows the invitation link once
    [member] = fetch(sa.select(User).where(User.email == "new.doc@example.org"))
    assert member.display_name == "Dr Ada Cole"

    html = page(client, "/admin/staff")
    prefix = f"name-{member.id}"
    too_long = client.post(
        f"/admin/staff/{member.id}/name",
        data={f"{prefix}-csrf_token": csrf_token_from(html), f"{prefix}-display_name": "x" * 121},
    )
    assert too_long.status_code == 422 and f'id="{prefix}-display_name-error"' in too_long.get_data(as_text=True)
    renamed = client.post(
        f"/admin/staff/{member.id}/name",
        data={f"{prefix}-csrf_token": csrf_token_from(html), f"{prefix}-display_name": "  Dr Ada Cole-Ng "},
    )
    assert renamed.status_code == 302
    [member] = fetch(sa.select(User).where(User.id == member.id))
    assert member.display_name == "Dr Ada Cole-Ng" and member.email == "new.doc@example.org"
    [event] = fetch(sa.select(AuditEvent).where(AuditEvent.action == "staff.rename"))
    assert event.detail == {"before": "Dr Ada Cole", "after": "Dr Ada Cole-Ng"}
    # Emptied: back to the email's local part, never nameless.
    client.post(
        f"/admin/staff/{member.id}/name",
        data={f"{prefix}-csrf_token": csrf_token_from(html), f"{prefix}-display_name": ""},
    )
    [member] = fetch(sa.select(User).where(User.id == member.id))
    assert member.display_name == "new.doc"


def test_a_name_another_active_colleague_is_shown_by_is_refused_beside_the_field(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic()
    boss = factory.user(clinic, role="admin", email="boss@example.org")
    doc = factory.user(clinic, email="doc@example.org")
    gone = factory.user(clinic, email="gone@example.org")
    factory.user(factory.clinic(), email="far@example.org")  # another clinic's "far": no clash
    with factory.session() as s:
        s.execute(sa.update(User).where(User.id == boss.id).values(display_name="Dr Boss"))
        s.execute(sa.update(User).where(User.id == gone.id).values(display_name="Dr Gone", active=False))
    assert auth.login("boss@example.org").status_code == 302
    html = page(client, "/admin/staff")
    prefix = f"name-{doc.id}"

    def rename(name: str) -> Any:
        return client.post(
            f"/admin/staff/{doc.id}/name",
            data={f"{prefix}-csrf_token": csrf_token_from(html), f"{prefix}-display_name": name},
        )

    taken = rename(" dr boss ")
    body = unescape(taken.get_data(as_text=True))
    assert taken.status_code == 422 and f'id="{prefix}-display_name-error"' in body
    assert "Another staff member of the clinic is already shown as dr boss" in body
    assert rename("Dr Gone").status_code == 302 and rename("far").status_code == 302  # deactivated / elsewhere
    invited = client.post(
        "/admin/staff",
        data={
            "csrf_token": csrf_token_from(html),
            "email": "new@example.org",
            "role": "clinician",
            "display_name": "DR BOSS",
        },
    )
    assert invited.status_code == 422 and "already shown as DR BOSS" in unescape(invited.get_data(as_text=True))
    assert fetch(sa.select(User).where(User.email == "new@example.org")) == []
    [doc_now] = fetch(sa.select(User).where(User.id == doc.id))
    assert doc_now.display_name == "far"


# 6. The audit log in words


def test_the_audit_log_reads_in_words_with_repeated_views_merged(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic()
    patient = factory.patient(clinic, display_name="Hayden P.")
    lee = factory.user(clinic, email="lee@example.org")
    with factory.session() as s:
        s.get(User, lee.id).display_name = "Dr Lee"  # type: ignore[union-attr]
        for minutes in (0, 3, 8, 30):  # three within ten minutes, then a visit of its own
            s.add(
                AuditEvent(
                    at=TEST_NOW - timedelta(hours=1, minutes=minutes),
                    actor_id=lee.id,
                    actor_role="clinician",
                    clinic_id=clinic.id,
                    patient_id=patient.id,
                    action="patient.read",
                    target_type="patient",
                    target_id=str(patient.id),
                )
            )
    factory.user(clinic, role="admin", email="boss@example.org")
    assert auth.login("boss@example.org").status_code == 302
    html = page(client, "/admin/audit?action=patient.read")
    words = text_of(html)
    assert "Dr Lee viewed Hayden P.'s record 3 times" in words
    assert words.count("Dr Lee viewed Hayden P.'s record") == 2
    assert "Nov 21, 2026, 8:00:00 AM CST" in words  # 14:00 UTC in Chicago
    assert len(fetch(sa.select(AuditEvent).where(AuditEvent.action == "patient.read"))) == 4  # the log keeps all


# 7. The queue refreshes itself


def test_only_the_queue_refreshes_itself(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    clinic = factory.clinic()
    patient = factory.patient(clinic)
    login_staff(factory, auth, clinic)
    refresh = '<meta http-equiv="refresh" content="60">'
    assert refresh in page(client, "/clinic/")
    assert refresh not in page(client, "/clinic/patients")
    assert refresh not in page(client, f"/clinic/patients/{patient.id}")


# 8. The high-risk flag


def test_a_high_risk_follow_up_flags_the_patient_everywhere_until_a_clinician_clears_it(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic()
    patient = factory.patient(clinic, display_name="Rae High")
    calm = factory.patient(clinic, display_name="Sol Low")
    user = login_staff(factory, auth, clinic)
    resolve(factory, safety_alert(factory, patient), user, "high")
    resolve(factory, safety_alert(factory, calm), user, "low")
    flag = "high risk at last safety follow-up"

    queue = page(client, "/clinic/")
    assert re.search(r"High risk at last safety follow-up.*Rae High", text_of(queue))
    assert "Sol Low" not in queue
    listing = text_of(page(client, "/clinic/patients"))
    assert re.search(rf"Rae High {flag}", listing) and not re.search(rf"Sol Low {flag}", listing)
    html = page(client, f"/clinic/patients/{patient.id}")
    assert "High risk at last safety follow-up" in html
    assert "High risk at last safety follow-up" not in page(client, f"/clinic/patients/{calm.id}")

    # A later follow-up at a lower level does not clear it: only a clinician does.
    resolve(factory, safety_alert(factory, patient), user, "low")
    html = page(client, f"/clinic/patients/{patient.id}")
    assert "High risk at last safety follow-up" in html
    token = csrf_token_from(html)
    # Clearing takes a reason: without one the flag stays and the refusal is beside the reason.
    blank = client.post(
        f"/clinic/patients/{patient.id}/high-risk-flag/clear", data={"flag-csrf_token": token, "flag-reason": " "}
    )
    assert blank.status_code == 422
    assert re.search(r'id="flag-reason-error">Required: say why', blank.get_data(as_text=True))
    [kept] = fetch(sa.select(Patient).where(Patient.id == patient.id))
    assert kept.high_risk_flagged_at is not None
    cleared = client.post(
        f"/clinic/patients/{patient.id}/high-risk-flag/clear",
        data={"flag-csrf_token": token, "flag-reason": "Seen in clinic today, safety plan in place"},
    )
    assert cleared.status_code == 303 and cleared.headers["Location"].endswith("#flag")
    html = page(client, cleared.headers["Location"])
    assert "High risk at last safety follow-up" not in html
    # The confirmation, with the reason, where the flag was.
    assert re.search(r'id="flag".*?High-risk flag cleared: Seen in clinic today, safety plan in place', html, re.S)
    [stored] = fetch(sa.select(Patient).where(Patient.id == patient.id))
    assert stored.high_risk_flagged_at is None
    [event] = fetch(sa.select(AuditEvent).where(AuditEvent.action == "patient.high_risk_clear"))
    assert (event.actor_id, event.patient_id) == (user.id, patient.id)
    assert event.detail["reason"] == "Seen in clinic today, safety plan in place"
    again = client.post(
        f"/clinic/patients/{patient.id}/high-risk-flag/clear",
        data={"flag-csrf_token": csrf_token_from(html), "flag-reason": "Seen again"},
    )
    assert again.status_code == 409 and "no high-risk flag to clear" in again.get_data(as_text=True)


# 9. Safety first, confirmations where the page lands


def test_the_open_safety_alert_comes_before_the_figures_and_the_chart(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    clinic = factory.clinic()
    patient = factory.patient(clinic)
    factory.checkin(patient, total=12)
    alert = safety_alert(factory, patient)
    login_staff(factory, auth, clinic)
    html = page(client, f"/clinic/patients/{patient.id}")
    assert html.index(f'id="alert-{alert.id}"') < html.index('id="outcome"') < html.index('id="trajectory"')


def test_an_acknowledgement_is_confirmed_on_the_alerts_card_not_at_the_top(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    clinic = factory.clinic()
    patient = factory.patient(clinic)
    alert = safety_alert(factory, patient)
    login_staff(factory, auth, clinic)
    html = page(client, f"/clinic/patients/{patient.id}")
    prefix = f"ack-{str(alert.id)[:8]}"
    taken = client.post(f"/clinic/alerts/{alert.id}/acknowledge", data={f"{prefix}-csrf_token": csrf_token_from(html)})
    assert taken.status_code == 303 and taken.headers["Location"].endswith(f"#alert-{alert.id}")
    html = page(client, taken.headers["Location"])
    card = html[html.index(f'id="alert-{alert.id}"') :]
    assert "Alert acknowledged" in card[: card.index("</article>")]
    assert html.count("Alert acknowledged") == 1  # not at the top as well


# Migration 0015: existing staff are named by their email's local part


def test_0015_names_existing_staff_by_their_emails_local_part(tmp_path: Any) -> None:
    from conftest import make_test_app
    from flask_migrate import upgrade
    from test_migrations import insert_as_then

    from tracker.extensions import db

    app = make_test_app(f"sqlite:///{tmp_path / 'before15.sqlite3'}", tmp_path)
    with app.app_context():
        upgrade(revision="0014_instrument_schedules")
        clinic_id = insert_as_then("clinic", name="Then", timezone="America/Chicago")
        doctor = insert_as_then("user_account", clinic_id=clinic_id, role="clinician", email="sam.lee@then.example")
        patient = insert_as_then("user_account", clinic_id=clinic_id, role="patient", phone="+13125550166")
        db.session.commit()
        upgrade()
        names = dict(db.session.execute(sa.text("SELECT id, display_name FROM user_account")).all())
        flags = db.session.execute(sa.text("SELECT count(*) FROM patient WHERE high_risk_flagged_at IS NOT NULL"))
        assert flags.scalar() == 0
        db.session.rollback()
        db.engine.dispose()
    by_id = {uuid_of(k): v for k, v in names.items()}
    assert by_id[doctor] == "sam.lee" and by_id[patient] is None


def uuid_of(value: Any) -> Any:
    import uuid

    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
