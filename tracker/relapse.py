"""The relapse rule of CLINICAL.md §5: when returning symptoms ask for a booster.

Pure (no Flask, database or clock): the caller loads a patient's data, calls
`assess`, and carries out the returned `Action`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

# CLINICAL.md §5: applies only to patients past induction.
ELIGIBLE_PHASES = frozenset({"maintenance", "as_needed"})
# CLINICAL.md §5: a clinician declining or cancelling a request is not overturned.
BLOCKING_OUTCOMES = frozenset({"declined", "cancelled"})
ROUTINE = "routine"
URGENT = "urgent"


def _require_aware(moment: datetime, name: str) -> None:
    """Refuse naive datetimes: every moment in this module is timezone-aware UTC."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True)
class Thresholds:
    """A clinic's relapse settings; the defaults are the table of CLINICAL.md §5."""

    signal_min_total: int = 10
    signal_min_rise: int = 5
    confirm_min_days: int = 5
    confirm_max_days: int = 15
    urgent_min_total: int = 20

    def __post_init__(self) -> None:
        for setting in fields(self):
            if getattr(self, setting.name) < 0:
                raise ValueError(f"{setting.name} must not be negative")
        # A pair is two assessments at different moments.
        if not 1 <= self.confirm_min_days <= self.confirm_max_days:
            raise ValueError("need 1 <= confirm_min_days <= confirm_max_days")


@dataclass(frozen=True)
class CheckInPoint:
    """One scored PHQ-9 check-in; `stored_at` is when it was stored (None: at the moment it was taken)."""

    id: str
    taken_at: datetime
    total: int
    stored_at: datetime | None = None

    def __post_init__(self) -> None:
        _require_aware(self.taken_at, "taken_at")
        if self.stored_at is not None:
            _require_aware(self.stored_at, "stored_at")

    @property
    def stored(self) -> datetime:
        """When a decision could first have seen it (CLINICAL.md §5)."""
        return self.taken_at if self.stored_at is None else self.stored_at


@dataclass(frozen=True)
class InfusionPoint:
    """One infusion actually given (of any kind)."""

    id: str
    given_at: datetime

    def __post_init__(self) -> None:
        _require_aware(self.given_at, "given_at")


@dataclass(frozen=True)
class Decision:
    """A clinician's decision on a booster request ("declined" or "cancelled")."""

    request_id: str
    decided_at: datetime
    outcome: str

    def __post_init__(self) -> None:
        _require_aware(self.decided_at, "decided_at")


@dataclass(frozen=True)
class OpenRequest:
    """The patient's open booster request: its urgency and the check-ins it cites."""

    id: str
    urgency: str
    evidence: frozenset[str]


@dataclass(frozen=True)
class Signal:
    """A window check-in whose total is high and risen above the reference low."""

    checkin_id: str
    taken_at: datetime
    total: int
    reference_low: int


@dataclass(frozen=True)
class Trigger:
    """A signal that calls for a booster: urgent alone, or routine closing a pair."""

    checkin_id: str
    taken_at: datetime
    urgency: str
    paired_with: str | None


@dataclass(frozen=True)
class Action:
    """What the caller should do now: nothing, raise a request, or add evidence."""

    kind: str
    urgency: str | None = None
    evidence: tuple[str, ...] = ()
    request_id: str | None = None


NO_ACTION = Action(kind="none")


@dataclass(frozen=True)
class Assessment:
    """Everything `assess` found for one patient, and the action it implies."""

    eligible: bool
    window_start: datetime | None
    signals: tuple[Signal, ...]
    triggers: tuple[Trigger, ...]
    action: Action
    confirm_checkin_due: datetime | None
    # CLINICAL.md §5: a severe check-in without a trigger and no request to join: an attention alert, once
    # per window (the caller keys it by window_start).
    severe_alert: str | None = None


def sort_checkins(checkins: Sequence[CheckInPoint]) -> tuple[CheckInPoint, ...]:
    """Check-ins in a total order, so input order never matters."""
    # CLINICAL.md §5: ordered by taken_at, then by when they were stored (then the id, for ties).
    return tuple(sorted(checkins, key=lambda point: (point.taken_at, point.stored, point.id)))


def window_start(infusions: Sequence[InfusionPoint]) -> datetime | None:
    """When the current window opened: the most recent given infusion, if any."""
    # CLINICAL.md §5: the window follows the most recent infusion given, of any kind.
    return max((infusion.given_at for infusion in infusions), default=None)


def window(checkins: Sequence[CheckInPoint], infusions: Sequence[InfusionPoint]) -> tuple[CheckInPoint, ...]:
    """The window's check-ins, sorted: those taken strictly after the last infusion."""
    start = window_start(infusions)
    # CLINICAL.md §5: check-ins before the most recent infusion never count.
    return sort_checkins([c for c in checkins if start is None or c.taken_at > start])


