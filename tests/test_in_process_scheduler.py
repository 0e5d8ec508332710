"""`TRACKER_INPROCESS_SCHEDULER=1 flask run` starts the jobs exactly once, with the reloader and without it.

A real `flask run` in a child process (the reloader's parent and child are real processes too); each start prints
the process that runs the jobs, so the test reads which process it was and that no other started them.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STARTED = "In-process scheduler started (process "
SERVING = "Running on http://"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(tmp_path: Path, *flags: str) -> tuple[int, list[str]]:
    """Start `flask run`, read its output until it serves and has started the jobs (or 60 s), then stop it."""
    env = dict(os.environ, TRACKER_ENV="development", FLASK_APP="wsgi", TRACKER_INPROCESS_SCHEDULER="1")
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'dev.db'}"
    env.pop("WERKZEUG_RUN_MAIN", None)
    env.pop("FLASK_DEBUG", None)
    flask = str(Path(sys.executable).with_name("flask"))
    command = [flask, "run", *flags, "--host", "127.0.0.1", "--port", str(_free_port())]
    process = subprocess.Popen(  # noqa: S603  (this environment's own flask, serving this app)
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        # Both lines are printed while the serving process starts; the reloader's parent prints its own first.
        while not (any(SERVING in line for line in lines) and any(STARTED in line for line in lines)):
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(timeout=left):
                break
            line = process.stdout.readline().decode(errors="replace")
            if not line:
                break
            lines.append(line)
    os.killpg(process.pid, signal.SIGTERM)
    rest, _ = process.communicate(timeout=30)
    lines += rest.decode(errors="replace").splitlines()
    return process.pid, lines


def _starters(lines: list[str]) -> list[int]:
    return [int(line.split(STARTED, 1)[1].split(")", 1)[0]) for line in lines if STARTED in line]


def test_without_the_reloader_the_one_process_runs_the_jobs(tmp_path: Path) -> None:
    pid, lines = _run(tmp_path)  # `flask run` without --debug: no reloader
    assert _starters(lines) == [pid], "".join(lines)


def test_with_the_reloader_only_its_child_runs_the_jobs(tmp_path: Path) -> None:
    pid, lines = _run(tmp_path, "--debug")
    starters = _starters(lines)
    assert len(starters) == 1 and starters[0] != pid, "".join(lines)
