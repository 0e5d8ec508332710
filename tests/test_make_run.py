"""`make run` serves on the port it is given, and patients' links follow that port unless set (README)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _serve_line(*args: str, env_extra: dict[str, str] | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "PUBLIC_BASE_URL")}
    env.update(env_extra or {})
    # -n prints the recipe without running it.
    make = shutil.which("make") or "make"
    out = subprocess.run(  # noqa: S603  (the project's own Makefile, printed, not run)
        [make, "-n", "run", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    # The server command may be continued over two lines with a backslash.
    joined = out.replace("\\\n", " ")
    (line,) = [ln for ln in joined.splitlines() if "flask run" in ln]
    return line


def test_default_port_is_5000_with_matching_links() -> None:
    line = _serve_line()
    assert "--port 5000" in line
    assert "PUBLIC_BASE_URL='http://127.0.0.1:5000'" in line


def test_port_moves_the_server_and_the_links() -> None:
    line = _serve_line("PORT=5082")
    assert "--port 5082" in line
    assert "PUBLIC_BASE_URL='http://127.0.0.1:5082'" in line


def test_a_set_public_base_url_is_kept() -> None:
    line = _serve_line("PORT=5082", env_extra={"PUBLIC_BASE_URL": "https://tracker.example.org"})
    assert "--port 5082" in line
    assert "PUBLIC_BASE_URL='https://tracker.example.org'" in line