def reference_lows(window_checkins: Sequence[CheckInPoint]) -> tuple[int | None, ...]:
    """The reference low of each check-in of a sorted window (None for the first)."""
    lows: list[int | None] = []
    lowest: int | None = None
    for point in window_checkins:
        # CLINICAL.md §5: the lowest total among the window's check-ins taken before it.
        lows.append(lowest)
        lowest = point.total if lowest is None else min(lowest, point.total)
    return tuple(lows)


def find_signals(window_checkins: Sequence[CheckInPoint], thresholds: Thresholds) -> tuple[Signal, ...]:
    """The signals of a sorted window, in order."""
    signals = []
    lows = reference_lows(window_checkins)
    for point, low in zip(window_checkins, lows, strict=True):
        if low is None:
            continue  # CLINICAL.md §5: the first check-in of a window is no signal.
        # CLINICAL.md §5: total >= signal_min_total, total - reference low >= rise.
        if point.total >= thresholds.signal_min_total and (point.total - low >= thresholds.signal_min_rise):
            signals.append(Signal(point.id, point.taken_at, point.total, low))
    return tuple(signals)


def find_triggers(
    window_checkins: Sequence[CheckInPoint],
    signals: Sequence[Signal],
    thresholds: Thresholds,
) -> tuple[Trigger, ...]:
    """The triggers of a sorted window, given its signals, in order.

    A routine trigger pairs with the latest qualifying earlier signal: the pair a
    later decision is least likely to have seen (see `active_triggers`).
    """
    signal_ids = {signal.checkin_id for signal in signals}
    nearest = timedelta(days=thresholds.confirm_min_days)
    farthest = timedelta(days=thresholds.confirm_max_days)
    triggers = []
    for index, point in enumerate(window_checkins):
        if point.id not in signal_ids:
            continue
        if point.total >= thresholds.urgent_min_total:
            # CLINICAL.md §5: a signal with total >= urgent_min_total is urgent.
            triggers.append(Trigger(point.id, point.taken_at, URGENT, None))
            continue
        for earlier in reversed(window_checkins[:index]):
            # CLINICAL.md §5: every check-in between the two must be a signal too.
            if earlier.id not in signal_ids:
                break
            elapsed = point.taken_at - earlier.taken_at
            # CLINICAL.md §5: the earlier signal lies 5 x 24 h to 15 x 24 h before it.
            if elapsed > farthest:
                break
            if elapsed >= nearest:
                triggers.append(Trigger(point.id, point.taken_at, ROUTINE, earlier.id))
                break
    return tuple(triggers)


def decision_cutoff(decisions: Sequence[Decision], start: datetime | None) -> datetime | None:
    """The latest decline or cancellation within the window, if any."""
    return max(
        (
            decision.decided_at
            for decision in decisions
            # CLINICAL.md §5: only declined or cancelled requests hold back a trigger.
            if decision.outcome in BLOCKING_OUTCOMES
            # CLINICAL.md §5: only decisions in this window; an infusion starts afresh.
            and (start is None or decision.decided_at > start)
        ),
        default=None,
    )


def active_triggers(
    triggers: Sequence[Trigger],
    window_checkins: Sequence[CheckInPoint],
    cutoff: datetime | None,
) -> tuple[Trigger, ...]:
    """Triggers no decision has seen: the trigger and its pair's signal were stored after it.

    A check-in stored at the very moment of a decision counts as seen by it; one stored after it is new, even
    when it was taken earlier (a late sync, a back-dated entry).
    """
    if cutoff is None:
        return tuple(triggers)
    unseen = unseen_ids(window_checkins, cutoff)
    # CLINICAL.md §5: a decision is not overturned by the evidence it saw (stored before it).
    return tuple(
        trigger
        for trigger in triggers
        if trigger.checkin_id in unseen and (trigger.paired_with is None or trigger.paired_with in unseen)
    )


def unseen_ids(window_checkins: Sequence[CheckInPoint], cutoff: datetime | None) -> frozenset[str]:
    """The window's check-ins stored after the latest decision: the evidence no decision could have seen."""
    return frozenset(point.id for point in window_checkins if cutoff is None or point.stored > cutoff)


def severe_untriggered(
    window_checkins: Sequence[CheckInPoint],
    triggers: Sequence[Trigger],
    cutoff: datetime | None,
    thresholds: Thresholds,
) -> tuple[str, ...]:
    """Check-ins with total >= urgent_min_total that are no trigger, stored after any decision, in order."""
    triggered = {trigger.checkin_id for trigger in triggers}
    unseen = unseen_ids(window_checkins, cutoff)
    # CLINICAL.md §5: severe without a trigger (the first of its window, or not risen enough above its low).
    return tuple(
        point.id
        for point in window_checkins
        if point.total >= thresholds.urgent_min_total and point.id not in triggered and point.id in unseen
    )


