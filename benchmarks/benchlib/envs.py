"""The virtual environments under benchmarks/.venvs/, one per set of rows that can share one.

An environment is reused when its marker file records the same interpreter and requirements;
otherwise it is built again from scratch. Requirements are installed in groups, one pip call
each, so that one framework failing to install leaves the others usable (its rows then report
"missing"); an environment with a failed group gets no marker and is retried on the next run.
Our compiled package is different: its wheel is rebuilt from the repository on every run (the
source changes under us) by the project's own build hook and reinstalled into its environment.

A row's process imports `micropie` from its environment only, or, for the pure row, from src/;
`row_environment` is the one place that decides, for every script that starts such a process.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib.paths import BENCH_DIR, REPO, SRC
from benchlib.rows import Row

VENVS = BENCH_DIR / ".venvs"
MARKER = "bench-env.json"
OURS_COMPILED = "ours-compiled"

# Our package's runtime dependencies, the multipart extra (hostile.py sends multipart bodies)
# and the redis extra (sessions.py); the peers env has them too for the pure row.
OUR_DEPENDENCIES = ("mypy_extensions", "msgspec", "orjson", "multipart", "redis")
# The end-to-end benchmark (e2e.py) serves every framework with the same uvicorn and httptools.
SERVER = ("uvicorn", "httptools")
REQUIREMENTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "micropie-0.29": (("micropie==0.29", "orjson"), SERVER),
    "micropie-0.32": (("micropie==0.32", "orjson"), SERVER),
    # python-multipart and itsdangerous are what Starlette's form parsing and sessions need.
    "peers": (
        OUR_DEPENDENCIES,
        ("starlette", "python-multipart", "itsdangerous"),
        ("blacksheep",),
        ("falcon",),
        SERVER,
    ),
    OURS_COMPILED: (OUR_DEPENDENCIES, SERVER),
}


@dataclass(frozen=True)
class Env:
    name: str
    python: Path | None
    # Why the environment, or part of it, is unusable; rows in it report this when missing.
    problem: str = ""


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _run(command: list[str | Path]) -> str:
    """Run a command; return "" on success, else a one-line summary of why it failed."""
    # The build hook's switch to skip compiling must not leak in from the caller's shell.
    environ = {key: value for key, value in os.environ.items() if key != "MICROPIE_PURE"}
    done = subprocess.run(command, capture_output=True, text=True, env=environ)
    if done.returncode == 0:
        return ""
    lines = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    _log("\n".join(["$ " + " ".join(map(str, command)), *lines[-25:]]))
    # The exception or pip error that caused the failure, not pip's closing hint.
    causes = [line for line in lines if re.match(r"([\w.]+(Error|Exception)|ERROR): ", line)]
    summary = (causes or lines or [f"exit status {done.returncode}"])[-1]
    return summary if len(summary) <= 200 else summary[:200] + "…"


def _pip(python: Path, *args: str | Path) -> str:
    return _run([python, "-m", "pip", "--disable-pip-version-check", "-q", *args])


def prepare(name: str) -> Env:
    """Create or reuse one environment; for ours, also rebuild and reinstall the wheel."""
    directory = VENVS / name
    python = directory / "bin" / "python"
    groups = REQUIREMENTS[name]
    wanted = {"python": sys.version, "groups": [list(group) for group in groups]}
    marker = directory / MARKER
    if not (marker.exists() and json.loads(marker.read_text()) == wanted):
        _log(f"creating environment {name}")
        shutil.rmtree(directory, ignore_errors=True)
        error = _run([sys.executable, "-m", "venv", directory])
        if error:
            return Env(name, None, f"venv creation failed: {error}")
        failures = [_pip(python, "install", *group) for group in groups]
        problems = [failure for failure in failures if failure]
        if problems:
            return Env(name, python, "pip install failed: " + problems[0])
        marker.write_text(json.dumps(wanted))
    else:
        _log(f"reusing environment {name}")
    if name == OURS_COMPILED:
        problem = _install_our_wheel(python)
        if problem:
            return Env(name, None, problem)
    return Env(name, python)


def _install_our_wheel(python: Path) -> str:
    _log(f"building the micropie wheel from {REPO} (compiled by its build hook)")
    with tempfile.TemporaryDirectory() as wheel_dir:
        error = _pip(python, "wheel", REPO, "--no-deps", "-w", wheel_dir)
        if error:
            return "wheel build failed: " + error
        wheels = list(Path(wheel_dir).glob("micropie-*.whl"))
        if len(wheels) != 1:
            return f"expected one micropie wheel, found {[w.name for w in wheels]}"
        _log(f"installing {wheels[0].name}")
        # Uninstall first so that a rebuilt wheel of the same version replaces the old one;
        # the plain install then adds any dependency the package has gained.
        error = _pip(python, "uninstall", "-y", "micropie") or _pip(python, "install", wheels[0])
        if error:
            return "wheel install failed: " + error
    return ""


def row_environment(row: Row) -> dict[str, str]:
    """The environment variables a process of ``row`` runs with.

    The caller's, less PYTHONPATH (it could choose which `micropie` is imported); for the pure
    row, src/ on PYTHONPATH, with no bytecode written into the source tree.
    """
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    if row.src_on_path:
        environment["PYTHONPATH"] = str(SRC)
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
    return environment


def run_worker(script: Path, row: Row, env: Env, *arguments: str) -> dict[str, Any] | str:
    """Run ``script --worker ROW arguments`` in the row's prepared environment, its own process.

    Returns the JSON object the worker printed last, or why there is none.
    """
    if env.python is None:
        return f"missing: {env.problem}"
    done = subprocess.run(
        [env.python, script, "--worker", row.name, *arguments],
        cwd=BENCH_DIR, env=row_environment(row), capture_output=True, text=True,
    )
    if done.returncode != 0:
        return f"failed: {done.stderr.strip().splitlines()[-1:]}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
