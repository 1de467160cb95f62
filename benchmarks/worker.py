"""Times one row in-process: `python worker.py --row NAME ... --out FILE`, run by run.py.

Runs inside the row's own environment, so it imports only the standard library and the
harness's own modules at the top; the framework comes in with the row's app module. The rules
of the method live here:

- every app gets its lifespan startup first and shutdown last, as a server would do;
- every scenario is checked once with a recording `send` before anything is timed, and one that
  fails its check is reported with the reason and never timed;
- a timed call is `await app(dict(scope), receive, send)`: a fresh shallow copy of one fixed
  scope, a `receive` that yields the scenario's single `http.request` message and then
  `http.disconnect`, and a `send` that does nothing. Warm-up calls come first, then `reps`
  repetitions of `calls` calls each, all in one event loop with the garbage collector as normal;
  the row's number for a scenario is the median of the repetitions' calls per second.
"""

import argparse
import asyncio
import importlib
import json
import statistics
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

from benchlib.asgitypes import ASGIApp, Message, Scope, SentMessage
from benchlib.paths import SRC
from benchlib.results import RowResult, ScenarioResult
from benchlib.rows import Row, row_named
from benchlib.scenarios import SCENARIOS, Scenario, check, header, session_start_scope
from benchlib.suite import Suite

_DISCONNECT: Message = {"type": "http.disconnect"}
_NO_BODY: Message = {"type": "http.request", "body": b"", "more_body": False}


class CheckFailed(Exception):
    """A response, or the session set-up before one, that is not what the scenario expects."""


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


class Receiver:
    """ASGI `receive`: the request message once per call, then `http.disconnect`."""

    def __init__(self, message: Message) -> None:
        self.message = message
        self.pending = True

    async def __call__(self) -> Message:
        if self.pending:
            self.pending = False
            return self.message
        return _DISCONNECT


async def discard(message: SentMessage) -> None:
    pass


class Recorder:
    """ASGI `send` for the correctness check: keeps the whole response."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""
        self.complete = False

    async def __call__(self, message: SentMessage) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")
            self.complete = not message.get("more_body", False)


class Lifespan:
    """Drives one app's lifespan protocol; an app that does not speak it is left alone."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[SentMessage] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self.task = asyncio.ensure_future(self.app(scope, self.inbox.get, self.outbox.put))
        reply = await self._exchange("lifespan.startup")
        if reply is not None and reply["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"lifespan startup failed: {reply.get('message', reply)}")

    async def stop(self) -> None:
        if self.task is not None and not self.task.done():
            await asyncio.wait_for(self._exchange("lifespan.shutdown"), 10)

    async def _exchange(self, message_type: str) -> SentMessage | None:
        assert self.task is not None
        await self.inbox.put({"type": message_type})
        reply = asyncio.ensure_future(self.outbox.get())
        await asyncio.wait((reply, self.task), return_when=asyncio.FIRST_COMPLETED)
        if reply.done():
            return reply.result()
        reply.cancel()
        # Like a server in its "auto" lifespan mode: an app that rejects lifespan still serves.
        self.task.exception()
        return None


async def respond_once(app: ASGIApp, scope: Scope, message: Message) -> Recorder:
    recorder = Recorder()
    await app(dict(scope), Receiver(message), recorder)
    return recorder


async def calls_per_second(app: ASGIApp, scope: Scope, message: Message, calls: int) -> float:
    receive = Receiver(message)
    started = perf_counter()
    for _ in range(calls):
        receive.pending = True
        await app(dict(scope), receive, discard)
    return calls / (perf_counter() - started)


async def session_cookie(app: ASGIApp) -> bytes:
    """Have the framework create the session, and return the `Cookie` value naming it."""
    response = await respond_once(app, session_start_scope(), _NO_BODY)
    set_cookie = header(response.headers, b"set-cookie")
    if response.status != 200 or set_cookie is None:
        raise CheckFailed(
            f"session start: status {response.status}, no Set-Cookie, body {response.body!r}"
        )
    return set_cookie.split(b";", 1)[0]


async def checked_scope(app: ASGIApp, scenario: Scenario) -> Scope:
    """The scenario's scope, once the app has answered it correctly; CheckFailed otherwise."""
    cookie = await session_cookie(app) if scenario.needs_session else b""
    scope = scenario.scope(cookie)
    response = await respond_once(app, scope, scenario.request_message())
    problem = check(scenario, response.status, response.headers, response.body)
    if problem is None and not response.complete:
        problem = "the response body never finished"
    if problem is not None:
        raise CheckFailed(problem)
    return scope


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


def mode_problem(row: Row) -> str | None:
    """Why the imported `micropie` is not the one this row claims to measure, if it is not."""
    if row.expect_compiled is None:
        return None
    # Imported here: only the environments of our rows are sure to have a `micropie`.
    import micropie

    compiled = getattr(micropie, "COMPILED", None)
    if compiled is not row.expect_compiled:
        return f"micropie.COMPILED is {compiled!r}, expected {row.expect_compiled}"
    location = Path(micropie.__file__ or "").resolve()
    if row.src_on_path != location.is_relative_to(SRC):
        return f"micropie imported from {location}"
    return None


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
    try:
        module = importlib.import_module(row.app_module)
    except ModuleNotFoundError as error:
        if (error.name or "").partition(".")[0] != row.framework:
            raise
        return {"row": row.name, "status": "missing", "reason": str(error)}
    problem = mode_problem(row)
    if problem is not None:
        return {"row": row.name, "status": "failed", "reason": problem}

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
