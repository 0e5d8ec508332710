"""The demo's story: what each of the clinic's people does when, over the year up to `end`. Pure.

`tell(seed, end)` gives the same Story for the same seed and end. The steps follow the clinic's own rules so
that, played through the services and jobs (tracker/demo/player.py), they give every screen something true:
an induction series of six infusions, then a check-in after each weekly reminder (CLINICAL.md §1); relapses
as a raised check-in, then a higher one when the relapse scan asks for a confirming check-in five days later,
so that the scan raises a routine request (§5); an urgent score raising an urgent request on its own; item 9
answered above 0 (§3). Who raises what is left to the system: the story says only what people do.

Patients who use the app (tracker/demo/cast.py) set a password from their invitation and check in there; the
others check in from the one-time link in each reminder, so every check-in of theirs follows a reminder.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tracker.demo import gad7_steps, medicine_steps, side_effect_steps, steps
from tracker.demo.cast import CAST, NO_RECEIPTS, PHONE_OUTAGE, TENURE, VARIANTS, ClinicPlan, Person, people, phone_of
from tracker.demo.medicine_steps import AddMedicine
from tracker.demo.steps import Carrier, Step
from tracker.reminders import local_instant

LATEST = timedelta(minutes=12)  # the safety check-in, the story's last step, this long before `end`
SAFETY_NOTE = "Called the patient; C-SSRS screen done, safety plan reviewed."


@dataclass(frozen=True)
class Story:
    clinic: ClinicPlan
    people: tuple[Person, ...]
    steps: tuple[Step, ...]  # in time order
    reminder_runs: tuple[datetime, ...]  # when reminders fall due: weekly slots, visit mornings, confirmations
    gaps_due: tuple[datetime, ...]  # when a gap in someone's weekly check-ins is due a nudge or an alert
    carrier: Carrier
    start: datetime  # the clinic opens
    end: datetime  # now
    login: int  # the patient whose phone is printed with the demo logins
    showcase: Mapping[str, int]  # what the dashboard's tour opens first -> the patient it belongs to


def answers_for(total: int, rng: random.Random, item9: int = 0) -> tuple[int, ...]:
    """Nine answers 0–3 with the given total (clamped to what nine items allow)."""
    answers = [0] * 8 + [item9]
    remaining = max(0, min(27, total) - item9)
    slots = [i for i in range(8) for _ in range(3)]
    rng.shuffle(slots)
    for i in slots[:remaining]:
        answers[i] += 1
    return tuple(answers)


class _Life:
    """One patient's year, written as steps; the reminders they are due go into `runs`."""

    def __init__(self, person: Person, clinic: ClinicPlan, rng: random.Random, end: datetime) -> None:
        self.person, self.clinic, self.rng, self.end = person, clinic, rng, end
        self.zone = ZoneInfo(clinic.timezone)
        self.cutoff = end - LATEST
        self.steps: list[steps.Step] = []
        self.runs: set[datetime] = set()
        self.outages: list[steps.Outage] = []
        self.cadence_start: datetime | None = None  # the sixth infusion: weekly check-ins are owed from then
        self.weight = Decimal(rng.randint(55, 110))
        self.baseline = rng.randint(16, 21)
        self.low = 6 if person.kind == "relapsing_now" else rng.randint(2, 6)
        own_slot = person.uses_app and person.index % 3 != 0
        self.slot_weekday = person.index % 7 if own_slot else clinic.reminder_weekday
        self.slot_time = time(9 + person.index % 10, 30 if person.index % 2 else 0) if own_slot else None

    # Time: the clinic's wall clock.

    def local(self, day: date, hour: int, minute: int = 0) -> datetime:
        return local_instant(day, time(hour, minute), self.zone)

    def day_of(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def weekday_from(self, day: date, avoid: int | None = None) -> date:
        """The first clinic day (Monday to Friday) on or after `day`, other than weekday `avoid`."""
        while day.weekday() >= 5 or day.weekday() == avoid:
            day += timedelta(days=1)
        return day

    def weekday_before(self, day: date) -> date:
        """The last clinic day on or before `day`."""
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        return day

    def visit_from(self, day: date, avoid: int | None = None) -> datetime:
        """A 10:00 visit on the first clinic day from `day`, never within hours of now (it is given or booked)."""
        while True:
            day = self.weekday_from(day, avoid)
            visit = self.local(day, 10)
            if not self.cutoff - timedelta(hours=3) < visit < self.end + timedelta(hours=2):
                return visit
            day += timedelta(days=1)

    def slots(self, after: datetime) -> list[datetime]:
        """The weekly reminder's moments after `after` up to the story's last moment (CLINICAL.md §1)."""
        at = self.slot_time or self.clinic.reminder_local_time
        day = self.day_of(after)
        day += timedelta(days=(self.slot_weekday - day.weekday()) % 7)
        found = []
        while (moment := self.local(day, at.hour, at.minute)) <= self.cutoff:
            if moment > after:
                found.append(moment)
            day += timedelta(days=7)
        return found

    def minutes(self, low: int, high: int) -> timedelta:
        return timedelta(minutes=self.rng.randint(low, high))

    # Steps.

    def add(self, step: steps.Step) -> None:
        assert step.at <= self.cutoff, f"{type(step).__name__} of patient {step.person} after the story's end"
        self.steps.append(step)

    def checkin(self, at: datetime, total: int, item9: int = 0, source: str | None = None) -> None:
        if at > self.cutoff:
            return
        total = max(0, min(27, total))
        source = source or ("app" if self.person.uses_app else "web")
        answers = answers_for(total, self.rng, item9)
        self.add(steps.CheckIn(at, self.person.index, answers, min(3, total // 7), source))

    def gad7(self, at: datetime, total: int) -> None:
        """CLINICAL.md §7: the GAD-7 the clinic asks every 4 weeks in maintenance, answered just after the PHQ-9
        (in the app, or by phone with the clinic by those who do not use it). Drawn without the story's random
        numbers, so everyone else's year is as it was."""
        if at > self.cutoff:
            return
        source = "app" if self.person.uses_app else "clinic"
        answers = gad7_steps.answers_for(max(0, min(21, total)))
        self.add(steps.CheckIn(at, self.person.index, answers, None, source, instrument="gad7"))

    def noise(self, centre: int, spread: int) -> int:
        return centre + self.rng.randint(-spread, spread)

    def vitals(self, held: bool = False) -> steps.Vitals:
        rng = self.rng
        weight = self.weight + rng.choice((-1, 0, 0, 1))
        before = (rng.randint(112, 138), rng.randint(70, 84))
        after = (rng.randint(120, 148), rng.randint(76, 92))
        # Derived from the drawn readings, not drawn: the rest of the story keeps its random numbers.
        # Ketamine raises blood pressure most around 40 minutes in (CLINICAL.md §7).
        during = (before[0] + 8 + before[1] % 7, before[1] + 5)
        pulse = (62 + before[0] % 17, 70 + before[0] % 17, 66 + before[0] % 17)
        spo2 = (97 + before[1] % 3, 96 + before[1] % 3, 97 + before[1] % 3)
        if not held:
            return steps.Vitals(weight, before, after, bp_during=during, heart_rate=pulse, spo2=spo2)
        # CLINICAL.md §7: at the hold-and-review level 40 minutes in; the clinician reviewed it and gave the infusion.
        note = "BP 182/98 at 40 min: reviewed at the chair, no symptoms; settled to 142/88 by discharge."
        return steps.Vitals(
            weight, before, (142, 88), bp_during=(182, 98), heart_rate=pulse, spo2=spo2, hold_confirmed=True, notes=note
        )

    def weekly(self, slot: datetime, total: int) -> None:
        """The week's check-in, a little after its reminder."""
        self.checkin(slot + self.minutes(5, 150), total)

    # The course.

    def enrol(self, at: datetime) -> None:
        n = self.person.index
        self.add(steps.Enrol(at, n))
        self.checkin(at + timedelta(minutes=20), self.baseline, source="clinic")
        if (taken := medicine_steps.TAKEN.get(self.person.kind)) is not None:
            name, dose, days = taken  # CLINICAL.md §7: entered at enrolment
            self.add(AddMedicine(at + timedelta(minutes=30), n, name, dose, (at - timedelta(days=days)).date()))
        accepted = at + self.minutes(60, 360)
        if self.person.uses_app and accepted <= self.cutoff:
            self.add(steps.AcceptInvitation(accepted, n))
            if self.slot_time is not None:
                self.add(steps.ChooseReminders(accepted + timedelta(minutes=3), n, self.slot_weekday, self.slot_time))

    def induction(self, first_day: date, target: int) -> datetime | None:
        """The series of CLINICAL.md §1: a visit every two or three days, each booked at the first; a check-in
        the morning of each after its reminder. Returns the last visit, or None while the series goes on."""
        n, count = self.person.index, self.clinic.induction_infusion_count
        visits = [self.visit_from(first_day)]
        while len(visits) < count:
            visits.append(self.visit_from(self.day_of(visits[-1]) + timedelta(days=self.rng.choice((2, 2, 3)))))
        first = visits[0]
        self.add(steps.MovePhase(first - timedelta(minutes=25), n, "induction", "Accepted for an induction series."))
        self.checkin(first - timedelta(minutes=15), self.baseline + self.rng.randint(-1, 1), source="clinic")
        if self.person.kind == "non_responder":
            # CLINICAL.md §4, §7: a baseline GAD-7 at intake, for the patients the clinic will follow with it.
            self.gad7(first - timedelta(minutes=10), 12 + n % 5)
        # The printed login's first infusion is the one given at the hold level (CLINICAL.md §7).
        self.add(steps.Infuse(first, n, "induction", self.vitals(held=n == 0)))
        # Some patients arrange their rides home for the whole series at the first visit; the calendar shows who not.
        ride_home = True if n % 2 == 0 else None
        for visit in visits[1:]:
            self.add(steps.Book(first + timedelta(minutes=50), n, "induction", visit, ride_home))
        if self.person.kind == "in_induction" and n == CAST.index("in_induction"):
            reason = "Observation time entered before the patient left; they stayed 150 minutes."
            self.add(steps.CorrectInfusion(first + timedelta(hours=3), n, (("observed_min", 150),), reason))
        for k, visit in enumerate(visits[1:], start=1):
            morning = self.local(self.day_of(visit), 8)
            if morning > self.cutoff:
                return None
            self.runs.add(morning)
            level = round(self.baseline - (self.baseline - target) * k / count)
            self.checkin(morning + self.minutes(10, 70), self.noise(level, 1))
            if visit > self.cutoff:
                return None
            self.add(steps.GiveBooked(visit, n, self.vitals()))
        return visits[-1]

    def clinic_morning(self, after: datetime, hour: int = 9, minute: int = 30) -> datetime:
        """The first clinic-day morning at hour:minute after `after`: when the clinician works the queue."""
        day = self.day_of(after)
        while (moment := self.local(self.weekday_from(day), hour, minute)) <= after:
            day = self.weekday_from(day) + timedelta(days=1)
        return moment

    def relapse(
        self, weeks: list[datetime], i: int, until: datetime, how: str = "schedule", visit_after: datetime | None = None
    ) -> int | None:
        """A relapse from week i's check-in (CLINICAL.md §5): that one raised, the confirming check-in the scan
        asks for five days later higher still, then the clinic's decision and, unless declined, a booster (on a
        day after `visit_after`, if given). Returns the index of the first week after it, or None (and writes
        nothing) if it would end after `until`.
        """
        n, low, rng = self.person.index, self.low, self.rng
        first = weeks[i] + self.minutes(5, 150)
        due = first + timedelta(days=self.clinic.thresholds.confirm_min_days)  # the scan's confirming check-in
        second = due + self.minutes(10, 120)
        decided = self.clinic_morning(second + timedelta(hours=12))
        booking = self.clinic_morning(decided + timedelta(hours=20), 9, 15) if how == "approve" else decided
        visit = None
        if how != "decline":
            day = self.day_of(booking) + timedelta(days=rng.randint(2, 5))
            if visit_after is not None:
                day = max(day, self.day_of(visit_after) + timedelta(days=1))
            visit = self.visit_from(day, avoid=self.slot_weekday)
        over = visit or decided
        if over + timedelta(days=1) > until:
            return None
        self.checkin(first, low + rng.randint(8, 10))
        if how == "patient_asks":
            asked = self.local(self.day_of(first) + timedelta(days=1), 19, 30)
            self.add(steps.AskForBooster(asked, n, "Feeling the way I did before my last booster. Could I come in?"))
        self.runs.add(due)
        self.checkin(second, low + rng.randint(10, 13))
        if how == "decline":
            note = "Reviewed by phone: a hard week at work, not a relapse. Recheck in a week."
            self.add(steps.Decide(decided, n, "decline", note))
        elif how == "approve":
            self.add(steps.Decide(decided, n, "approve", "Booster agreed by phone; to book when the patient can."))
            self.add(steps.Decide(booking, n, "schedule", "Booked.", visit))
        else:
            self.add(steps.Decide(decided, n, "schedule", "Called the patient; booster booked.", visit))
        if visit is not None and visit <= self.cutoff:
            self.add(steps.GiveBooked(visit, n, self.vitals()))
        j = i + 1
        while j < len(weeks) and weeks[j] < over:
            # Still unwell until the booster (the scan cites these too); after a decline, it was a bad week.
            self.weekly(weeks[j], low + rng.randint(10, 12) if visit else self.noise(low + 1, 1))
            j += 1
        return j

    def relapsing(self, weeks: list[datetime], until: datetime) -> int:
        """Well for five to twelve weeks (relief lasts weeks to months, CLINICAL.md §1), then a relapse; again
        until `until`. Returns the index of the first week not written."""
        i, cycle = 0, 0
        while i < len(weeks):
            for _ in range(self.rng.randint(5, 12)):
                if i >= len(weeks) or weeks[i] >= until:
                    return i
                self.weekly(weeks[i], self.noise(self.low + 1, 1))
                i += 1
            if i >= len(weeks) or weeks[i] >= until:
                return i
            after = self.relapse(weeks, i, until, VARIANTS.get((self.person.index, cycle), "schedule"))
            if after is None:
                return i
            i, cycle = after, cycle + 1
        return i

    def live(self) -> None:
        """The patient's year, by their kind."""
        kind, rng, end = self.person.kind, self.rng, self.end
        today = self.day_of(end)
        if kind in ("in_induction", "screening"):
            # Recent: the first visit already happened, so walk back over weekends, never forward to now.
            first_day = self.weekday_before(today - timedelta(days=rng.randint(1, 6)))
            days_ago = rng.randint(3, 10)
            enrolled = self.weekday_before(min(today - timedelta(days=days_ago), first_day - timedelta(days=2)))
        else:
            days_ago = 358 if self.person.index == 0 else rng.randint(*TENURE[kind])
            enrolled = self.weekday_from(today - timedelta(days=days_ago))
            first_day = enrolled + timedelta(days=rng.randint(2, 5))
        self.enrol(self.local(enrolled, rng.randint(9, 15), rng.choice((0, 15, 30, 45))))
        if kind == "screening":
            return
        target = {"non_responder": self.baseline - 3, "in_induction": self.baseline - 6}.get(kind, self.low + 2)
        last_visit = self.induction(first_day, target)
        if last_visit is None:
            return
        # The sixth infusion moves the patient on (tracker/services/course): weekly reminders from then.
        self.cadence_start = last_visit
        weeks = self.slots(last_visit + timedelta(days=1))
        self.runs.update(weeks)
        getattr(self, f"_{kind}")(weeks)

    def _stays_well(self, weeks: list[datetime]) -> None:
        for week in weeks:
            self.weekly(week, self.noise(self.low + 1, 2))
        if self.person.index == 0:
            # The printed login's next visit (their "next visit" page): a maintenance infusion next week.
            booked = self.clinic_morning(self.end - timedelta(days=4), 11)
            visit = self.visit_from(self.day_of(self.end) + timedelta(days=6))
            self.add(steps.Book(booked, 0, "maintenance", visit, True))

    def _relapses(self, weeks: list[datetime]) -> None:
        self._stays_well(weeks[self.relapsing(weeks, self.end - timedelta(days=21)) :])

    def _booster_booked(self, weeks: list[datetime]) -> None:
        """Past relapses, then one now whose booster is booked for a day after now."""
        i = self.relapsing(weeks, self.end - timedelta(days=40))
        last = max(j for j, week in enumerate(weeks) if week <= self.end - timedelta(days=10))
        for week in weeks[i:last]:
            self.weekly(week, self.noise(self.low + 1, 1))
        written = self.relapse(weeks, last, self.end + timedelta(days=30), visit_after=self.end)
        assert written is not None  # `until` is past any visit it can book

    def _relapsing_now(self, weeks: list[datetime]) -> None:
        """A request the clinic must decide (CLINICAL.md §5): "PHQ-9 14 → 17 over 8 days, low was 6"."""
        i = self.relapsing(weeks, self.end - timedelta(days=45))
        for week in weeks[i:]:
            if week < self.end - timedelta(days=17):
                self.weekly(week, self.noise(self.low + 1, 1))
        end = self.end
        self.checkin(end - timedelta(days=16), self.low)
        first = end - timedelta(days=9)
        self.checkin(first, self.low + 8)
        self.runs.add(first + timedelta(days=self.clinic.thresholds.confirm_min_days))
        self.checkin(end - timedelta(days=1), self.low + 11)

    def _urgent_now(self, weeks: list[datetime]) -> None:
        """Well since induction, then a first relapse, and a severe one: CLINICAL.md §5 makes a signal at
        urgent_min_total or above urgent on its own."""
        for week in weeks:
            if week < self.end - timedelta(days=3):
                self.weekly(week, self.noise(self.low + 1, 1))
        self.checkin(self.end - timedelta(hours=20), self.clinic.thresholds.urgent_min_total + 2)

    def _non_responder(self, weeks: list[datetime]) -> None:
        """Less than half better after induction (CLINICAL.md §4); the clinic keeps them on weekly check-ins."""
        level = min(self.baseline - 3, 17)
        moved = self.clinic_morning(weeks[0] + timedelta(days=25), 11)
        reason = "Partial response after induction: maintenance, weekly check-ins, review at the next visit."
        if moved <= self.cutoff:
            self.add(steps.MovePhase(moved, self.person.index, "maintenance", reason))
        off = None
        if self.person.index == PHONE_OUTAGE:
            off = max(j for j, week in enumerate(weeks) if week <= self.end - timedelta(days=3))
            phone, week = self.person.phone, weeks[off]
            self.outages.append(steps.Outage(phone, week - timedelta(minutes=30), week + timedelta(hours=8)))
        asked: list[int] = []  # the weeks the GAD-7 was asked: every 4th from the first in maintenance
        for j, week in enumerate(weeks):
            if j == off:
                self.checkin(week + timedelta(days=2), self.noise(level, 2))  # when the phone was back
            else:
                self.weekly(week, self.noise(level, 2))
            answered = self.steps[-1].at >= week  # this week's PHQ-9 is in the story (not past its end)
            if answered and week > moved and (not asked or j - asked[0] == 4 * len(asked)):
                # Anxiety easing more than the depression: some respond on the GAD-7 (CLINICAL.md §4's definitions).
                base = 12 + self.person.index % 5  # as at intake, above
                self.gad7(self.steps[-1].at + timedelta(minutes=4), base // 2 + self.person.index % 3 - 2 * len(asked))
                asked.append(j)

    def _past_item9(self, weeks: list[datetime]) -> None:
        """Item 9 answered above 0 once (CLINICAL.md §3), followed up by phone in time; the follow-up documented a
        high risk, so the patient is flagged until a clinician clears it."""
        j = min(range(len(weeks)), key=lambda k: abs(weeks[k] - (weeks[0] + timedelta(days=60))))
        for k, week in enumerate(weeks):
            if k != j:
                self.weekly(week, self.noise(self.low + 1, 1))
                continue
            at = week + self.minutes(5, 150)
            self.checkin(at, self.low + 8, item9=1)
            # The screener asked on the call: thoughts with some intention of acting, no plan: its triage says high.
            asked = (("wish_dead", True), ("thoughts", True), ("method", True), ("intent", True), ("plan", False))
            screener = (*asked, ("behavior", False))
            self.add(
                steps.AcknowledgeSafety(at + timedelta(minutes=12), self.person.index, SAFETY_NOTE, "high", screener)
            )
            due = at + timedelta(days=self.clinic.thresholds.confirm_min_days)
            self.runs.add(due)
            self.checkin(due + self.minutes(20, 90), self.noise(self.low + 1, 1))

    def _safety_now(self, weeks: list[datetime]) -> None:
        """CLINICAL.md §3: the clinic must acknowledge it by its deadline; this one has 18 minutes left."""
        for week in weeks:
            if week < self.end - timedelta(days=1):
                self.weekly(week, self.noise(self.low + 1, 1))
        self.checkin(self.end - LATEST, self.low + 9, item9=2)

    def _gone_quiet(self, weeks: list[datetime]) -> None:
        """No check-in for 25 days: the missed-checkins job nudges, then tells the clinic."""
        for week in weeks:
            if week < self.end - timedelta(days=25):
                self.weekly(week, self.noise(self.low + 1, 1))

    def _in_induction(self, weeks: list[datetime]) -> None:
        """Never reached: the series is still going on."""

    def gaps_due(self) -> set[datetime]:
        """When a stretch without a check-in since the weekly cadence began is due the missed-checkins job's
        nudge (a week plus the clinic's grace) or its alert (the clinic's limit): tracker/jobs/missed_checkins.py.
        """
        if self.cadence_start is None:
            return set()
        start, clinic = self.cadence_start, self.clinic
        taken = sorted(
            s.at for s in self.steps if isinstance(s, steps.CheckIn) and s.instrument == "phq9" and s.at >= start
        )
        waits = (timedelta(days=7 + clinic.missed_checkin_grace_days), timedelta(days=clinic.missed_checkin_alert_days))
        due: set[datetime] = set()
        for since, until in zip([start, *taken], [*taken, self.end], strict=True):
            due.update(since + wait for wait in waits if since + wait < until)
        return due


def tell(seed: int, end: datetime) -> Story:
    """The demo's story up to `end` (now), the same for the same seed."""
    rng = random.Random(seed)
    clinic = ClinicPlan()
    cast = people()
    lives = []
    for person in cast:
        life = _Life(person, clinic, rng, end)
        life.live()
        lives.append(life)
    zone = ZoneInfo(clinic.timezone)
    start = local_instant(end.astimezone(zone).date() - timedelta(days=365), time(9, 0), zone)
    by_kind = {p.kind: p.index for p in cast}
    told = [s for life in lives for s in life.steps]
    # CLINICAL.md §7: side effects at the latest visit whose next evening has passed (demo/side_effect_steps.py).
    told += side_effect_steps.told(told, [p.uses_app for p in cast], clinic.timezone, lives[0].cutoff)
    told += gad7_steps.told(told, lives[0].cutoff)  # CLINICAL.md §7: GAD-7 monthly, for the printed login
    return Story(
        clinic=clinic,
        people=cast,
        steps=tuple(sorted(told, key=lambda s: (s.at, s.person))),
        reminder_runs=tuple(sorted({run for life in lives for run in life.runs})),
        gaps_due=tuple(sorted({due for life in lives for due in life.gaps_due()})),
        carrier=Carrier(
            no_receipts=frozenset({phone_of(NO_RECEIPTS)}),
            outages=tuple(o for life in lives for o in life.outages),
        ),
        start=start,
        end=end,
        login=0,
        showcase={
            "safety_alert": by_kind["safety_now"],
            "urgent_request": by_kind["urgent_now"],
            "routine_request": by_kind["relapsing_now"],
        },
    )
