"""Side effects in the clinic's outcomes report (CLINICAL.md §7): per item, how many reports gave each level.

Counted per timing (at discharge, the next morning), never summed across items: a checklist, not a scale. One
query for the whole clinic, however many reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from tracker import side_effects as rules
from tracker.extensions import db
from tracker.models import SideEffectReport, User
from tracker.services import scope


@dataclass(frozen=True)
class ItemCounts:
    item: rules.Item
    by_level: tuple[int, ...]  # reports with each level, in rules.LEVELS order


@dataclass(frozen=True)
class TimingCounts:
    timing: str
    reports: int
    items: tuple[ItemCounts, ...]


def counts_for_staff(staff: User) -> list[TimingCounts]:
    """The staff member's clinic's reports counted by item and level, for each timing."""
    columns = [
        sa.func.sum(sa.case((getattr(SideEffectReport, item.key) == level, 1), else_=0))
        for item in rules.ITEMS
        for level in range(len(rules.LEVELS))
    ]
    query = scope.scoped_to_clinic(
        staff,
        sa.select(SideEffectReport.timing, sa.func.count(SideEffectReport.id), *columns).group_by(
            SideEffectReport.timing
        ),
        SideEffectReport.clinic_id,
    )
    found = {row[0]: row for row in db.session.execute(query)}
    width = len(rules.LEVELS)
    result = []
    for timing in rules.TIMINGS:
        row = found.get(timing)
        sums = [int(value or 0) for value in row[2:]] if row is not None else [0] * (width * len(rules.ITEMS))
        items = tuple(
            ItemCounts(item, tuple(sums[index * width : (index + 1) * width])) for index, item in enumerate(rules.ITEMS)
        )
        result.append(TimingCounts(timing, int(row[1]) if row is not None else 0, items))
    return result