def evidence_ids(triggers: Sequence[Trigger], window_checkins: Sequence[CheckInPoint]) -> tuple[str, ...]:
    """The check-in ids the triggers rest on (each and its pair), in window order."""
    cited = {trigger.checkin_id for trigger in triggers}
    cited |= {trigger.paired_with for trigger in triggers if trigger.paired_with is not None}
    return tuple(point.id for point in window_checkins if point.id in cited)


def next_action(
    active: Sequence[Trigger],
    window_checkins: Sequence[CheckInPoint],
    open_request: OpenRequest | None,
    severe: Sequence[str] = (),
) -> Action:
    """The action the active triggers (and severe check-ins without one) call for, given any open request.

    Only evidence not yet cited produces an action, so acting on the result and
    assessing again yields no action. Severe check-ins alone raise nothing: they
    join a request (open, or raised now by a trigger) and make it urgent.
    """
    if not active and (open_request is None or not severe):
        return NO_ACTION
    cited = set(evidence_ids(active, window_checkins)) | set(severe)
    evidence = tuple(point.id for point in window_checkins if point.id in cited)
    if open_request is None:
        # CLINICAL.md §5: a trigger raises a booster request.
        urgent = bool(severe) or any(trigger.urgency == URGENT for trigger in active)
        return Action(kind="raise", urgency=URGENT if urgent else ROUTINE, evidence=evidence)
    # CLINICAL.md §5: with a request open, the check-in is added to it as evidence.
    new = tuple(id_ for id_ in evidence if id_ not in open_request.evidence)
    if not new:
        return NO_ACTION
    # CLINICAL.md §5: an urgent trigger added to a routine request makes it urgent; so does a severe check-in
    # without a trigger.
    escalate = any(id_ in severe for id_ in new) or any(
        trigger.urgency == URGENT and trigger.checkin_id in new for trigger in active
    )
    return Action(
        kind="add_evidence",
        urgency=URGENT if escalate else open_request.urgency,
        evidence=new,
        request_id=open_request.id,
    )


def confirm_checkin_due(
    window_checkins: Sequence[CheckInPoint],
    signals: Sequence[Signal],
    active: Sequence[Trigger],
    cutoff: datetime | None,
    thresholds: Thresholds,
) -> datetime | None:
    """When a confirming check-in could first close a pair, if one is awaited.

    Awaited when the latest check-in is a signal that triggered nothing and came
    after any decision. The due time counts from the earliest signal of its
    unbroken run that a later check-in could still pair with.
    """
    if not window_checkins:
        return None
    signal_ids = {signal.checkin_id for signal in signals}
    latest = window_checkins[-1]
    if latest.id not in signal_ids or latest.id in {t.checkin_id for t in active}:
        return None
    # CLINICAL.md §5: a pair with a signal a decision saw raises nothing.
    unseen = unseen_ids(window_checkins, cutoff)
    if latest.id not in unseen:
        return None
    nearest = timedelta(days=thresholds.confirm_min_days)
    first = latest
    for earlier in reversed(window_checkins[:-1]):
        # CLINICAL.md §5: a non-signal in between breaks the pair.
        if earlier.id not in signal_ids or earlier.id not in unseen:
            break
        # A run signal this far back is past confirm_max_days: no later pair with it.
        if latest.taken_at - earlier.taken_at >= nearest:
            break
        first = earlier
    # CLINICAL.md §5: ask for a confirming check-in confirm_min_days after a signal.
    return first.taken_at + nearest


def assess(
    phase: str,
    checkins: Sequence[CheckInPoint],
    infusions: Sequence[InfusionPoint],
    decisions: Sequence[Decision],
    open_request: OpenRequest | None,
    thresholds: Thresholds,
) -> Assessment:
    """Judge a patient's check-ins under §5 and say what to do about them now.

    A function of the data alone: the same data always gives the same Assessment,
    whatever the input order.
    """
    start = window_start(infusions)
    # CLINICAL.md §5: applies only to phases maintenance and as_needed.
    if phase not in ELIGIBLE_PHASES:
        return Assessment(False, start, (), (), NO_ACTION, None)
    in_window = window(checkins, infusions)
    signals = find_signals(in_window, thresholds)
    triggers = find_triggers(in_window, signals, thresholds)
    cutoff = decision_cutoff(decisions, start)
    active = active_triggers(triggers, in_window, cutoff)
    severe = severe_untriggered(in_window, triggers, cutoff, thresholds)
    action = next_action(active, in_window, open_request, severe)
    alone = severe and open_request is None and action.kind == "none"
    return Assessment(
        eligible=True,
        window_start=start,
        signals=signals,
        triggers=triggers,
        action=action,
        confirm_checkin_due=confirm_checkin_due(in_window, signals, active, cutoff, thresholds),
        severe_alert=severe[0] if alone else None,
    )
