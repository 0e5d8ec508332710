"""PHQ-9 (Kroenke, Spitzer & Williams 2001): the items, codes and scoring of CLINICAL.md §2."""

from __future__ import annotations

from collections.abc import Sequence

from tracker.instruments.base import AnswerOption, Instrument, Item

# CLINICAL.md §2: the stem, shared with GAD-7.
STEM = "Over the last 2 weeks, how often have you been bothered by any of the following problems?"

# CLINICAL.md §2: answer values and their LOINC answer codes.
FREQUENCY_OPTIONS: tuple[AnswerOption, ...] = (
    AnswerOption(0, "Not at all", "LA6568-5"),
    AnswerOption(1, "Several days", "LA6569-3"),
    AnswerOption(2, "More than half the days", "LA6570-1"),
    AnswerOption(3, "Nearly every day", "LA6571-9"),
)

# CLINICAL.md §2: items 1-9 and their LOINC codes.
ITEMS: tuple[Item, ...] = (
    Item(1, "Little interest or pleasure in doing things", "44250-9"),
    Item(2, "Feeling down, depressed, or hopeless", "44255-8"),
    Item(3, "Trouble falling or staying asleep, or sleeping too much", "44259-0"),
    Item(4, "Feeling tired or having little energy", "44254-1"),
    Item(5, "Poor appetite or overeating", "44251-7"),
    Item(
        6,
        "Feeling bad about yourself — or that you are a failure or have let yourself or your family down",
        "44258-2",
    ),
    Item(
        7,
        "Trouble concentrating on things, such as reading the newspaper or watching television",
        "44252-5",
    ),
    Item(
        8,
        "Moving or speaking so slowly that other people could have noticed. Or the opposite"
        " — being so fidgety or restless that you have been moving around a lot more than usual",
        "44253-3",
    ),
    Item(
        9,
        "Thoughts that you would be better off dead, or of hurting yourself in some way",
        "44260-8",
    ),
)

# CLINICAL.md §2: item 10, asked but never scored or added to the total.
DIFFICULTY_ITEM = Item(
    10,
    "If you checked off any problems, how difficult have these problems made it for you"
    " to do your work, take care of things at home, or get along with other people?",
    "69722-7",
)

# CLINICAL.md §2: LA6575-0 and LA6574-3 are out of numeric order, so each value is
# written next to its own code here, never derived by sorting the codes.
DIFFICULTY_OPTIONS: tuple[AnswerOption, ...] = (
    AnswerOption(0, "Not difficult at all", "LA6572-7"),
    AnswerOption(1, "Somewhat difficult", "LA6573-5"),
    AnswerOption(2, "Very difficult", "LA6575-0"),
    AnswerOption(3, "Extremely difficult", "LA6574-3"),
)

# CLINICAL.md §2: severity bands 0-4, 5-9, 10-14, 15-19, 20-27.
BANDS: tuple[tuple[int, str], ...] = (
    (0, "none-minimal"),
    (5, "mild"),
    (10, "moderate"),
    (15, "moderately-severe"),
    (20, "severe"),
)


def provisional_diagnosis(answers: Sequence[int]) -> str:
    """DSM-IV provisional diagnosis as CamCOPS implements it; a clinician confirms it."""
    # CLINICAL.md §2: core = items 1-2 scored >= 2.
    core = sum(1 for value in answers[0:2] if value >= 2)
    # CLINICAL.md §2: other = items 3-8 scored >= 2, plus item 9 if >= 1.
    other = sum(1 for value in answers[2:8] if value >= 2)
    other += 1 if answers[8] >= 1 else 0
    # CLINICAL.md §2: major = core >= 1 and core + other >= 5.
    if core >= 1 and core + other >= 5:
        return "major"
    # CLINICAL.md §2: other = core >= 1 and core + other in 2-4.
    if core >= 1 and core + other >= 2:
        return "other"
    return "none"


PHQ9 = Instrument(
    name="phq9",
    title="PHQ-9",
    stem=STEM,
    items=ITEMS,
    options=FREQUENCY_OPTIONS,
    difficulty_item=DIFFICULTY_ITEM,
    difficulty_options=DIFFICULTY_OPTIONS,
    panel_loinc="44249-1",  # CLINICAL.md §2
    total_loinc="44261-6",  # CLINICAL.md §2
    max_total=27,  # CLINICAL.md §2: total 0-27
    bands=BANDS,
    diagnose=provisional_diagnosis,
    safety_item=9,  # CLINICAL.md §3: item 9 >= 1 is a safety event
)
