"""The demo's other medicines (CLINICAL.md §7): the clinic's list to review and who takes what. Pure data.

Two patients take a medicine the clinic reviews before an infusion (lorazepam, a benzodiazepine; lamotrigine),
one takes one it does not (sertraline): the patient page and the visit form show the first two, never the third.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tracker.demo import steps

REVIEW_LIST = "benzodiazepines: alprazolam, clonazepam, diazepam, lorazepam, temazepam\nlamotrigine"
# By kind of patient (one patient each): the medicine, its dose, and how many days before enrolment it began.
TAKEN = {
    "booster_booked": ("Lorazepam", "0.5 mg at night as needed", 400),
    "urgent_now": ("Lamotrigine", "200 mg daily", 700),
    "relapsing_now": ("Sertraline", "100 mg daily", 250),
}


@dataclass(frozen=True)
class AddMedicine(steps.Step):
    """The clinician enters a medicine the patient takes, at enrolment."""

    name: str
    dose: str
    since: date
