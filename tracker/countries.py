"""Countries (ISO 3166-1 alpha-2) and the country of a time zone, from the tz database's own tables.

Python's zoneinfo reads zones but not the tz database's country tables (zone.tab, zone1970.tab,
iso3166.tab). They are read here from the same places zoneinfo reads zones: the system's zoneinfo
directories first, then the `tzdata` package (a dependency, so the tables are there on any machine).
CLINICAL.md §3: a clinic's country, which picks its crisis resources, defaults from its time zone.
"""

from __future__ import annotations

import zoneinfo
from functools import cache
from importlib import resources
from pathlib import Path


def _read_table(name: str) -> list[list[str]]:
    """The rows of one tz table (tab-separated, # comments), from the first place that has it."""
    text = None
    for directory in zoneinfo.TZPATH:
        path = Path(directory) / name
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            break
    if text is None:
        try:
            text = resources.files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")
        except (ModuleNotFoundError, FileNotFoundError):
            return []
    return [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]


@cache
def _zone_countries() -> dict[str, str]:
    """Zone name → country code: zone.tab names one country per zone; zone1970.tab's first code fills gaps."""
    found: dict[str, str] = {}
    for row in _read_table("zone.tab"):
        if len(row) >= 3:
            found.setdefault(row[2], row[0])
    for row in _read_table("zone1970.tab"):
        if len(row) >= 3:
            found.setdefault(row[2], row[0].split(",")[0])
    return found


@cache
def country_names() -> dict[str, str]:
    """Every ISO 3166-1 alpha-2 code the tz database knows, with its name (iso3166.tab), sorted by name."""
    rows = [(row[0], row[1]) for row in _read_table("iso3166.tab") if len(row) >= 2 and len(row[0]) == 2]
    return dict(sorted(rows, key=lambda row: row[1]))


def country_of_zone(zone: str) -> str | None:
    """The country a time zone is in, or None when the tables name none (UTC, an alias such as US/Central)."""
    return _zone_countries().get(zone)


def normalize_country(raw: str) -> str | None:
    """An ISO 3166-1 alpha-2 code in capitals ("gb" → "GB"), or None when it is no country's code."""
    code = raw.strip().upper()
    return code if code in country_names() else None


def country_name(code: str | None) -> str | None:
    return country_names().get(code) if code else None
