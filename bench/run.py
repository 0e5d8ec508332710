"""Run the benchmarks: make the data, run each workload in its own process, print time, floor, ratio, peak
memory and queries.

    python -m bench.run                                    # quick (make bench): SQLite and PostgreSQL, small
    python -m bench.run --db postgresql --patients 10000   # the 10k table
    python -m bench.run --db postgresql --patients 100000  # the 100k table
    python -m bench.run --db postgresql --patients 10000 --reuse --only patient-list,api-patients

Each size gets its own database (bench_p<patients> on PostgreSQL, bench/data/bench_p<patients>.sqlite3), made
again unless --reuse (the workloads that write leave their marks: a reused database has been scanned). Where no
PostgreSQL answers, its run is skipped with the reason. Results are also written as JSON under bench/data/.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
# As on a Monday morning (bench/workloads.py): each step sees what the one before it wrote.
ORDER = (
    "scan-full",
    "reminders",
    "missed-checkins",
    "dispatcher",
    "scan-new-checkins",
    "patient-list",
    "attention-queue",
    "api-patients",
)
PAGES = ("patient-list", "attention-queue", "api-patients")
QUICK_PATIENTS = 200


def url_for(db: str, patients: int, postgres_base: str) -> str:
    if db == "sqlite":
        return f"sqlite:///{DATA / f'bench_p{patients}.sqlite3'}"
    return sa.make_url(postgres_base).set(database=f"bench_p{patients}").render_as_string(hide_password=False)


@dataclass
class Outcome:
    rows: list[dict[str, Any]]
    error: str | None = None


def run_worker(name: str, url: str, now: datetime, options: dict[str, Any], timeout: float) -> Outcome:
    """Workloads (comma-separated) in a fresh process: what the jobs load is not cached from another's run."""
    command = [sys.executable, "-m", "bench.run", "--worker", name, "--url", url, "--now", now.isoformat()]
    command += ["--options", json.dumps(options)]
    try:
        done = subprocess.run(  # noqa: S603  (our own interpreter and module)
            command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return Outcome([], f"timed out after {timeout:.0f} s")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        # The exception's own line, not SQLAlchemy's "Background on this error" after it.
        raised = [line for line in lines if re.match(r"^[\w.]+(Error|Exception)\b", line)]
        return Outcome([], f"exit {done.returncode}: {(raised or lines or ['no output'])[-1][:300]}")
    return Outcome(json.loads(lines[-1])["rows"])


def worker(name: str, url: str, now: str, options: str) -> None:
    from bench.workloads import WORKLOADS

    rows = [
        row for one in name.split(",") for row in WORKLOADS[one](url, datetime.fromisoformat(now), json.loads(options))
    ]
    print(json.dumps({"rows": [r.as_dict() for r in rows]}, default=str))


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def table(results: list[dict[str, Any]]) -> list[str]:
    columns = ["work", "time", "queries", "SQL time", "peak RSS (+ over the idle app)", "floor (same run)"]
    columns += ["floor time", "ratio", "note"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in results:
        ratio = f"{r['ratio']:.1f}×" if r.get("ratio") else "—"
        memory = f"{r['peak_rss_mb']:.0f} MB (+{r['peak_rss_mb'] - r.get('start_rss_mb', 0):.0f})"
        cells = [r["work"], ms(r["seconds"]), r["queries"], ms(r["sql_seconds"]), memory, r.get("floor") or "—"]
        cells += [ms(r.get("floor_seconds")), ratio, r.get("note", "")]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    return lines


def bench(db: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    from bench.generate import generate
    from bench.harness import DEFAULT_NOW, postgres_problem

    url = url_for(db, args.patients, args.postgres)
    shown = sa.make_url(url).render_as_string(hide_password=True)
    if db == "postgresql" and (problem := postgres_problem(url)):
        print(f"\n## PostgreSQL skipped: {problem}")
        return []
    print(f"\n## {db}, {args.patients} patients, {args.clinics} clinics ({shown})", flush=True)
    header: dict[str, Any] = {"db": db, "patients": args.patients, "clinics": args.clinics, "url": shown}
    if not args.reuse:
        summary = generate(url, args.clinics, args.patients, args.weeks, args.seed)
        rows = ", ".join(f"{table} {n}" for table, n in summary.rows.items() if n)
        rebuilt = f"{summary.rebuild_seconds:.1f} s of it rebuilding the stored figures"
        print(f"generated in {summary.seconds:.1f} s ({rebuilt}): {rows}")
        header["generated"] = {"seconds": summary.seconds, "rows": summary.rows}
    wanted = [n for n in ORDER if not args.only or n in args.only.split(",")]
    # The read-only pages share a process (each measure's peak RSS is its own: bench/harness.py).
    pages = [n for n in wanted if n in PAGES]
    names = [n for n in wanted if n not in PAGES] + ([",".join(pages)] if pages else [])
    options = {"new_checkins": args.new_checkins, "sms_rate": args.sms_rate, "sms_messages": args.sms_messages}
    results: list[dict[str, Any]] = []
    for name in names:
        started = time.perf_counter()
        outcome = run_worker(name, url, DEFAULT_NOW, options, args.timeout)
        if outcome.error:
            print(f"{name}: FAILED ({outcome.error})", flush=True)
            results.append({"work": name, "error": outcome.error})
            continue
        for line in table(outcome.rows)[2:]:
            print(line, flush=True)
        load = os.getloadavg()[0]  # the machine may be shared: how busy it was, beside each figure
        print(f"  ({name}: {time.perf_counter() - started:.1f} s with setup; load average {load:.1f})", flush=True)
        results.extend({**r, "load_average": load} for r in outcome.rows)
    measured = [r for r in results if "error" not in r]
    print("\n" + "\n".join(table(measured)))
    DATA.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = DATA / f"results-{db}-p{args.patients}-{stamp}.json"
    out.write_text(json.dumps({**header, "at": stamp, "machine": machine(), "results": results}, indent=1, default=str))
    print(f"(written to {out.relative_to(ROOT)})")
    return results


def machine() -> dict[str, Any]:
    import platform
    from importlib.metadata import version

    info: dict[str, Any] = {"nproc": os.cpu_count(), "python": platform.python_version()}
    info.update({name: version(name) for name in ("flask", "sqlalchemy", "psycopg")})
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        info["memory_gb"] = round(pages / 2**30, 1)
        info["load"] = os.getloadavg()
    except (ValueError, OSError, AttributeError):
        pass
    return info


def main(argv: list[str] | None = None) -> int:
    from bench.harness import DEFAULT_POSTGRES

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--patients", type=int, default=QUICK_PATIENTS)
    parser.add_argument("--clinics", type=int, default=2)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES))
    parser.add_argument("--reuse", action="store_true", help="keep the database as it is (no generation)")
    parser.add_argument("--only", default="", help=f"comma-separated workloads, of: {', '.join(ORDER)}")
    parser.add_argument("--new-checkins", type=int, default=1000)
    parser.add_argument("--sms-rate", type=float, default=100.0, help="the dispatcher's configured texts per second")
    parser.add_argument("--sms-messages", type=int, default=150)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per workload")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--now", help=argparse.SUPPRESS)
    parser.add_argument("--options", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.url, args.now, args.options)
        return 0
    started = time.perf_counter()
    failed = False
    for db in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        results = bench(db, args)
        failed = failed or any("error" in r for r in results)
    print(f"\nall done in {time.perf_counter() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
