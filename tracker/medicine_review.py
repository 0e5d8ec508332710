"""Medicines a clinic reviews before an infusion (CLINICAL.md §7, other medicines); pure.

A clinic's list holds entries: a medicine ("lamotrigine") or a class with its members ("benzodiazepines:
alprazolam, clonazepam, diazepam, lorazepam"). A patient's medicine matches an entry when the entry's name or one
of its members appears in the medicine's name as whole words, whatever the case ("Lorazepam 1 mg ODT" matches
"lorazepam"; "diazepam" does not match inside "oxazepam"). A match asks for a review before the infusion: the
product never advises a change of medicine (§7).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tracker.errors import FieldProblem

NAME_MAX = 100  # a name or a member, as typed
ENTRIES_MAX = 50
MEMBERS_MAX = 40
REVIEW_WORDS = "review before the infusion"

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def words(text: str) -> tuple[str, ...]:
    """The words of a name, case folded: letters and digits, everything else a separator."""
    return tuple(_WORD.findall(text.casefold()))


@dataclass(frozen=True)
class Entry:
    """One line of the clinic's list: a medicine, or a class (name) with its members."""

    name: str
    members: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "members": list(self.members)}

    @property
    def line(self) -> str:
        return f"{self.name}: {', '.join(self.members)}" if self.members else self.name


@dataclass(frozen=True)
class Match:
    """Which entry a medicine matched, and by which of its names."""

    entry: Entry
    term: str

    @property
    def words(self) -> str:
        """ "lorazepam (benzodiazepines)" for a class member, "lamotrigine" for a medicine named on its own."""
        if self.entry.members and self.term.casefold() != self.entry.name.casefold():
            return f"{self.term} ({self.entry.name})"
        return self.entry.name


def _contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    if not needle:
        return False
    size = len(needle)
    return any(haystack[i : i + size] == needle for i in range(len(haystack) - size + 1))


def match(medicine: str, entries: Iterable[Entry]) -> Match | None:
    """The first entry the medicine's name matches on words (see the module's docstring), or None."""
    name = words(medicine)
    for entry in entries:
        for term in (entry.name, *entry.members):
            if _contains(name, words(term)):
                return Match(entry, term)
    return None


def from_stored(stored: Sequence[Mapping[str, Any]] | None) -> tuple[Entry, ...]:
    """The entries a clinic keeps (Entry.as_dict each); none when it keeps none."""
    return tuple(Entry(str(e["name"]), tuple(str(m) for m in e.get("members") or ())) for e in stored or ())


def _clean(text: str) -> str:
    return " ".join(text.split())


# The format the admin types, shown above the box (the parser below reads exactly this).
FORMAT = (
    "One line each. Medicines: their names, separated by commas (lamotrigine, naltrexone). "
    "A class: its name, a colon, then its members separated by commas "
    "(benzodiazepines: alprazolam, clonazepam, diazepam, lorazepam). "
    "Names match a patient's medicine by whole words, whatever the case."
)


def parse_lines(text: str, field: str = "review_medicines") -> tuple[tuple[Entry, ...], list[FieldProblem]]:
    """The admin's list (FORMAT): on each line either names separated by commas, each its own entry, or one
    class, "class: member, member, ...". Blank lines and empty places between commas are skipped, and a name
    given twice (whatever the case) is kept once; a line it cannot read (a class with no members, two colons, a
    ";", a name without a letter) is refused naming the line."""
    entries: list[Entry] = []
    problems: list[FieldProblem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        found, problem = _line(raw)
        if problem:
            problems.append(FieldProblem(field, f"line {number}: {problem}"))
        entries.extend(found)
    entries = _deduped(entries)
    if len(entries) > ENTRIES_MAX:
        problems.append(FieldProblem(field, f"at most {ENTRIES_MAX} entries"))
    return tuple(entries), problems


def _names(text: str) -> tuple[str, ...]:
    return _unique(tuple(name for name in (_clean(part) for part in text.split(",")) if name))


def _unique(names: tuple[str, ...]) -> tuple[str, ...]:
    """Each name once, whatever the case: the first spelling typed is kept (names match whatever the case)."""
    seen: set[str] = set()
    kept = []
    for name in names:
        if name.casefold() not in seen:
            seen.add(name.casefold())
            kept.append(name)
    return tuple(kept)


def _deduped(entries: list[Entry]) -> list[Entry]:
    """One entry per name, whatever the case: a class named twice keeps all its members, once each."""
    kept: dict[str, Entry] = {}
    for entry in entries:
        key = entry.name.casefold()
        if key in kept:
            first = kept[key]
            entry = Entry(first.name, _unique((*first.members, *entry.members)))
        kept[key] = entry
    return list(kept.values())


def _line(raw: str) -> tuple[tuple[Entry, ...], str | None]:
    """One line's entries, or why it cannot be read."""
    if ";" in raw:
        # Refused, not guessed at: the format separates names by commas (FORMAT).
        return (), 'separate names by commas, not ";" (mao inhibitors: phenelzine, tranylcypromine)'
    if raw.count(":") > 1:
        return (), "one colon at most, after a class's name (benzodiazepines: alprazolam, clonazepam)"
    name, colon, rest = raw.partition(":")
    name = _clean(name)
    if not colon:
        names = _names(raw)
        problem = _names_problem(names)
        return ((), problem) if problem else (tuple(Entry(n) for n in names), None)
    members = _names(rest)
    if not words(name):
        return (), "a name is needed before the colon"
    if "," in name:
        return (), "a class is one name before the colon: put other medicines on a line of their own"
    if not members:
        return (), f"name the members of {name} after the colon, separated by commas"
    if len(members) > MEMBERS_MAX:
        return (), f"at most {MEMBERS_MAX} members"
    problem = _names_problem((name, *members))
    return ((), problem) if problem else ((Entry(name, members),), None)


def _names_problem(names: tuple[str, ...]) -> str | None:
    if any(len(n) > NAME_MAX for n in names):
        return f"each name at most {NAME_MAX} characters"
    if any(not words(n) for n in names):
        return "each name needs a letter or digit"
    return None
