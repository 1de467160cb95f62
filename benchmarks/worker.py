"""Times one row in-process: `python worker.py --row NAME ... --out FILE`, run by run.py.

Runs inside the row's own environment, so it imports only the standard library and benchlib at
the top; the framework comes in with the row's app module (benchlib/rows.py says when a row is
"missing" or refused). How an app is called, checked and given its lifespan is
benchlib/inprocess.py's. The rules of the timing live here:

- every scenario is checked once before anything is timed; one that fails its check is
  reported with the reason and never timed;
- per scenario, warm-up calls first, then `reps` repetitions of `calls` calls each, all in one
  event loop; the row's number for a scenario is the median of the repetitions' calls per
  second.
"""

import argparse
import asyncio
import json
import statistics
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

from benchlib.asgi import ASGIApp, Scope
from benchlib.inprocess import CheckFailed, Lifespan, calls_per_second, checked_scope
from benchlib.results import RowResult, ScenarioResult
from benchlib.rows import Refusal, Row, import_app_module, row_named
from benchlib.scenarios import SCENARIOS, Scenario
from benchlib.suite import Suite


def describe(error: Exception) -> str:
    """An exception in one line; one raised by the app also says where."""
    if isinstance(error, CheckFailed):
        return str(error)
    frames = traceback.extract_tb(error.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"


@dataclass(frozen=True)
class Settings:
    calls: int
    reps: int
    warmup: int


async def time_scenario(
    row: Row, app: ASGIApp, scenario: Scenario, scope: Scope, settings: Settings
) -> ScenarioResult:
    message = scenario.request_message()
    await calls_per_second(app, scope, message, settings.warmup)
    reps = [
        await calls_per_second(app, scope, message, settings.calls)
        for _ in range(settings.reps)
    ]
    median = statistics.median(reps)
    print(f"  {row.name:<18} {scenario.title:<15} {median:>10,.0f} calls/s", file=sys.stderr)
    return {"status": "ok", "median": median, "reps": reps}


async def check_all(
    row: Row, suite: Suite
) -> tuple[dict[str, Scope], dict[str, ScenarioResult]]:
    """The scopes of the scenarios that pass their check, and the results of those that do not."""
    scopes: dict[str, Scope] = {}
    results: dict[str, ScenarioResult] = {}
    for scenario in SCENARIOS:
        app = suite.apps.get(scenario.key)
        if app is None:
            results[scenario.key] = {"status": "n/a"}
            continue
        try:
            scopes[scenario.key] = await checked_scope(app, scenario)
        except Exception as error:
            if not isinstance(error, CheckFailed):
                traceback.print_exception(error)
            reason = describe(error)
            print(f"  {row.name:<18} {scenario.title:<15} FAILED {reason}", file=sys.stderr)
            results[scenario.key] = {"status": "failed", "reason": reason}
    return scopes, results


async def run_row(row: Row, settings: Settings) -> RowResult:
    module = import_app_module(row)
    if isinstance(module, Refusal):
        return {"row": row.name, "status": module.status, "reason": module.reason}

    suite: Suite = module.build()
    distinct_apps = {id(app): app for app in suite.apps.values()}.values()
    lifespans = [Lifespan(app) for app in distinct_apps]
    try:
        for lifespan in lifespans:
            await lifespan.start()
        scopes, results = await check_all(row, suite)
        for scenario in SCENARIOS:
            if scenario.key in scopes:
                app, scope = suite.apps[scenario.key], scopes[scenario.key]
                results[scenario.key] = await time_scenario(row, app, scenario, scope, settings)
    finally:
        for lifespan in lifespans:
            await lifespan.stop()
    for key, note in suite.notes.items():
        results[key]["note"] = note
    ordered = {scenario.key: results[scenario.key] for scenario in SCENARIOS}
    return {"row": row.name, "status": "ok", "versions": suite.versions, "scenarios": ordered}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--row", required=True)
    parser.add_argument("--calls", type=int, required=True)
    parser.add_argument("--reps", type=int, required=True)
    parser.add_argument("--warmup", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    row = row_named(args.row)
    settings = Settings(calls=args.calls, reps=args.reps, warmup=args.warmup)
    try:
        result = asyncio.run(run_row(row, settings))
    except Exception as error:
        traceback.print_exc()
        reason = describe(error)
        result = {"row": row.name, "status": "failed", "reason": reason}
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
