"""Instrument definitions, validation and scoring against CLINICAL.md §2, §3 and §6."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.instruments import (
    GAD7,
    INSTRUMENTS,
    PHQ9,
    FieldError,
    Instrument,
    InvalidAnswers,
    Score,
    UnknownInstrument,
    get_instrument,
)

PHQ9_ANSWERS = st.lists(st.integers(0, 3), min_size=9, max_size=9)
GAD7_ANSWERS = st.lists(st.integers(0, 3), min_size=7, max_size=7)
BOTH = pytest.mark.parametrize("instrument", [PHQ9, GAD7], ids=["phq9", "gad7"])


def _answers(text: str) -> list[int]:
    return [int(part) for part in text.split()]


def _fields(errors: list[FieldError]) -> list[str]:
    return [error.field for error in errors]


# --- CLINICAL.md §6 vectors -------------------------------------------------

VECTORS = [
    ("0 0 0 0 0 0 0 0 0", 0, "none-minimal", "none", False),
    ("3 3 3 3 3 3 3 3 3", 27, "severe", "major", True),
    ("1 1 1 1 1 0 0 0 0", 5, "mild", "none", False),
    ("2 2 1 1 1 1 1 1 0", 10, "moderate", "other", False),
    ("2 0 2 2 2 2 0 0 0", 10, "moderate", "major", False),
    ("1 1 2 2 2 2 2 0 0", 12, "moderate", "none", False),
    ("3 3 3 3 3 2 2 1 0", 20, "severe", "major", False),
    ("0 0 0 0 0 0 0 0 1", 1, "none-minimal", "none", True),
    ("2 0 2 2 2 0 0 0 1", 9, "mild", "major", True),
]


@pytest.mark.parametrize(("items", "total", "severity", "diagnosis", "item9"), VECTORS)
def test_clinical_vectors(items: str, total: int, severity: str, diagnosis: str, item9: bool) -> None:
    assert PHQ9.score(_answers(items)) == Score(total, severity, diagnosis, item9)


# --- band boundaries ---------------------------------------------------------

PHQ9_BOUNDARIES = [
    (0, "none-minimal"),
    (4, "none-minimal"),
    (5, "mild"),
    (9, "mild"),
    (10, "moderate"),
    (14, "moderate"),
    (15, "moderately-severe"),
    (19, "moderately-severe"),
    (20, "severe"),
    (27, "severe"),
]
GAD7_BOUNDARIES = [
    (0, "none-minimal"),
    (4, "none-minimal"),
    (5, "mild"),
    (9, "mild"),
    (10, "moderate"),
    (14, "moderate"),
    (15, "severe"),
    (21, "severe"),
]


def _answers_totalling(total: int, count: int) -> list[int]:
    """Answers that sum to `total`, filled 3 at a time from the last item."""
    answers = [0] * count
    for index in reversed(range(count)):
        answers[index] = min(3, total)
        total -= answers[index]
    assert total == 0
    return answers


@pytest.mark.parametrize(("total", "severity"), PHQ9_BOUNDARIES)
def test_phq9_band_boundaries(total: int, severity: str) -> None:
    assert PHQ9.severity_for(total) == severity
    scored = PHQ9.score(_answers_totalling(total, 9))
    assert (scored.total, scored.severity) == (total, severity)


@pytest.mark.parametrize(("total", "severity"), GAD7_BOUNDARIES)
def test_gad7_band_boundaries(total: int, severity: str) -> None:
    assert GAD7.severity_for(total) == severity
    scored = GAD7.score(_answers_totalling(total, 7))
    assert (scored.total, scored.severity) == (total, severity)


@pytest.mark.parametrize(
    ("instrument", "total"),
    [(PHQ9, -1), (PHQ9, 28), (GAD7, -1), (GAD7, 22)],
    ids=["phq9-low", "phq9-high", "gad7-low", "gad7-high"],
)
def test_severity_for_refuses_impossible_totals(instrument: Instrument, total: int) -> None:
    with pytest.raises(ValueError, match="total must be an integer from 0 to"):
        instrument.severity_for(total)


# --- properties ---------------------------------------------------------------


def _diagnosis_restated(answers: list[int]) -> str:
    """CLINICAL.md §2 written out independently of the implementation."""
    core = len([a for a in (answers[0], answers[1]) if a > 1])
    other = len([a for a in answers[2:8] if a > 1]) + (answers[8] > 0)
    if core == 0:
        return "none"
    if core + other >= 5:
        return "major"
    if 2 <= core + other <= 4:
        return "other"
    return "none"


@given(PHQ9_ANSWERS)
def test_phq9_properties(answers: list[int]) -> None:
    assert PHQ9.validate(answers) == []
    scored = PHQ9.score(answers)
    assert scored.total == sum(answers)
    assert scored.diagnosis == _diagnosis_restated(answers)
    assert scored.item9_positive is (answers[8] >= 1)
    assert scored.severity == PHQ9.severity_for(scored.total)


@given(GAD7_ANSWERS)
def test_gad7_properties(answers: list[int]) -> None:
    assert GAD7.validate(answers) == []
    scored = GAD7.score(answers)
    assert scored.total == sum(answers)
    assert scored.diagnosis is None
    assert scored.item9_positive is False


@given(PHQ9_ANSWERS, st.one_of(st.none(), st.integers(0, 3)))
def test_phq9_valid_difficulty_accepted(answers: list[int], difficulty: int | None) -> None:
    assert PHQ9.validate(answers, difficulty) == []


@BOTH
@given(data=st.data())
def test_severity_is_monotone(instrument: Instrument, data: st.DataObject) -> None:
    order = [label for _, label in instrument.bands]
    low = data.draw(st.integers(0, instrument.max_total))
    high = data.draw(st.integers(low, instrument.max_total))
    assert order.index(instrument.severity_for(low)) <= order.index(instrument.severity_for(high))


# --- validation ---------------------------------------------------------------

VALID = [1, 1, 1, 1, 1, 1, 1, 1, 1]
ELEMENT_MESSAGE = "must be an integer from 0 to 3"


@pytest.mark.parametrize(
    ("answers", "fields"),
    [
        (VALID[:8], ["answers"]),
        ([*VALID, 0], ["answers"]),
        ([], ["answers"]),
        ([-1, *VALID[1:]], ["answers[0]"]),
        ([*VALID[:4], 4, *VALID[5:]], ["answers[4]"]),
        ([*VALID[:8], 1.5], ["answers[8]"]),
        ([*VALID[:8], 1.0], ["answers[8]"]),
        (["1", *VALID[1:]], ["answers[0]"]),
        ([True, *VALID[1:7], False, 1], ["answers[0]", "answers[7]"]),
        ([*VALID[:3], None, *VALID[4:]], ["answers[3]"]),
        ([None] * 9, [f"answers[{i}]" for i in range(9)]),
        ([4, *VALID[:7]], ["answers", "answers[0]"]),
        (None, ["answers"]),
        ("0,1", ["answers"]),
        ("011111111", ["answers"]),
        ({}, ["answers"]),
        ({"0": 1}, ["answers"]),
        (9, ["answers"]),
    ],
)
def test_phq9_answer_errors(answers: object, fields: list[str]) -> None:
    errors = PHQ9.validate(answers)
    assert _fields(errors) == fields
    with pytest.raises(InvalidAnswers) as caught:
        PHQ9.score(answers)  # type: ignore[arg-type]  # invalid on purpose
    assert caught.value.errors == errors


def test_answer_messages_are_plain_and_bounded() -> None:
    assert PHQ9.validate(VALID[:8]) == [FieldError("answers", "expected 9 answers, got 8")]
    assert PHQ9.validate([*VALID, 1]) == [FieldError("answers", "expected 9 answers, got 10")]
    assert PHQ9.validate([*VALID[:4], 4, *VALID[5:]]) == [FieldError("answers[4]", ELEMENT_MESSAGE)]
    assert PHQ9.validate(None) == [FieldError("answers", "must be a list of 9 integers")]
    huge = "x" * 100_000
    errors = PHQ9.validate([huge] * 100_000, difficulty=huge)
    assert len(errors) == 11  # count, nine positions, difficulty
    assert all(huge[:50] not in error.message for error in errors)
    assert all(len(error.message) < 80 for error in errors)


@pytest.mark.parametrize("difficulty", [True, False, 4, -1, "2", 2.0, [2]])
def test_phq9_difficulty_errors(difficulty: object) -> None:
    assert PHQ9.validate(VALID, difficulty) == [FieldError("difficulty", "must be null or an integer from 0 to 3")]


def test_all_errors_reported_together() -> None:
    errors = PHQ9.validate([0, 5, "a", 1], difficulty=4)
    assert _fields(errors) == ["answers", "answers[1]", "answers[2]", "difficulty"]


def test_gad7_validation() -> None:
    assert GAD7.validate([0] * 7) == []
    assert _fields(GAD7.validate([0] * 9)) == ["answers"]
    assert GAD7.validate([0] * 9)[0].message == "expected 7 answers, got 9"
    assert _fields(GAD7.validate([0] * 7, difficulty=1)) == ["difficulty"]
    assert _fields(GAD7.validate([0] * 7, difficulty=0)) == ["difficulty"]


def test_score_accepts_a_tuple() -> None:
    assert PHQ9.score((0, 0, 0, 0, 0, 0, 0, 0, 2)).total == 2


# --- lookup -------------------------------------------------------------------


def test_registry() -> None:
    assert dict(INSTRUMENTS) == {"phq9": PHQ9, "gad7": GAD7}
    assert get_instrument("phq9") is PHQ9
    assert get_instrument("gad7") is GAD7
    with pytest.raises(TypeError):
        INSTRUMENTS["x"] = PHQ9  # type: ignore[index]  # read-only on purpose


@pytest.mark.parametrize("name", ["PHQ9", "phq-9", "", "madrs", "x" * 10_000])
def test_unknown_instrument(name: str) -> None:
    with pytest.raises(UnknownInstrument) as caught:
        get_instrument(name)
    assert isinstance(caught.value, KeyError)
    assert caught.value.error.field == "instrument"
    assert len(str(caught.value)) < 80


def test_unknown_instrument_non_string() -> None:
    with pytest.raises(UnknownInstrument):
        get_instrument(["phq9"])  # type: ignore[arg-type]  # JSON may send anything


# --- definitions against CLINICAL.md §2 ---------------------------------------


def test_phq9_definition() -> None:
    assert (PHQ9.name, PHQ9.title, PHQ9.max_total) == ("phq9", "PHQ-9", 27)
    assert (PHQ9.panel_loinc, PHQ9.total_loinc) == ("44249-1", "44261-6")
    assert PHQ9.stem == ("Over the last 2 weeks, how often have you been bothered by any of the following problems?")
    assert [i.loinc for i in PHQ9.items] == [
        "44250-9", "44255-8", "44259-0", "44254-1", "44251-7",
        "44258-2", "44252-5", "44253-3", "44260-8",
    ]  # fmt: skip
    assert [i.number for i in PHQ9.items] == list(range(1, 10))
    assert [i.text for i in PHQ9.items] == [
        "Little interest or pleasure in doing things",
        "Feeling down, depressed, or hopeless",
        "Trouble falling or staying asleep, or sleeping too much",
        "Feeling tired or having little energy",
        "Poor appetite or overeating",
        ("Feeling bad about yourself — or that you are a failure or have let yourself or your family down"),
        ("Trouble concentrating on things, such as reading the newspaper or watching television"),
        (
            "Moving or speaking so slowly that other people could have noticed. Or the"
            " opposite — being so fidgety or restless that you have been moving around"
            " a lot more than usual"
        ),
        ("Thoughts that you would be better off dead, or of hurting yourself in some way"),
    ]
    assert [(o.value, o.text, o.loinc) for o in PHQ9.options] == [
        (0, "Not at all", "LA6568-5"),
        (1, "Several days", "LA6569-3"),
        (2, "More than half the days", "LA6570-1"),
        (3, "Nearly every day", "LA6571-9"),
    ]
    assert PHQ9.difficulty_item is not None
    assert (PHQ9.difficulty_item.number, PHQ9.difficulty_item.loinc) == (10, "69722-7")
    assert PHQ9.difficulty_item.text == (
        "If you checked off any problems, how difficult have these problems made it"
        " for you to do your work, take care of things at home, or get along with"
        " other people?"
    )


def test_difficulty_codes_map_by_value() -> None:
    by_value = {o.value: (o.text, o.loinc) for o in PHQ9.difficulty_options}
    assert by_value == {
        0: ("Not difficult at all", "LA6572-7"),
        1: ("Somewhat difficult", "LA6573-5"),
        2: ("Very difficult", "LA6575-0"),
        3: ("Extremely difficult", "LA6574-3"),
    }


def test_gad7_definition() -> None:
    assert (GAD7.name, GAD7.title, GAD7.max_total) == ("gad7", "GAD-7", 21)
    assert (GAD7.panel_loinc, GAD7.total_loinc) == ("69737-5", "70274-6")
    assert GAD7.stem == PHQ9.stem
    assert GAD7.options == PHQ9.options
    assert (GAD7.difficulty_item, GAD7.difficulty_options) == (None, ())
    assert [(i.number, i.loinc) for i in GAD7.items] == [
        (1, "69725-0"), (2, "68509-9"), (3, "69733-4"), (4, "69734-2"),
        (5, "69735-9"), (6, "69689-8"), (7, "69736-7"),
    ]  # fmt: skip
    assert [i.text for i in GAD7.items] == [
        "Feeling nervous, anxious, or on edge",
        "Not being able to stop or control worrying",
        "Worrying too much about different things",
        "Trouble relaxing",
        "Being so restless that it is hard to sit still",
        "Becoming easily annoyed or irritable",
        "Feeling afraid, as if something awful might happen",
    ]
