"""GAD-7 (Spitzer et al. 2006, Arch Intern Med 166:1092): a second, anxiety instrument."""

from __future__ import annotations

from tracker.instruments.base import Instrument, Item
from tracker.instruments.phq9 import FREQUENCY_OPTIONS, STEM

# CLINICAL.md (GAD-7 lines): the standard items and their LOINC codes.
ITEMS: tuple[Item, ...] = (
    Item(1, "Feeling nervous, anxious, or on edge", "69725-0"),
    Item(2, "Not being able to stop or control worrying", "68509-9"),
    Item(3, "Worrying too much about different things", "69733-4"),
    Item(4, "Trouble relaxing", "69734-2"),
    Item(5, "Being so restless that it is hard to sit still", "69735-9"),
    Item(6, "Becoming easily annoyed or irritable", "69689-8"),
    Item(7, "Feeling afraid, as if something awful might happen", "69736-7"),
)

# CLINICAL.md (GAD-7 lines): bands 5/10/15 = mild/moderate/severe.
BANDS: tuple[tuple[int, str], ...] = (
    (0, "none-minimal"),
    (5, "mild"),
    (10, "moderate"),
    (15, "severe"),
)

GAD7 = Instrument(
    name="gad7",
    title="GAD-7",
    stem=STEM,  # same 2-week frequency stem and answers as PHQ-9
    items=ITEMS,
    options=FREQUENCY_OPTIONS,
    # The product asks GAD-7 without a difficulty question, so none is accepted.
    difficulty_item=None,
    difficulty_options=(),
    panel_loinc="69737-5",  # CLINICAL.md (GAD-7 lines)
    total_loinc="70274-6",  # CLINICAL.md (GAD-7 lines)
    max_total=21,  # CLINICAL.md (GAD-7 lines): total 0-21
    bands=BANDS,
)
