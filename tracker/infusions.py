"""An infusion's values checked against CLINICAL.md §1 and §7: hard limits refuse, usual ranges warn. Pure.

Kept apart from the course service so the rules read on their own and are tested without a database.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, TypedDict

from tracker.errors import FieldProblem
from tracker.local_time import OUT_OF_RANGE, in_range_utc
from tracker.vitals import BP_FIELDS, NUMBER_LIMITS, BloodPressure, blood_pressure, unusual_numbers, whole_in_range

INFUSION_KINDS = ("induction", "maintenance", "booster")
INFUSION_STATUSES = ("scheduled", "given", "cancelled")
BOOKING_IN_PAST = "A booking must be in the future"
GIVEN_IN_FUTURE = "must not be in the future"
BOOKING_YEARS_AHEAD = 2  # a booking further out is a typing slip (a year typed wrong)
BOOKING_TOO_FAR = f"a booking is at most {BOOKING_YEARS_AHEAD} years ahead"
RIDE_HOME_NOT_CONFIRMED = "not confirmed: no driving until after a night's sleep"
DEFAULT_DOSE_MG_PER_KG = Decimal("0.5")  # CLINICAL.md §1: typically 0.5 mg/kg
DEFAULT_DURATION_MIN = 40  # CLINICAL.md §1: over 40 minutes
USUAL_DOSE = (Decimal("0.1"), Decimal("0.75"))  # CLINICAL.md §1: Andrade 2017, 0.1–0.75 mg/kg
USUAL_MIN_OBSERVED = 120  # CLINICAL.md §1: observed for at least 2 hours
# Hard limits (the model's check constraints): outside them a value is refused.
DOSE_LIMITS = (Decimal("0.01"), Decimal("2.0"))
WEIGHT_LIMITS = (Decimal("20"), Decimal("350"))
INT_LIMITS = {"duration_min": (1, 240), "observed_min": (0, 1440)}
# The blood pressure, heart rate and SpO2 readings and their ranges are tracker/vitals.py's (CLINICAL.md §7).

BloodPressureInput = BloodPressure | tuple[int, int] | str | Mapping[str, int] | None


class InfusionFields(TypedDict, total=False):
    """What a clinician may set on an infusion besides its kind and status (API.md infusions)."""

    scheduled_for: datetime | None
    given_at: datetime | None
    dose_mg_per_kg: Decimal | float | str | None
    weight_kg: Decimal | float | str | None
    duration_min: int | None
    bp_before: BloodPressureInput
    bp_during: BloodPressureInput  # CLINICAL.md §7: about 40 minutes in
    bp_after: BloodPressureInput  # CLINICAL.md §7: before discharge
    heart_rate_before: int | None
    heart_rate_during: int | None
    heart_rate_after: int | None
    spo2_before: int | None
    spo2_during: int | None
    spo2_after: int | None
    observed_min: int | None
    ride_home_confirmed: bool | None
    notes: str | None


EDITABLE = frozenset({"kind", "status", *InfusionFields.__optional_keys__})


def _decimal(name: str, value: Any, places: str, limits: tuple[Decimal, Decimal], problems: list[FieldProblem]) -> Any:
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        number = Decimal(str(value))
        if not number.is_finite():
            raise InvalidOperation  # NaN and infinities: no dose or weight
        number = number.quantize(Decimal(places), ROUND_HALF_UP)
    except InvalidOperation:
        problems.append(FieldProblem(name, "must be a number"))
        return None
    if not limits[0] <= number <= limits[1]:
        problems.append(FieldProblem(name, f"must be {limits[0]}–{limits[1]}"))
    return number


def _whole(name: str, value: Any, limits: tuple[int, int], problems: list[FieldProblem]) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(FieldProblem(name, "must be a whole number"))
        return None
    if not limits[0] <= value <= limits[1]:
        problems.append(FieldProblem(name, f"must be {limits[0]}–{limits[1]}"))
    return value


def out_of_range(name: str, too_late: bool) -> str:
    """The bound a time beyond the calendar's ends broke, in the words of the field: a given time is not in the
    future, a booking at most two years ahead; only a time before 2000 is the calendar's own bound."""
    if not too_late:
        return OUT_OF_RANGE
    return GIVEN_IN_FUTURE if name == "given_at" else BOOKING_TOO_FAR


