"""Operator commands: `flask --app wsgi tracker …` or the installed `tracker` command (API.md)."""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask.cli import AppGroup, FlaskGroup

from tracker.errors import NotFound, ServiceError
from tracker.extensions import db
from tracker.models import Clinic
from tracker.services import scope
from tracker.services.accounts import users as accounts
from tracker.unit_of_work import transaction

tracker_cli = AppGroup("tracker", help="Operate tracker: clinics, accounts, demo data.")


def _fail(error: ServiceError) -> None:
    raise click.ClickException(error.detail)  # inside the command's unit of work: nothing is kept


def read_password() -> str:
    """From the terminal with confirmation, or one line of standard input; never an argument."""
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


@tracker_cli.command("create-clinic")
@click.argument("name")
@click.option("--timezone", "timezone", required=True, help="IANA time zone, e.g. America/Chicago")
@click.option("--country", help="ISO 3166-1 code, e.g. GB; by default the time zone's country")
def create_clinic(name: str, timezone: str, country: str | None) -> None:
    """Create a clinic; its id is printed alone on the last line."""
    with transaction(db.session):
        try:
            clinic = accounts.create_clinic(name, timezone, country=country)
        except ServiceError as error:
            _fail(error)
        missing = clinic.crisis_resources.missing
    click.echo(f"Created clinic {clinic.name} ({clinic.timezone}, country {clinic.country or 'not set'}).")
    if missing:
        click.echo(f"It cannot enrol patients until its admin enters {' and '.join(missing)} in its settings.")
    click.echo(str(clinic.id))


@tracker_cli.command("create-user")
@click.option("--clinic", "clinic_id", required=True, help="the clinic's id")
@click.option("--role", type=click.Choice(["clinician", "admin"]), required=True)
@click.option("--email", required=True)
def create_user(clinic_id: str, role: str, email: str) -> None:
    """Create a clinician or admin; the password is read from the terminal or standard input."""
    with transaction(db.session):
        try:
            clinic = db.session.get(Clinic, scope.parse_id(clinic_id))
            if clinic is None:
                raise NotFound(f"No clinic with id {clinic_id}.")
            user = accounts.create_staff(clinic, role, email, read_password())
        except ServiceError as error:
            _fail(error)
    click.echo(f"Created {user.role} {user.email}.")
    click.echo(str(user.id))


@tracker_cli.command("demo")
@click.option("--seed", default=7, show_default=True, help="random seed, for the same demo every time")
def demo(seed: int) -> None:
    """Fill an empty database with a demo clinic, its staff and patients with a year of history."""
    from tracker.demo import build_demo

    with transaction(db.session):
        if db.session.scalar(sa.select(sa.func.count()).select_from(Clinic)):
            click.echo("The database already has data; the demo fills only an empty one.")
            return
        logins = build_demo(seed=seed)
    click.echo("Demo data created. Logins (password for all: see below):")
    for role, username in logins.usernames:
        click.echo(f"  {role:<10} {username}")
    click.echo(f"  password   {logins.password}")


@tracker_cli.command("rebuild-summaries")
def rebuild_summaries() -> None:
    """Recompute every patient's figures in the clinic's list from their check-ins and infusions (after a bulk
    load or a restore; the app keeps them current otherwise)."""
    from tracker.services.clinic import summary

    with transaction(db.session):
        count = summary.rebuild()
    click.echo(f"Figures recomputed for {count} patients.")


@tracker_cli.command("run-job")
@click.argument("name")
def run_job(name: str) -> None:
    """Run one scheduled job once, now, and print what it did."""
    from tracker import clock
    from tracker.jobs.registry import load_jobs

    jobs = load_jobs()
    if name not in jobs:
        raise click.ClickException(f"No job {name!r}. Jobs: {', '.join(sorted(jobs))}.")
    result = jobs[name].run(db.session, clock.now())  # a job commits each item it claims itself
    click.echo(f"{name}: {result}")


@tracker_cli.command("scheduler")
def scheduler() -> None:
    """Run the scheduler in the foreground (the production process)."""
    from flask import current_app

    from tracker.jobs.scheduler import build_scheduler

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    click.echo("Scheduler running; stop with Ctrl-C.")
    try:
        build_scheduler(app, blocking=True).start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("Scheduler stopped.")


def main() -> None:
    """The `tracker` console script: the same commands, plus Flask's (db, run, shell)."""
    from tracker import create_app

    group = FlaskGroup(create_app=lambda: create_app(), commands=tracker_cli.commands, help=tracker_cli.help)
    group.main(prog_name="tracker")
