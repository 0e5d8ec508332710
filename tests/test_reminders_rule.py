"""The reminder rule (tracker/reminders.py), pure: cadence by phase, local wall time across DST, quiet hours.

Most tests run the rule as the scheduler does, every 5 minutes over days or weeks, remembering what it sent,
and check the moments a patient's phone would buzz.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.reminders import (
    CONFIRMING,
    INDUCTION_MORNING,
    WEEKLY,
    ClinicDefaults,
    PatientState,
    Reminder,
    due_reminder,
    in_quiet_hours,
    local_instant,
)

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
CHICAGO = ZoneInfo("America/Chicago")
SUNDAY, MONDAY = 6, 0
STEP = timedelta(minutes=5)


def clinic(**settings: object) -> ClinicDefaults:
    values: dict[str, object] = {
        "timezone": "America/Chicago",
        "reminder_weekday": MONDAY,
        "reminder_local_time": time(10, 0),
        "quiet_start": time(21, 0),
        "quiet_end": time(8, 0),
        **settings,
    }
    return ClinicDefaults(**values)  # type: ignore[arg-type]


def patient(**fields: object) -> PatientState:
    values: dict[str, object] = {"patient_id": "p1", "phase": "maintenance", "timezone": "America/Chicago", **fields}
    return PatientState(**values)  # type: ignore[arg-type]


def at(zone: ZoneInfo, *parts: int, fold: int = 0) -> datetime:
    """A local wall time in a zone, as the aware UTC instant the rule is given."""
    return datetime(*parts, tzinfo=zone, fold=fold).astimezone(UTC)  # type: ignore[arg-type,misc]  # parts are y, m, d[, h, min]


def run(
    state: PatientState,
    defaults: ClinicDefaults,
    start: datetime,
    end: datetime,
    step: timedelta = STEP,
    skip: tuple[datetime, datetime] | None = None,
) -> list[tuple[datetime, Reminder]]:
    """The job every `step` from start to end (not running inside `skip`): when each reminder went, and which."""
    sent = []
    now = start
    while now < end:
        if skip is None or not skip[0] <= now < skip[1]:
            reminder = due_reminder(state, defaults, now)
            if reminder is not None:
                sent.append((now, reminder))
                state = replace(state, last_reminder_at=now)
        now += step
    return sent


def local_times(sent: list[tuple[datetime, Reminder]], zone: ZoneInfo) -> list[str]:
    return [now.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z") for now, _ in sent]


# Weekly, across the daylight-saving changes of 2026 (US: Mar 8 and Nov 1; EU: Mar 29 and Oct 25)


@pytest.mark.parametrize(
    ("zone", "start", "end", "expected_utc"),
    [
        (NY, date(2026, 3, 1), date(2026, 3, 16), ["03-01 15:00", "03-08 14:00", "03-15 14:00"]),
        (NY, date(2026, 10, 25), date(2026, 11, 9), ["10-25 14:00", "11-01 15:00", "11-08 15:00"]),
        (LONDON, date(2026, 3, 22), date(2026, 4, 6), ["03-22 10:00", "03-29 09:00", "04-05 09:00"]),
        (LONDON, date(2026, 10, 18), date(2026, 11, 2), ["10-18 09:00", "10-25 10:00", "11-01 10:00"]),
    ],
    ids=["new-york-spring", "new-york-fall", "london-spring", "london-fall"],
)
def test_weekly_stays_at_local_wall_time_across_dst(
    zone: ZoneInfo, start: date, end: date, expected_utc: list[str]
) -> None:
    """Sunday 10:00, the very day the clocks change: the UTC hour moves, the patient's 10:00 does not."""
    state = patient(timezone=zone.key, reminder_weekday=SUNDAY, reminder_local_time=time(10, 0))
    sent = run(state, clinic(), at(zone, start.year, start.month, start.day), at(zone, end.year, end.month, end.day))

    assert [now.strftime("%m-%d %H:%M") for now, _ in sent] == expected_utc
    assert {now.astimezone(zone).strftime("%a %H:%M") for now, _ in sent} == {"Sun 10:00"}
    assert {reminder.kind for _, reminder in sent} == {WEEKLY}
    assert [reminder.dedupe_key for _, reminder in sent] == [
        f"reminder:p1:{now.astimezone(zone).date().isoformat()}" for now, _ in sent
    ]