def booking_horizon(now: datetime) -> datetime:
    """The latest time a visit may be booked for: the same moment BOOKING_YEARS_AHEAD years on."""
    try:
        return now.replace(year=now.year + BOOKING_YEARS_AHEAD)
    except ValueError:  # 29 February
        return now.replace(year=now.year + BOOKING_YEARS_AHEAD, day=28)


def _moment(name: str, value: Any, problems: list[FieldProblem]) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.utcoffset() is None:
        problems.append(FieldProblem(name, "must be a date and time with its time zone offset"))
        return None
    if in_range_utc(value) is None:
        problems.append(FieldProblem(name, out_of_range(name, value.year >= 2000)))
        return None
    return value


def unusual(dose: Decimal | None, observed_min: int | None) -> list[FieldProblem]:
    """The values outside the usual ranges: kept when the clinician confirms them, and shown beside the infusion.

    The one source of those ranges, for the forms, the API's warnings and the infusions already saved.
    """
    warnings = []
    if dose is not None and not USUAL_DOSE[0] <= dose <= USUAL_DOSE[1]:
        # CLINICAL.md §1: the usual range is 0.1–0.75 mg/kg; outside it the clinician confirms.
        warnings.append(FieldProblem("dose_mg_per_kg", "outside the usual 0.1–0.75 mg/kg"))
    if observed_min is not None and 0 <= observed_min < USUAL_MIN_OBSERVED:
        # CLINICAL.md §1: observation for at least 2 hours after each infusion.
        warnings.append(FieldProblem("observed_min", "under the usual 120 minutes of observation"))
    return warnings


def checks_of_saved(
    status: str, dose: Decimal | None, observed_min: int | None, ride_home_confirmed: bool | None
) -> list[FieldProblem]:
    """What a clinician should see beside an infusion already saved: its unusual values, and for one given,
    a ride home recorded as not confirmed (CLINICAL.md §1: no driving until after a full night's sleep)."""
    checks = unusual(dose, observed_min if status == "given" else None)
    if status == "given" and ride_home_confirmed is False:
        checks.append(FieldProblem("ride_home_confirmed", RIDE_HOME_NOT_CONFIRMED))
    return checks


def to_confirm(values: Mapping[str, Any], touched: Collection[str]) -> list[FieldProblem]:
    """The values of a visit being recorded as given that a clinician confirms before it is saved, on the API
    too (with hold_confirmed, as a hold blood pressure): heart rate and SpO2 outside the usual ranges
    (tracker/vitals.py), and a ride home recorded as not confirmed (CLINICAL.md §1 and §7: no driving until
    after a night's sleep). Only the fields being set now, as for the other warnings."""
    if values.get("status") != "given":
        return []
    found = unusual_numbers({name: values.get(name) for name in NUMBER_LIMITS})
    if values.get("ride_home_confirmed") is False:
        found.append(FieldProblem("ride_home_confirmed", RIDE_HOME_NOT_CONFIRMED))
    return [w for w in found if w.field in touched]


def day_checks(
    given_at: datetime, scheduled_for: datetime | None, others_given: Collection[datetime], zone: tzinfo
) -> list[FieldProblem]:
    """A given time to confirm: on another local day than its booking (a later visit recorded early), or on a
    day another infusion of the patient was given (CLINICAL.md §1: a series of separate infusions, one a visit).
    Days are the clinic's calendar days (`zone`)."""
    day = given_at.astimezone(zone).date()
    found = []
    if scheduled_for is not None and (booked := scheduled_for.astimezone(zone).date()) != day:
        found.append(FieldProblem("given_at", f"booked for {booked:%b} {booked.day}, not the day it is given"))
    if any(other.astimezone(zone).date() == day for other in others_given):
        found.append(FieldProblem("given_at", "another infusion of this patient is recorded as given that day"))
    return found


BOOKED_SAME_TIME = "another infusion of this patient is booked at this time"
BOOKED_SAME_DAY = "another infusion of this patient is booked that day"


def booking_checks(scheduled_for: datetime, others_booked: Collection[datetime], zone: tzinfo) -> list[FieldProblem]:
    """A booking to confirm: at the time of another booking of the patient, or on its local day (CLINICAL.md §1:
    a series of separate infusions, one a visit). Days are the clinic's calendar days (`zone`)."""
    if scheduled_for in others_booked:
        return [FieldProblem("scheduled_for", BOOKED_SAME_TIME)]
    day = scheduled_for.astimezone(zone).date()
    if any(other.astimezone(zone).date() == day for other in others_booked):
        return [FieldProblem("scheduled_for", BOOKED_SAME_DAY)]
    return []


