"""The demo's medicine steps (tracker/demo/medicine_steps.py) acted out through the services (CLINICAL.md §7)."""

from __future__ import annotations

from tracker.demo import steps
from tracker.demo.medicine_steps import REVIEW_LIST, AddMedicine
from tracker.models import Clinic, Patient, User
from tracker.services.clinic import medicines


def set_up(admin: User, clinic: Clinic) -> None:
    """The admin enters the clinic's list of medicines to review before an infusion."""
    medicines.set_review_list(admin, clinic, REVIEW_LIST)


def perform(step: steps.Step, patient: Patient, clinician: User) -> bool:
    """Act out one of this module's steps; False for a step of another kind."""
    if isinstance(step, AddMedicine):
        medicines.add(clinician, patient, step.name, step.dose, step.since)
        return True
    return False
