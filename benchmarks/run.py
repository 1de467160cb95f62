"""Benchmark micropie beside its peers, in-process, and print the report as Markdown.

Usage: `python benchmarks/run.py [--quick] [--only ROW,...]`.

The orchestrator: prepares the environments (benchlib/envs.py), runs one worker process per row,
one at a time (worker.py does the timing), writes the raw results to
benchmarks/results/latest.json and prints the report as Markdown on stdout (benchlib/report.py);
progress goes to stderr.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import cast

from benchlib.envs import Env, prepare, row_environment
from benchlib.paths import BENCH_DIR
from benchlib.report import render
from benchlib.results import Meta, Report, RowResult
from benchlib.rows import ROWS, Row, row_named

RESULTS = BENCH_DIR / "results" / "latest.json"
WORKER_TIMEOUT = 30 * 60


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _meta(calls: int, reps: int, warmup: int) -> Meta:
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "machine": platform.machine(),
        "cpu": f"{_cpu_model()} ({os.cpu_count()} logical CPUs)",
        "load": os.getloadavg()[0],
        "calls": calls,
        "reps": reps,
        "warmup": warmup,
    }


def _run_worker(row: Row, env: Env, meta: Meta) -> RowResult:
    if env.python is None:
        return {"row": row.name, "status": "missing", "reason": env.problem}
    print(f"running {row.name}", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "row.json"
        command = [
            str(env.python),
            str(BENCH_DIR / "worker.py"),
            f"--row={row.name}",
            f"--calls={meta['calls']}",
            f"--reps={meta['reps']}",
            f"--warmup={meta['warmup']}",
            f"--out={out}",
        ]
        try:
            done = subprocess.run(command, env=row_environment(row), stdout=sys.stderr, timeout=WORKER_TIMEOUT)
        except subprocess.TimeoutExpired:
            return {"row": row.name, "status": "failed", "reason": "worker timed out"}
        if not out.exists():
            reason = f"worker exited with status {done.returncode}"
            return {"row": row.name, "status": "failed", "reason": reason}
        result = cast(RowResult, json.loads(out.read_text()))
    if result["status"] == "missing" and env.problem:
        result["reason"] = f"{result['reason']} ({env.problem})"
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 10,000 calls × 2 repetitions"
    )
    parser.add_argument(
        "--only",
        metavar="ROW,...",
        help=f"comma-separated rows to run (default all): {', '.join(r.name for r in ROWS)}",
    )
    args = parser.parse_args()
    try:
        chosen = {row_named(name) for name in args.only.split(",")} if args.only else set(ROWS)
    except KeyError as error:
        parser.error(str(error.args[0]))
    rows = [row for row in ROWS if row in chosen]
    meta = _meta(10_000, 2, 1_000) if args.quick else _meta(100_000, 5, 5_000)

    envs = {name: prepare(name) for name in dict.fromkeys(row.env for row in rows)}
    results = [_run_worker(row, envs[row.env], meta) for row in rows]
    report: Report = {"meta": meta, "rows": results}

    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"raw results: {RESULTS}", file=sys.stderr)
    print(render(report), end="")


if __name__ == "__main__":
    main()