def confirmation_key(values: Mapping[str, Any], warnings: Collection[FieldProblem]) -> str:
    """Names the unusual values a clinician confirmed, so a confirmation covers those values and no others."""
    return ";".join(sorted(f"{w.field}={values.get(w.field)}" for w in warnings))


def clean(
    raw: Mapping[str, Any], now: datetime, touched: Collection[str]
) -> tuple[dict[str, Any], list[FieldProblem], list[FieldProblem]]:
    """The infusion's column values from its fields, with the refusals and the warnings.

    Warnings concern only the fields being set now, so editing notes does not repeat them; so does the refusal of
    a booking in the past, so a booked time that has passed does not stop the visit being recorded as given.
    """
    problems: list[FieldProblem] = []
    kind, status = raw.get("kind"), raw.get("status")
    if kind not in INFUSION_KINDS:
        problems.append(FieldProblem("kind", f"use one of {', '.join(INFUSION_KINDS)}"))
    if status not in INFUSION_STATUSES:
        problems.append(FieldProblem("status", "use scheduled or given"))
    scheduled_for = _moment("scheduled_for", raw.get("scheduled_for"), problems)
    given_at = _moment("given_at", raw.get("given_at"), problems)
    if status == "scheduled" and scheduled_for is None and "scheduled_for" not in {p.field for p in problems}:
        problems.append(FieldProblem("scheduled_for", "required for a scheduled infusion"))
    if status == "scheduled" and given_at is not None:
        problems.append(FieldProblem("given_at", "only for an infusion that was given"))
    if status == "scheduled" and "scheduled_for" in touched and scheduled_for is not None and scheduled_for <= now:
        # A booking is for a visit still to come: booked or moved into the past, it would wait for a visit that is
        # over. A visit already held is recorded as given, at its time.
        problems.append(FieldProblem("scheduled_for", BOOKING_IN_PAST))
    if status == "scheduled" and scheduled_for is not None and scheduled_for > booking_horizon(now):
        problems.append(FieldProblem("scheduled_for", BOOKING_TOO_FAR))
    if given_at is not None and given_at > now:
        problems.append(FieldProblem("given_at", GIVEN_IN_FUTURE))
    dose = _decimal("dose_mg_per_kg", raw.get("dose_mg_per_kg"), "0.001", DOSE_LIMITS, problems)
    weight = _decimal("weight_kg", raw.get("weight_kg"), "0.1", WEIGHT_LIMITS, problems)
    duration = _whole("duration_min", raw.get("duration_min"), INT_LIMITS["duration_min"], problems)
    observed = _whole("observed_min", raw.get("observed_min"), INT_LIMITS["observed_min"], problems)
    readings = {name: blood_pressure(name, raw.get(name), problems) for name in BP_FIELDS}
    numbers = {name: whole_in_range(name, raw.get(name), problems) for name in NUMBER_LIMITS}
    ride_home = raw.get("ride_home_confirmed")
    if ride_home is not None and not isinstance(ride_home, bool):
        problems.append(FieldProblem("ride_home_confirmed", "must be true or false"))
    notes = raw.get("notes")
    if notes is not None and not isinstance(notes, str):
        problems.append(FieldProblem("notes", "must be text"))
    notes = notes.strip() or None if isinstance(notes, str) else None
    refused = {p.field for p in problems}
    warnings = [
        w
        for w in unusual(dose if "dose_mg_per_kg" not in refused else None, observed)
        if w.field in touched and w.field not in refused
    ]
    total = None
    if dose is not None and weight is not None:
        total = (dose * weight).quantize(Decimal("0.1"), ROUND_HALF_UP)
    values = {
        "kind": kind,
        "status": status,
        "scheduled_for": scheduled_for,
        "given_at": given_at,
        "dose_mg_per_kg": dose,
        "weight_kg": weight,
        "total_mg": total,
        "duration_min": duration,
        **{f"{name}_systolic": r.systolic if r else None for name, r in readings.items()},
        **{f"{name}_diastolic": r.diastolic if r else None for name, r in readings.items()},
        **numbers,
        "observed_min": observed,
        "ride_home_confirmed": ride_home,
        "notes": notes,
    }
    return values, problems, warnings
