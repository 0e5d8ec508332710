"""Dependencies point down: pure rules < models < services < the ways in (ARCHITECTURE.md in the README).

Reads every module's imports, those inside functions too, so the house stays as built.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tracker"

# The rules of CLINICAL.md and the instruments: answers in, result out.
PURE = ("tracker.errors", "tracker.instruments", "tracker.relapse", "tracker.reminders", "tracker.outcomes")
PURE += ("tracker.safety", "tracker.infusions", "tracker.local_time", "tracker.plain_text")
PURE += ("tracker.cssrs", "tracker.medicine_review")
PURE += ("tracker.vitals",)  # CLINICAL.md §7: blood pressure, heart rate and SpO2 around the infusion
PURE += ("tracker.countries",)  # reads the tz database's country tables, and nothing of ours
PURE += ("tracker.phones",)  # phonenumbers only: the crisis resources write numbers as the rest of the product
WAYS_IN = ("tracker.api", "tracker.web", "tracker.sms", "tracker.jobs", "tracker.cli", "tracker.demo")
# What the ways in share among themselves: the unit of work, the problem+json answers, the input guard.
SHARED_BY_WAYS_IN = ("tracker.unit_of_work", "tracker.problems", "tracker.request_guard", "tracker.login_throttle")
# A way in that drives another on purpose: the operator's commands run jobs and the demo, which plays the jobs' part.
ALLOWED_BETWEEN_WAYS_IN = {
    ("tracker.cli", "tracker.jobs"),
    ("tracker.cli", "tracker.demo"),
    ("tracker.demo", "tracker.jobs"),
}
FLASK_AND_DATABASE = ("flask", "flask_login", "flask_sqlalchemy", "flask_wtf", "flask_smorest", "flask_migrate")
FLASK_AND_DATABASE += ("flask_limiter", "sqlalchemy", "werkzeug", "alembic", "psycopg")
# Only the ways in know there is a request: services are handed what they need of it.
REQUEST_STATE = {("flask", "request"), ("flask", "g"), ("flask", "session"), ("flask", "has_request_context")}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> list[tuple[str, str | None, int]]:
    """(module, imported name or None, line) for every import in the file, at any depth."""
    found: list[tuple[str, str | None, int]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.module, alias.name, node.lineno) for alias in node.names]
    return found


def within(name: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def way_in_of(name: str) -> str | None:
    return next((p for p in WAYS_IN if within(name, p)), None)


def target_of(module: str, name: str | None) -> str:
    """`from tracker import clock` imports the module tracker.clock; `from tracker import ROOT` the package."""
    if name and (PACKAGE.parent / (module.replace(".", "/") + f"/{name}.py")).exists():
        return f"{module}.{name}"
    if name and (PACKAGE.parent / (module.replace(".", "/") + f"/{name}")).is_dir():
        return f"{module}.{name}"
    return module


def problems_of(source: str, module: str, name: str | None) -> list[str]:
    target = target_of(module, name)
    problems = []
    if within(source, PURE):
        if within(target, FLASK_AND_DATABASE) or (within(target, "tracker") and not within(target, PURE)):
            problems.append("a pure rule imports beyond the pure rules")
    elif within(source, "tracker.models"):
        if within(target, ("tracker.services", *WAYS_IN, *SHARED_BY_WAYS_IN)):
            problems.append("a model imports a service or a way in")
    elif within(source, "tracker.services"):
        if within(target, (*WAYS_IN, *SHARED_BY_WAYS_IN)):
            problems.append("a service imports a way in")
        if target == "tracker":
            problems.append("a service imports the app package")
        if (module, name) in REQUEST_STATE:
            problems.append("a service reads the request")
    elif (way_in := way_in_of(source)) is not None:
        other = way_in_of(target)
        if other is not None and other != way_in and (way_in, other) not in ALLOWED_BETWEEN_WAYS_IN:
            problems.append(f"{way_in} imports another way in, {other}")
    return problems


def all_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", all_modules(), ids=lambda p: module_name(p))
def test_every_import_points_down(path: Path) -> None:
    source = module_name(path)
    found = [
        f"line {line}: {module}{'.' + name if name else ''}: {problem}"
        for module, name, line in imports_of(path)
        for problem in problems_of(source, module, name)
    ]
    assert found == []


@pytest.mark.parametrize(
    ("source", "module", "name"),
    [
        ("tracker.relapse", "sqlalchemy", None),
        ("tracker.infusions", "tracker.models.infusion", "INFUSION_KINDS"),
        ("tracker.models.patient", "tracker.services", "scope"),
        ("tracker.services.checkins.submit", "tracker.sms", "conversation"),
        ("tracker.services.audit.trail", "flask", "request"),
        ("tracker.services.health", "tracker", "ROOT"),
        ("tracker.web.clinic_pages", "tracker.api", "problems"),
        ("tracker.sms.webhooks", "tracker.jobs.registry", "job"),
    ],
)
def test_the_rule_sees_an_import_that_points_up(source: str, module: str, name: str | None) -> None:
    assert problems_of(source, module, name) != []


def test_the_rule_allows_what_points_down() -> None:
    assert problems_of("tracker.services.checkins.submit", "tracker.relapse", None) == []
    assert problems_of("tracker.services.checkins.submit", "tracker", "clock") == []
    assert problems_of("tracker.api.patient", "tracker.services.checkins", "submit") == []
    assert problems_of("tracker.cli", "tracker.jobs.registry", "load_jobs") == []
