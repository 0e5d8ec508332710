"""Crisis resources by country (CLINICAL.md §3), the pure part: the built-in table, what an admin enters, the
words a text uses, and the country of a time zone from the tz database's own tables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tracker import countries, safety
from tracker.safety import BUILT_IN, CrisisResource, resources_for


def rows(country: str | None, lines=None, emergency=None, phone: str | None = None) -> safety.CrisisResources:
    return resources_for(country, lines, emergency, "Lakeside", phone)


# CLINICAL.md §3, the table: each country's line(s), how they are reached, and the emergency number.
TABLE = {
    "US": ([("988 Suicide & Crisis Lifeline", "988", True, True, None)], ("911",)),
    "CA": ([("9-8-8 Suicide Crisis Helpline", "988", True, True, None)], ("911",)),
    "GB": ([("Samaritans", "116 123", True, False, None), ("Shout", "85258", False, True, "SHOUT")], ("999",)),
    "IE": (
        [("Samaritans", "116 123", True, False, None), ("50808 text line", "50808", False, True, None)],
        ("112", "999"),
    ),
    "AU": ([("Lifeline", "13 11 14", True, False, None)], ("000",)),
    "NZ": ([("Need to talk?", "1737", True, True, None)], ("111",)),
}


@pytest.mark.parametrize("country", sorted(TABLE))
def test_the_built_in_table_is_clinical_md_section_3(country: str) -> None:
    lines, emergency = TABLE[country]
    built_in = BUILT_IN[country]
    assert [(r.name, r.phone, r.call, r.sms, r.sms_keyword) for r in built_in.lines] == lines
    assert built_in.emergency == emergency
    assert set(BUILT_IN) == set(TABLE)


def test_988_is_only_in_the_us_and_canadian_rows() -> None:
    for country, resources in BUILT_IN.items():
        numbers = {line.phone for line in resources.lines} | set(resources.emergency)
        assert ("988" in numbers) == (country in ("US", "CA")), country


def test_the_us_resources_are_as_before() -> None:
    us = rows("US")
    assert [(r.name, r.phone, r.text, r.kind) for r in us.listed] == [
        ("988 Suicide & Crisis Lifeline", "988", "Call or text 988, any time, free and confidential.", "line"),
        ("Emergency services", "911", "Call 911 if you are in immediate danger.", "emergency"),
    ]
    assert (us.lines_words, us.emergency_words) == ("call or text 988", "call 911")


@pytest.mark.parametrize(
    ("country", "lines_words", "emergency_words"),
    [
        ("GB", "call 116 123 or text SHOUT to 85258", "call 999"),
        ("IE", "call 116 123 or text 50808", "call 112 or 999"),
        ("AU", "call 13 11 14", "call 000"),
        ("NZ", "call or text 1737", "call 111"),
        ("CA", "call or text 988", "call 911"),
    ],
)
def test_the_words_a_text_gives(country: str, lines_words: str, emergency_words: str) -> None:
    found = rows(country)
    assert (found.lines_words, found.emergency_words) == (lines_words, emergency_words)
    assert found.missing == ()


def test_the_clinics_own_phone_is_always_listed_last() -> None:
    gb = rows("GB", phone="+441632960123")
    assert [r.kind for r in gb.listed] == ["line", "line", "emergency", "clinic"]
    # Written as tracker/phones.py writes it (a number of no known region: international), dialled as stored.
    assert (gb.listed[-1].name, gb.listed[-1].phone, gb.listed[-1].dial) == (
        "Lakeside",
        "+44 1632 960123",
        "+441632960123",
    )
    unknown = rows(None, phone="+491511234567")
    assert [r.kind for r in unknown.listed] == ["clinic"]


def test_a_country_with_nothing_built_in_needs_a_line_and_the_emergency_number() -> None:
    assert rows("DE").missing == ("at least one crisis line", "the emergency number")
    assert rows(None).missing == ("at least one crisis line", "the emergency number")
    line = {"name": "TelefonSeelsorge", "phone": "0800 111 0 111", "call": True, "sms": False, "sms_keyword": None}
    assert rows("DE", [line]).missing == ("the emergency number",)
    assert rows("DE", None, ["112"]).missing == ("at least one crisis line",)
    filled = rows("DE", [line], ["112"])
    assert filled.missing == ()
    assert (filled.lines_words, filled.emergency_words) == ("call 0800 111 0 111", "call 112")
    # Nothing is claimed of an entered line's hours; only the built-in lines are known to answer at any time.
    assert filled.lines[0].text == "Call 0800 111 0 111."
    # Never nothing to say, even before anything is entered.
    assert (rows("DE").lines_words, rows("DE").emergency_words) == (safety.NO_LINE_WORDS, safety.NO_EMERGENCY_WORDS)


def test_entered_lines_and_numbers_replace_the_built_in_ones() -> None:
    own = {"name": "Our own line", "phone": "+1 312 555 0100", "call": True, "sms": True, "sms_keyword": "HELLO"}
    us = rows("US", [own], None)
    # A full number is written as the clinic's country writes it (tracker/phones.py); short codes as they are.
    assert [r.phone for r in us.listed] == ["(312) 555-0100", "911"]
    assert us.lines_words == "call (312) 555-0100 or text HELLO to (312) 555-0100"
    assert us.lines[0].dial == "+13125550100"
    assert rows("GB", None, ["112"]).emergency == ("112",)
    # A line entered just as the built-in one keeps the built-in wording.
    samaritans = BUILT_IN["GB"].lines[0]
    assert rows("GB", [samaritans.entered()]).lines == (samaritans,)


@pytest.mark.parametrize(
    ("resource", "how", "dial"),
    [
        (CrisisResource("a", "988", "", sms=True), "call or text 988", "988"),
        (CrisisResource("a", "116 123", ""), "call 116 123", "116123"),
        (CrisisResource("a", "85258", "", call=False, sms=True, sms_keyword="SHOUT"), "text SHOUT to 85258", "85258"),
        (CrisisResource("a", "50808", "", call=False, sms=True), "text 50808", "50808"),
        (CrisisResource("a", "13 11 14", ""), "call 13 11 14", "131114"),
    ],
)
def test_how_a_resource_is_reached(resource: CrisisResource, how: str, dial: str) -> None:
    assert (resource.how, resource.dial) == (how, dial)


def test_what_an_admin_enters_is_checked_field_by_field() -> None:
    good = {"name": " Lifeline ", "phone": "13 11 14", "call": True, "sms": False, "sms_keyword": ""}
    lines, problems = safety.check_lines([good])
    assert problems == []
    assert lines == [{"name": "Lifeline", "phone": "13 11 14", "call": True, "sms": False, "sms_keyword": None}]

    bad = [
        {"name": "", "phone": "call us", "call": False, "sms": False},
        {"name": "x" * 61, "phone": "1", "call": True, "sms": False, "sms_keyword": "SHOUT"},
        {"name": "Text", "phone": "85258", "call": False, "sms": True, "sms_keyword": "two words"},
    ]
    _lines, problems = safety.check_lines(bad)
    assert [p.field for p in problems] == [
        "crisis_lines[0].name",
        "crisis_lines[0].phone",
        "crisis_lines[0].call",
        "crisis_lines[1].name",
        "crisis_lines[1].phone",
        "crisis_lines[1].sms_keyword",
        "crisis_lines[2].sms_keyword",
    ]
    assert safety.check_lines([good] * 4)[1][0].message == "enter at most 3 crisis lines"


def test_emergency_numbers_are_digits_as_dialled() -> None:
    assert safety.check_emergency([" 112 ", "999", ""]) == (["112", "999"], [])
    for bad in (["9-1-1"], ["1"], ["emergency"], ["1", "2", "3", "4"]):
        numbers, problems = safety.check_emergency(bad)
        assert numbers == [] and [p.field for p in problems] == ["emergency_numbers"], bad
    assert safety.split_numbers("112 or 999") == ["112", "999"]
    assert safety.split_numbers(" 112, 999 ") == ["112", "999"]
    assert safety.split_numbers("") == []


# The country of a time zone: the tz database's country table (zone.tab, then zone1970.tab).


@pytest.mark.parametrize(
    ("zone", "country"),
    [
        ("America/Chicago", "US"),
        ("America/Denver", "US"),
        ("America/Toronto", "CA"),
        ("Europe/London", "GB"),
        ("Europe/Dublin", "IE"),
        ("Australia/Sydney", "AU"),
        ("Pacific/Auckland", "NZ"),
        ("Europe/Berlin", "DE"),
        ("Europe/Amsterdam", "NL"),  # in zone.tab, though zone1970.tab merges it into Brussels
        ("UTC", None),
        ("US/Central", None),  # an alias: no country of its own in the tables
        ("Mars/Olympus", None),
    ],
)
def test_the_country_of_a_time_zone(zone: str, country: str | None) -> None:
    assert countries.country_of_zone(zone) == country


def test_countries_are_iso_3166_codes() -> None:
    assert countries.normalize_country(" gb ") == "GB"
    assert countries.normalize_country("UK") is None  # not an ISO 3166-1 code
    assert countries.normalize_country("XX") is None
    assert countries.country_name("DE") == "Germany"
    assert len(countries.country_names()) > 240


def test_988_and_911_are_written_nowhere_but_the_us_and_canadian_rows() -> None:
    """One source (CLINICAL.md §3): no page, text or API answer can give them to a clinic outside the US or CA."""
    root = Path(__file__).resolve().parent.parent
    found = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in [*sorted((root / "tracker").rglob("*.py")), *sorted((root / "templates").rglob("*.html"))]
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"(?<![\d+])(988|911)(?!\d)", line)
    ]
    rows = [entry for entry in found if entry.startswith("tracker/safety.py:") and '_line("9' in entry]
    assert len(rows) == 2 and found == rows, found
