"""The all-in-one dev server's scheduler thread (`make run`, or `flask run` by hand): started exactly once.

`flask run` builds the app in every process it has. With the reloader (`--debug` or `--reload`) the first
process only watches files and starts a child that serves (WERKZEUG_RUN_MAIN=true): the child runs the jobs.
Without the reloader the one process serves, and runs them itself.
"""

from __future__ import annotations

import os
import sys

import click
from flask import Flask
from flask.helpers import get_debug_flag
from werkzeug.serving import is_running_from_reloader


def reloader_watches_here() -> bool:
    """Whether this process is `flask run`'s reloader parent, which serves nothing."""
    if is_running_from_reloader():
        return False
    context = click.get_current_context(silent=True)
    if context is None or context.info_name != "run":
        return False
    reload = context.params.get("reload")
    return bool(get_debug_flag() if reload is None else reload)  # as flask run decides it


def maybe_start(app: Flask) -> bool:
    """Start the jobs in a thread of this process when TRACKER_INPROCESS_SCHEDULER=1 asks and this process
    serves; production runs `tracker scheduler` as its own process instead."""
    if os.environ.get("TRACKER_INPROCESS_SCHEDULER") != "1" or app.testing or reloader_watches_here():
        return False
    from tracker.jobs.scheduler import start_in_background

    started = start_in_background(app)
    if started:
        print(f" * In-process scheduler started (process {os.getpid()})", file=sys.stderr, flush=True)
    return started