@pytest.mark.parametrize("zone", [NY, LONDON], ids=["new-york", "london"])
def test_both_zones_over_a_whole_dst_season_keep_wall_time(zone: ZoneInfo) -> None:
    """Monday 09:15 from February to December: every one at 09:15 local, none missed, none doubled."""
    state = patient(timezone=zone.key, reminder_weekday=MONDAY, reminder_local_time=time(9, 15))
    sent = run(state, clinic(), at(zone, 2026, 2, 1), at(zone, 2026, 12, 1), step=timedelta(minutes=15))

    assert {now.astimezone(zone).strftime("%a %H:%M") for now, _ in sent} == {"Mon 09:15"}
    days = [date(2026, 2, 1) + timedelta(days=n) for n in range((date(2026, 12, 1) - date(2026, 2, 1)).days)]
    mondays = [day for day in days if day.weekday() == MONDAY]
    assert [now.astimezone(zone).date() for now, _ in sent] == mondays
    assert len(mondays) == 44


# Wall times that do not exist, or exist twice


@pytest.mark.parametrize(
    ("zone", "day", "wall", "expected"),
    [
        # Spring forward: the wall time is skipped; the first valid instant is the moment the clocks jump.
        (NY, date(2026, 3, 8), time(2, 30), datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),  # 03:00 EDT
        (NY, date(2026, 3, 8), time(2, 0), datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
        (LONDON, date(2026, 3, 29), time(1, 30), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),  # 02:00 BST
        # Fall back: the wall time happens twice; the first is chosen.
        (NY, date(2026, 11, 1), time(1, 30), datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),  # 01:30 EDT
        (LONDON, date(2026, 10, 25), time(1, 30), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),  # 01:30 BST
        # Ordinary times either side.
        (NY, date(2026, 3, 8), time(3, 0), datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
        (NY, date(2026, 11, 1), time(2, 0), datetime(2026, 11, 1, 7, 0, tzinfo=UTC)),
    ],
)
def test_gaps_and_folds_pick_the_first_valid_instant(zone: ZoneInfo, day: date, wall: time, expected: datetime) -> None:
    assert local_instant(day, wall, zone) == expected


NO_QUIET = {"quiet_start": time(0, 0), "quiet_end": time(0, 0)}


@pytest.mark.parametrize(
    ("zone", "day", "wall", "expected_local"),
    [
        (NY, date(2026, 3, 8), time(2, 30), "Sun 2026-03-08 03:00 EDT"),
        (LONDON, date(2026, 3, 29), time(1, 30), "Sun 2026-03-29 02:00 BST"),
        (NY, date(2026, 11, 1), time(1, 30), "Sun 2026-11-01 01:30 EDT"),
        (LONDON, date(2026, 10, 25), time(1, 30), "Sun 2026-10-25 01:30 BST"),
    ],
)
def test_a_reminder_in_a_gap_or_fold_is_sent_once(zone: ZoneInfo, day: date, wall: time, expected_local: str) -> None:
    """With no quiet hours, a night-time reminder on a change day: once, at the first valid instant."""
    state = patient(timezone=zone.key, reminder_weekday=SUNDAY, reminder_local_time=wall)
    start = at(zone, day.year, day.month, day.day)
    sent = run(state, clinic(**NO_QUIET), start, start + timedelta(hours=24), step=timedelta(minutes=1))

    assert local_times(sent, zone) == [expected_local]


# Quiet hours


def test_a_time_inside_morning_quiet_hours_moves_to_their_end() -> None:
    state = patient(reminder_local_time=time(6, 30))
    sent = run(state, clinic(), at(CHICAGO, 2026, 11, 22), at(CHICAGO, 2026, 11, 25))

    assert local_times(sent, CHICAGO) == ["Mon 2026-11-23 08:00 CST"]
    assert sent[0][1].due_at == at(CHICAGO, 2026, 11, 23, 6, 30)
    assert sent[0][1].send_at == at(CHICAGO, 2026, 11, 23, 8, 0)


def test_a_late_evening_time_moves_to_the_next_morning_and_counts_for_that_day() -> None:
    state = patient(reminder_local_time=time(22, 0))
    sent = run(state, clinic(), at(CHICAGO, 2026, 11, 22), at(CHICAGO, 2026, 11, 26))

    assert local_times(sent, CHICAGO) == ["Tue 2026-11-24 08:00 CST"]
    assert sent[0][1].local_date == date(2026, 11, 24)
    assert sent[0][1].dedupe_key == "reminder:p1:2026-11-24"


def test_clinic_quiet_hours_are_the_clinics() -> None:
    state = patient(reminder_local_time=time(8, 30))
    sent = run(
        state,
        clinic(quiet_start=time(20, 0), quiet_end=time(9, 0)),
        at(CHICAGO, 2026, 11, 23),
        at(CHICAGO, 2026, 11, 24),
    )

    assert local_times(sent, CHICAGO) == ["Mon 2026-11-23 09:00 CST"]


@pytest.mark.parametrize(
    ("wall", "quiet"),
    [
        (time(21, 0), True),
        (time(23, 59), True),
        (time(0, 0), True),
        (time(7, 59), True),
        (time(8, 0), False),
        (time(20, 59), False),
    ],
)
def test_quiet_hours_run_past_midnight(wall: time, quiet: bool) -> None:
    assert in_quiet_hours(wall, time(21, 0), time(8, 0)) is quiet


def test_same_start_and_end_means_no_quiet_hours_and_a_daytime_window_works() -> None:
    assert not in_quiet_hours(time(3, 0), time(0, 0), time(0, 0))
    assert in_quiet_hours(time(13, 30), time(13, 0), time(14, 0))
    assert not in_quiet_hours(time(14, 0), time(13, 0), time(14, 0))


def test_never_sent_inside_quiet_hours_even_when_missed() -> None:
    """The scheduler was down from 09:00 until 21:30: nothing that night, nothing the next day."""
    state = patient()
    monday = at(CHICAGO, 2026, 11, 23)
    sent = run(
        state,
        clinic(),
        monday,
        monday + timedelta(days=3),
        skip=(at(CHICAGO, 2026, 11, 23, 9, 0), at(CHICAGO, 2026, 11, 23, 21, 30)),
    )

    assert sent == []


# Missed runs, at most one a day


def test_a_missed_reminder_goes_later_the_same_day() -> None:
    state = patient()
    sent = run(
        state,
        clinic(),
        at(CHICAGO, 2026, 11, 23),
        at(CHICAGO, 2026, 11, 25),
        skip=(at(CHICAGO, 2026, 11, 23, 9, 0), at(CHICAGO, 2026, 11, 23, 15, 2)),
    )

    assert local_times(sent, CHICAGO) == ["Mon 2026-11-23 15:05 CST"]


def test_a_reminder_missed_all_day_is_never_sent_the_next_day() -> None:
    state = patient()
    sent = run(
        state,
        clinic(),
        at(CHICAGO, 2026, 11, 23),
        at(CHICAGO, 2026, 11, 29),
        skip=(at(CHICAGO, 2026, 11, 23, 9, 0), at(CHICAGO, 2026, 11, 24, 0, 0)),
    )

    assert sent == []


def test_at_most_one_a_day() -> None:
    state = patient(last_reminder_at=at(CHICAGO, 2026, 11, 23, 8, 5))
    # The weekly one is due at 10:00, but one went at 08:05 today (another kind, or another process).
    assert due_reminder(state, clinic(), at(CHICAGO, 2026, 11, 23, 10, 0)) is None
    # Yesterday's does not count.
    yesterday = replace(state, last_reminder_at=at(CHICAGO, 2026, 11, 22, 20, 0))
    assert due_reminder(yesterday, clinic(), at(CHICAGO, 2026, 11, 23, 10, 0)) is not None


def test_the_day_is_the_patients_local_day_not_utcs() -> None:
    """Tokyo's Monday 08:30 is Sunday 23:30 UTC: the key names Monday."""
    state = patient(timezone="Asia/Tokyo")
    reminder = due_reminder(state, clinic(reminder_local_time=time(8, 30)), datetime(2026, 11, 22, 23, 30, tzinfo=UTC))

    assert reminder is not None and reminder.dedupe_key == "reminder:p1:2026-11-23"


# Who checked in already


def test_weekly_is_skipped_after_a_check_in_that_day() -> None:
    early = patient(last_checkin_at=at(CHICAGO, 2026, 11, 23, 7, 40))
    assert run(early, clinic(), at(CHICAGO, 2026, 11, 23), at(CHICAGO, 2026, 11, 24)) == []
    # A check-in after it was due (the job was late) also means no nagging.
    late = patient(last_checkin_at=at(CHICAGO, 2026, 11, 23, 10, 1))
    assert due_reminder(late, clinic(), at(CHICAGO, 2026, 11, 23, 10, 5)) is None


def test_weekly_still_comes_after_a_check_in_the_day_before() -> None:
    state = patient(last_checkin_at=at(CHICAGO, 2026, 11, 22, 18, 0))
    sent = run(state, clinic(), at(CHICAGO, 2026, 11, 23), at(CHICAGO, 2026, 11, 24))

    assert local_times(sent, CHICAGO) == ["Mon 2026-11-23 10:00 CST"]


def test_the_patients_own_day_and_time_override_the_clinics() -> None:
    state = patient(reminder_weekday=3, reminder_local_time=time(17, 45))
    sent = run(state, clinic(), at(CHICAGO, 2026, 11, 22), at(CHICAGO, 2026, 11, 29))

    assert local_times(sent, CHICAGO) == ["Thu 2026-11-26 17:45 CST"]


def test_as_needed_patients_get_the_weekly_one_too() -> None:
    sent = run(patient(phase="as_needed"), clinic(), at(CHICAGO, 2026, 11, 22), at(CHICAGO, 2026, 11, 29))
    assert local_times(sent, CHICAGO) == ["Mon 2026-11-23 10:00 CST"]


# Induction: the morning of each scheduled infusion


def test_induction_morning_of_each_infusion_and_no_weekly() -> None:
    infusions = (at(CHICAGO, 2026, 11, 23, 13, 0), at(CHICAGO, 2026, 11, 25, 9, 30), at(CHICAGO, 2026, 11, 27, 11, 0))
    state = patient(phase="induction", scheduled_infusions=infusions)
    sent = run(state, clinic(), at(CHICAGO, 2026, 11, 22), at(CHICAGO, 2026, 11, 30))

    assert local_times(sent, CHICAGO) == [
        "Mon 2026-11-23 08:00 CST",
        "Wed 2026-11-25 08:00 CST",
        "Fri 2026-11-27 08:00 CST",
    ]
    assert {reminder.kind for _, reminder in sent} == {INDUCTION_MORNING}


def test_induction_morning_in_the_patients_zone_across_dst() -> None:
    """An infusion on the Monday after US spring forward, for a New York patient of a Chicago clinic."""
    state = patient(phase="induction", timezone="America/New_York", scheduled_infusions=(at(NY, 2026, 3, 9, 11, 0),))
    sent = run(state, clinic(), at(NY, 2026, 3, 7), at(NY, 2026, 3, 11))

    assert local_times(sent, NY) == ["Mon 2026-03-09 08:00 EDT"]


def test_induction_no_reminder_once_the_infusion_has_begun_or_before_quiet_hours_end() -> None:
    late_job = patient(phase="induction", scheduled_infusions=(at(CHICAGO, 2026, 11, 23, 10, 0),))
    assert due_reminder(late_job, clinic(), at(CHICAGO, 2026, 11, 23, 9, 55)) is not None
    assert due_reminder(late_job, clinic(), at(CHICAGO, 2026, 11, 23, 10, 0)) is None
    early = patient(phase="induction", scheduled_infusions=(at(CHICAGO, 2026, 11, 23, 7, 30),))
    assert run(early, clinic(), at(CHICAGO, 2026, 11, 22), at(CHICAGO, 2026, 11, 24)) == []


def test_induction_skipped_when_they_checked_in_that_morning() -> None:
    state = patient(
        phase="induction",
        scheduled_infusions=(at(CHICAGO, 2026, 11, 23, 13, 0),),
        last_checkin_at=at(CHICAGO, 2026, 11, 23, 7, 15),
    )
    assert run(state, clinic(), at(CHICAGO, 2026, 11, 23), at(CHICAGO, 2026, 11, 24)) == []


# The confirming check-in (CLINICAL.md §5)


def test_confirming_check_in_at_its_time() -> None:
    state = patient(confirm_checkin_due_at=at(CHICAGO, 2026, 11, 26, 19, 30))
    sent = run(state, clinic(), at(CHICAGO, 2026, 11, 24), at(CHICAGO, 2026, 11, 29))

    assert local_times(sent, CHICAGO) == ["Thu 2026-11-26 19:30 CST"]
    assert sent[0][1].kind == CONFIRMING


def test_confirming_only_a_check_in_after_it_was_due_answers_it() -> None:
    due = at(CHICAGO, 2026, 11, 26, 19, 30)
    before = patient(confirm_checkin_due_at=due, last_checkin_at=due - timedelta(hours=2))
    assert due_reminder(before, clinic(), due) is not None  # too early to confirm the signal
    after = patient(confirm_checkin_due_at=due, last_checkin_at=due + timedelta(minutes=1))
    assert due_reminder(after, clinic(), due + timedelta(minutes=5)) is None


def test_confirming_replaces_the_weekly_one_on_its_day() -> None:
    state = patient(confirm_checkin_due_at=at(CHICAGO, 2026, 11, 23, 15, 0))
    sent = run(state, clinic(), at(CHICAGO, 2026, 11, 23), at(CHICAGO, 2026, 11, 24))

    assert local_times(sent, CHICAGO) == ["Mon 2026-11-23 15:00 CST"]
    assert sent[0][1].kind == CONFIRMING


def test_confirming_in_quiet_hours_moves_to_the_morning_and_never_later() -> None:
    state = patient(confirm_checkin_due_at=at(CHICAGO, 2026, 11, 25, 23, 0))
    sent = run(state, clinic(), at(CHICAGO, 2026, 11, 25), at(CHICAGO, 2026, 11, 29))
    assert local_times(sent, CHICAGO) == ["Thu 2026-11-26 08:00 CST"]

    missed = run(
        state,
        clinic(),
        at(CHICAGO, 2026, 11, 25),
        at(CHICAGO, 2026, 11, 29),
        skip=(at(CHICAGO, 2026, 11, 26, 0, 0), at(CHICAGO, 2026, 11, 27, 0, 0)),
    )
    assert missed == []


def test_confirming_is_for_patients_past_induction_only() -> None:
    state = patient(phase="induction", confirm_checkin_due_at=at(CHICAGO, 2026, 11, 26, 12, 0))
    assert run(state, clinic(), at(CHICAGO, 2026, 11, 26), at(CHICAGO, 2026, 11, 27)) == []


# Who gets nothing


@pytest.mark.parametrize(
    "fields",
    [
        {"phase": "discharged"},
        {"phase": "screening"},
        {"sms_opted_out": True},
        {"reminders_enabled": False},
        {"sms_opted_out": True, "phase": "induction"},
    ],
    ids=["discharged", "screening", "opted-out", "disabled", "opted-out-in-induction"],
)
def test_none_for_discharged_screening_opted_out_or_disabled(fields: dict[str, object]) -> None:
    """Everything that would be due otherwise: weekly, a confirming check-in, infusion mornings."""
    every_kind = {
        "confirm_checkin_due_at": at(CHICAGO, 2026, 11, 26, 12, 0),
        "scheduled_infusions": (at(CHICAGO, 2026, 11, 24, 13, 0),),
    }
    state = patient(**every_kind, **fields)
    assert run(state, clinic(), at(CHICAGO, 2026, 11, 22), at(CHICAGO, 2026, 11, 30)) == []
    # The same patient without the flag would have had some: the test can fail.
    eligible = {"phase": "maintenance" if fields.get("phase") != "induction" else "induction"}
    assert run(patient(**every_kind, **eligible), clinic(), at(CHICAGO, 2026, 11, 22), at(CHICAGO, 2026, 11, 30))


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        due_reminder(patient(), clinic(), datetime(2026, 11, 23, 16, 0))


def test_an_unknown_zone_falls_back_to_the_clinics() -> None:
    reminder = due_reminder(patient(timezone="Mars/Olympus"), clinic(), at(CHICAGO, 2026, 11, 23, 10, 0))
    assert reminder is not None and reminder.local_date == date(2026, 11, 23)


# Properties over any zone, time and quiet hours

ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu", "America/Santiago", "UTC"]


@settings(max_examples=40, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    weekday=st.integers(0, 6),
    wall=st.times(),
    quiet_start=st.times(),
    quiet_end=st.times(),
    confirm_offset=st.one_of(st.none(), st.integers(0, 4 * 24 * 60)),
    start_day=st.dates(date(2026, 1, 1), date(2026, 12, 20)),
)
def test_never_two_a_day_never_in_quiet_hours_never_before_due(
    zone: str,
    weekday: int,
    wall: time,
    quiet_start: time,
    quiet_end: time,
    confirm_offset: int | None,
    start_day: date,
) -> None:
    tz = ZoneInfo(zone)
    start = local_instant(start_day, time(0), tz)
    confirm = start + timedelta(minutes=confirm_offset) if confirm_offset is not None else None
    state = patient(timezone=zone, reminder_weekday=weekday, reminder_local_time=wall, confirm_checkin_due_at=confirm)
    defaults = clinic(quiet_start=quiet_start, quiet_end=quiet_end)
    sent = run(state, defaults, start, start + timedelta(days=8), step=timedelta(minutes=10))

    days = [reminder.local_date for _, reminder in sent]
    assert len(days) == len(set(days))
    for now, reminder in sent:
        assert not in_quiet_hours(now.astimezone(tz).time(), quiet_start, quiet_end)
        assert now >= reminder.send_at >= reminder.due_at
        assert now.astimezone(tz).date() == reminder.local_date
    # A full week holds the weekly slot: unless quiet hours swallow the whole day, it was sent.
    if quiet_start == quiet_end:
        assert any(reminder.kind in (WEEKLY, CONFIRMING) for _, reminder in sent)
