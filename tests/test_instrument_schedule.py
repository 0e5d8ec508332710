"""The instrument schedule and its due rule (CLINICAL.md §7, fourth bullet), and the GAD-7 outcome figures by
baseline band (CLINICAL.md §4, §6's end): pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tracker.instruments import GAD7
from tracker.instruments import schedule as s
from tracker.outcomes import BandOutcome, by_baseline_band

CHICAGO = ZoneInfo("America/Chicago")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")


def local(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone)


def test_the_default_asks_phq9_weekly_in_every_phase_and_nothing_else() -> None:
    schedule = s.effective(None)
    assert schedule == {phase: {"phq9": "weekly", "gad7": "off"} for phase in ("induction", "maintenance", "as_needed")}
    assert s.asked_in(schedule, "maintenance") == {"phq9": "weekly"}
    assert s.asked_in(schedule, "screening") == {} and s.asked_in(schedule, "discharged") == {}


def test_a_stored_schedule_overrides_the_defaults_and_a_bad_row_never_disarms_phq9() -> None:
    stored = {"maintenance": {"gad7": "monthly", "phq9": "every_2_weeks"}, "as_needed": {"phq9": "off"}}
    schedule = s.effective(stored | {"nonsense": 3, "induction": {"gad7": "hourly"}})  # type: ignore[dict-item]
    assert schedule["maintenance"] == {"phq9": "every_2_weeks", "gad7": "monthly"}
    assert schedule["as_needed"]["phq9"] == "weekly"  # CLINICAL.md §5: the relapse rule needs it
    assert schedule["induction"] == {"phq9": "weekly", "gad7": "off"}


def test_checking_names_every_problem_and_says_why_phq9_stays_on() -> None:
    values, problems = s.check(
        {"maintenance": {"phq9": "off", "gad7": "monthly"}, "screening": {}, "as_needed": {"bdi": "weekly"}}
    )
    assert values == {"maintenance": {"gad7": "monthly"}}
    by_field = {p.field: p.message for p in problems}
    assert set(by_field) == {
        "instrument_schedule.maintenance.phq9",
        "instrument_schedule.screening",
        "instrument_schedule.as_needed.bdi",
    }
    assert "relapse rule" in by_field["instrument_schedule.maintenance.phq9"]
    assert "the relapse rule reads only PHQ-9" in by_field["instrument_schedule.maintenance.phq9"]
    assert s.check("weekly")[1][0].field == "instrument_schedule"
    assert s.check({"induction": {"gad7": "fortnightly"}})[1][0].message.startswith("use one of weekly")


def test_merged_spells_out_every_phase() -> None:
    merged = s.merged(None, {"maintenance": {"gad7": "monthly"}})
    assert merged["maintenance"] == {"phq9": "weekly", "gad7": "monthly"}
    assert merged["induction"] == {"phq9": "weekly", "gad7": "off"}


def test_never_answered_is_due_now_and_off_is_never_due() -> None:
    now = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
    assert s.due("monthly", None, now, CHICAGO) == s.Due(True, now.astimezone(CHICAGO).date())
    assert s.due("off", now - timedelta(days=400), now, CHICAGO) == s.Due(False, None)


@pytest.mark.parametrize(
    ("interval", "days_later", "due"),
    [
        ("weekly", 3, False),
        ("weekly", 4, True),  # a check-in a few days late still counts for its slot (EARLY_DAYS)
        ("every_2_weeks", 10, False),
        ("every_2_weeks", 11, True),
        ("monthly", 24, False),
        ("monthly", 25, True),
        ("monthly", 28, True),  # the same weekday four weeks on: the reminder day
    ],
)
def test_due_by_local_days_since_the_last_one(interval: str, days_later: int, due: bool) -> None:
    last = local(CHICAGO, 2026, 10, 5, 10, 0)  # a Monday
    now = (last + timedelta(days=days_later)).replace(hour=9)
    assert s.due(interval, last, now, CHICAGO).due is due


def test_next_due_day_is_the_patients_local_day() -> None:
    # 23:30 in Chicago on Monday is already Tuesday in UTC and in Tokyo: the day follows the patient's zone.
    last = local(CHICAGO, 2026, 11, 2, 23, 30)
    now = last + timedelta(hours=1)
    assert s.due("monthly", last, now, CHICAGO).next_on == datetime(2026, 11, 27).date()
    assert s.due("monthly", last, now, TOKYO).next_on == datetime(2026, 11, 28).date()


def test_daylight_saving_changes_move_nothing() -> None:
    """New York springs forward on 2026-03-08 and falls back on 2026-11-01: a 28-day interval across either is
    still 28 local days, not 28 x 24 hours."""
    for last in (local(NEW_YORK, 2026, 2, 23, 0, 30), local(NEW_YORK, 2026, 10, 19, 23, 45)):
        next_on = last.date() + timedelta(days=28 - s.EARLY_DAYS)
        start_of_day = datetime.combine(next_on, datetime.min.time(), NEW_YORK)
        assert s.due("monthly", last, start_of_day, NEW_YORK) == s.Due(True, next_on)
        assert s.due("monthly", last, start_of_day - timedelta(minutes=1), NEW_YORK).due is False


def test_due_now_asks_phq9_first_and_only_what_the_phase_asks() -> None:
    schedule = s.effective({"maintenance": {"gad7": "monthly"}})
    now = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
    fresh = {"phq9": now - timedelta(days=1), "gad7": now - timedelta(days=2)}
    stale = {"phq9": now - timedelta(days=8), "gad7": now - timedelta(days=40)}
    assert s.due_now(schedule, "maintenance", stale, now, CHICAGO) == ["phq9", "gad7"]
    assert s.due_now(schedule, "maintenance", fresh, now, CHICAGO) == []
    assert s.due_now(schedule, "maintenance", {"phq9": fresh["phq9"]}, now, CHICAGO) == ["gad7"]
    assert s.due_now(schedule, "as_needed", stale, now, CHICAGO) == ["phq9"]  # GAD-7 off there
    assert s.due_now(schedule, "discharged", stale, now, CHICAGO) == []


def test_aware_moments_only() -> None:
    with pytest.raises(ValueError):
        s.due("weekly", None, datetime(2026, 11, 23, 16, 0), CHICAGO)
    with pytest.raises(ValueError):
        s.due("daily", None, datetime(2026, 11, 23, 16, 0, tzinfo=UTC), CHICAGO)


BANDS = [band for _low, band in GAD7.bands]


def test_gad7_bands_are_those_of_clinical_section_6() -> None:
    """CLINICAL.md §6's end: total 0-21, bands 5/10/15 = mild/moderate/severe."""
    assert [GAD7.severity_for(t) for t in (0, 4, 5, 9, 10, 14, 15, 21)] == [
        "none-minimal",
        "none-minimal",
        "mild",
        "mild",
        "moderate",
        "moderate",
        "severe",
        "severe",
    ]
    assert GAD7.max_total == 21


def test_gad7_response_and_remission_by_baseline_band() -> None:
    """CLINICAL.md §4's definitions on the GAD-7: response <= 50% of baseline, remission below 5."""
    pairs = [
        (16, 8),  # severe: response (8 <= 8), not remission
        (18, 4),  # severe: response and remission
        (12, 7),  # moderate: neither (7 > 6)
        (10, 5),  # moderate: response (5 <= 5), not remission (5 is not below 5)
        (6, 4),  # mild: no response (4 > 3), remission
        (0, 0),  # none-minimal: no response defined from 0; remission, shown in its band
    ]
    found = by_baseline_band(pairs, GAD7.severity_for, BANDS)
    assert found == [
        BandOutcome("none-minimal", 1, 0, 0, 1),
        BandOutcome("mild", 1, 1, 0, 1),
        BandOutcome("moderate", 2, 2, 1, 0),
        BandOutcome("severe", 2, 2, 2, 1),
    ]
    assert by_baseline_band([], GAD7.severity_for, BANDS) == [BandOutcome(b, 0, 0, 0, 0) for b in BANDS]
