"""tracker/audit_words.py: the audit log in words, repeated views within ten minutes merged (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tracker import audit_words

T0 = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Ev:
    who: str
    action: str
    patient: str | None
    minutes_ago: float

    @property
    def at(self) -> datetime:
        return T0 - timedelta(minutes=self.minutes_ago)


def key(e: Ev) -> tuple[str, str, str] | None:
    if e.action not in audit_words.MERGED_ACTIONS or e.patient is None:
        return None
    return (e.who, e.action, e.patient)


def merged(*events: Ev) -> list[tuple[Ev, int]]:
    return [(line.newest, line.count) for line in audit_words.merge(events, key, lambda e: e.at)]


def test_three_views_of_one_record_by_one_person_within_ten_minutes_are_one_line() -> None:
    views = [Ev("lee", "patient.read", "hayden", m) for m in (0, 4, 9)]
    assert merged(*views) == [(views[0], 3)]


def test_a_view_more_than_ten_minutes_before_the_lines_newest_starts_a_new_line() -> None:
    a, b, c = (Ev("lee", "patient.read", "hayden", m) for m in (0, 10, 10.5))
    # Ten minutes exactly still joins; half a minute more is another visit.
    assert merged(a, b, c) == [(a, 2), (c, 1)]


def test_other_people_records_and_actions_never_merge_but_do_not_break_a_line() -> None:
    first = Ev("lee", "patient.read", "hayden", 0)
    other_person = Ev("kim", "patient.read", "hayden", 1)
    other_record = Ev("lee", "patient.read", "ana", 2)
    a_change = Ev("lee", "alert.resolve", "hayden", 3)
    again = Ev("lee", "patient.read", "hayden", 5)
    assert merged(first, other_person, other_record, a_change, again) == [
        (first, 2),
        (other_person, 1),
        (other_record, 1),
        (a_change, 1),
    ]


def test_changes_are_never_merged_even_when_repeated() -> None:
    one, two = Ev("lee", "alert.resolve", "hayden", 0), Ev("lee", "alert.resolve", "hayden", 1)
    assert merged(one, two) == [(one, 1), (two, 1)]


def test_the_stored_events_are_all_kept_in_the_line() -> None:
    views = [Ev("lee", "patient.read", "hayden", m) for m in (0, 1, 2)]
    [line] = audit_words.merge(views, key, lambda e: e.at)
    assert line.events == tuple(views) and line.oldest == views[-1]


def test_sentences() -> None:
    assert audit_words.sentence("Dr Lee", "patient.read", "Hayden P.") == "Dr Lee viewed Hayden P.'s record"
    assert audit_words.sentence("Dr Lee", "patient.read", "Hayden P.", 3) == "Dr Lee viewed Hayden P.'s record 3 times"
    assert audit_words.sentence("Dr Lee", "patient.enrol", "Hayden P.") == "Dr Lee enrolled Hayden P."
    assert (
        audit_words.sentence("The system", "alert.escalate", "Ana") == "The system escalated an alert on Ana's record"
    )
    assert audit_words.sentence("Alex", "audit.read", None) == "Alex read the audit log"
    # An action the table does not know yet still reads as words, never as nothing.
    assert audit_words.sentence("Alex", "cssrs.record", "Ana") == "Alex did cssrs: record"
