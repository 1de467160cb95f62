"""Cost as work grows: a 1 MB JSON echo, a 50 MB upload through uvicorn, 200 routes against 5.

    python benchmarks/scaling.py                  # all three parts, every row: about 3 minutes
    python benchmarks/scaling.py --quick          # smoke run: fewer calls, one upload per row
    python benchmarks/scaling.py --only "micropie compiled,Starlette" --parts echo,routing

run.py prices small requests; this asks how each framework's cost grows with the work in one
request. The in-process parts run in a worker process per (row, part), in the row's own
environment (benchlib/envs.py), timed as worker.py times (benchlib/inprocess.py): a fresh
shallow copy of one fixed scope per call, a `receive` that yields the whole body in one
`http.request` message and then `http.disconnect`, a `send` that discards, lifespan startup
first, a checked response before anything is timed, warm-up calls, then repetitions of N calls;
the median counts.

- echo: `POST /echo`, each app's existing JSON echo route (the "POST JSON echo" scenario's),
  with a JSON document of about 1 MB: a list of 10,000 small objects of ints, floats, strings,
  booleans, nulls and nested lists. The response must be JSON equal to the document. Reported
  in calls/s and in MB/s of request body.
- upload: the row's `build_upload` app served by uvicorn (httptools, one worker, access log off,
  as in e2e.py) from the row's environment. curl posts a 50 MB file of random bytes as
  multipart/form-data (`curl -F`, streamed from disk); the app reads the file the way its
  framework documents and answers its size and SHA-256, which must match the file's. A 4 MB
  upload warms the server; then for each timed upload the server's VmRSS is read, its VmHWM
  reset through /proc/PID/clear_refs, and VmHWM read again when the upload is done. Reported:
  the median MB/s (file size over curl's total time), the largest peak RSS growth of the
  uploads, and the RSS the server still holds after them.
- routing: the row's `build_routes(5)` and `build_routes(200)`, handlers `h0` … `h199`;
  `GET /h3` on the first and `GET /h197` (deep in the list) on the second, their repetitions
  interleaved so that drift falls on both alike. 200 ÷ 5 is 1.00× when finding a handler costs
  the same however many there are.

MB is 2^20 bytes, as in the other scripts. A row whose app module has no `build_upload` or
`build_routes` (Falcon: apps/falcon.py has neither) is n/a for that part.
"""

import argparse
import asyncio
import datetime
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from random import Random
from types import ModuleType
from typing import IO, Any

from benchlib.asgi import ASGIApp, Message, Scope
from benchlib.envs import Env, prepare, row_environment, run_worker
from benchlib.inprocess import Lifespan, Recorder, calls_per_second, respond_once
from benchlib.loopback import free_port, stop_server, wait_until_listening
from benchlib.paths import BENCH_DIR
from benchlib.procstatus import status_kib
from benchlib.rows import OURS, Refusal, Row, import_app_module, row_named
from benchlib.scenarios import SCENARIOS, Scenario, header

DEFAULT_ROWS = ("micropie compiled", "micropie pure", "Starlette", "BlackSheep", "Falcon")
PARTS = ("echo", "upload", "routing")
MB = 1024 * 1024
ECHO_OBJECTS = 10_000
UPLOAD_SIZE = 50 * MB
# Past every framework's 1 MiB in-memory spool, so one-time costs (a thread pool) fall on it.
WARMUP_UPLOAD_SIZE = 4 * MB
CURL_TIMEOUT = 300
# (handlers in the app, the one requested): one near the end of each list.
ROUTE_CASES = ((5, "h3"), (200, "h197"))

# What each framework's upload handler does (the code is in its apps/ module), for the report.
UPLOAD_PATHS = {
    "apps.micropie": "handler parameter `file: UploadedFile`, chunks read from `file[\"content\"]` "
    "while the body is still being parsed (the queue keeps 1 MiB in memory, spills the rest to a "
    "temporary file if the handler falls behind)",
    "apps.starlette": "`async with request.form()`: the whole body is parsed first into an "
    "UploadFile (SpooledTemporaryFile: 1 MiB in memory, the rest on disk), then read back in "
    "1 MiB `await file.read()` chunks",
    "apps.blacksheep": "`request.multipart_stream()`, each part's `part.stream()` chunks as the "
    "body arrives, nothing spooled",
}


@dataclass(frozen=True)
class Settings:
    echo_calls: int
    echo_reps: int
    echo_warmup: int
    route_calls: int
    route_reps: int
    route_warmup: int
    uploads: int


FULL = Settings(
    echo_calls=200, echo_reps=5, echo_warmup=20,
    route_calls=20_000, route_reps=5, route_warmup=2_000, uploads=3,
)
QUICK = Settings(
    echo_calls=20, echo_reps=2, echo_warmup=3,
    route_calls=2_000, route_reps=2, route_warmup=200, uploads=1,
)


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def echo_document() -> list[dict[str, Any]]:
    """The echo body: the same 10,000 objects (about 1 MB of compact JSON) in every process."""
    rng = Random(12)
    colours = ("red", "green", "blue", "cyan", "gray")
    return [
        {
            "id": index,
            "name": f"item{index}",
            "price": round(rng.uniform(0, 1000), 2),
            "ok": rng.random() < 0.5,
            "note": None if index % 3 else "x",
            "tags": rng.sample(colours, 2),
            "at": [rng.randint(-999, 999), round(rng.uniform(-90, 90), 4)],
        }
        for index in range(ECHO_OBJECTS)
    ]


def _scenario(key: str) -> Scenario:
    return next(scenario for scenario in SCENARIOS if scenario.key == key)


def _import_row(row: Row) -> ModuleType | dict[str, Any]:
    """The row's app module, or the result saying why the row is missing or must not be timed."""
    module = import_app_module(row)
    if isinstance(module, Refusal):
        return {"status": module.status, "reason": module.reason}
    return module


def _response_problem(response: Recorder) -> str | None:
    if response.status != 200:
        return f"status {response.status}, body {response.body[:200]!r}"
    if not response.complete:
        return "the response body never finished"
    return None


async def measure_echo(row: Row, calls: int, reps: int, warmup: int) -> dict[str, Any]:
    module = _import_row(row)
    if isinstance(module, dict):
        return module
    app: ASGIApp | None = module.build().apps.get("json_echo")
    if app is None:
        return {"status": "n/a", "reason": "no JSON echo route"}
    document = echo_document()
    body = json.dumps(document, separators=(",", ":")).encode()
    scenario = replace(_scenario("json_echo"), body=body)
    scope, message = scenario.scope(), scenario.request_message()
    lifespan = Lifespan(app)
    await lifespan.start()
    try:
        response = await respond_once(app, scope, message)
        problem = _response_problem(response)
        content_type = header(response.headers, b"content-type") or b""
        if problem is None and not content_type.startswith(b"application/json"):
            problem = f"content-type {content_type!r}, expected application/json"
        if problem is None and json.loads(response.body) != document:
            problem = "the JSON sent back differs from the document"
        if problem is not None:
            return {"status": "failed", "reason": problem}
        await calls_per_second(app, scope, message, warmup)
        rates = [await calls_per_second(app, scope, message, calls) for _ in range(reps)]
    finally:
        await lifespan.stop()
    return {"status": "ok", "bytes": len(body), "rates": rates}


async def measure_routing(row: Row, calls: int, reps: int, warmup: int) -> dict[str, Any]:
    module = _import_row(row)
    if isinstance(module, dict):
        return module
    build_routes: Callable[[int], ASGIApp] | None = getattr(module, "build_routes", None)
    if build_routes is None:
        return {"status": "n/a", "reason": f"{row.app_module} has no build_routes"}
    cases: list[tuple[ASGIApp, Scope, Message]] = []
    lifespans: list[Lifespan] = []
    try:
        for count, name in ROUTE_CASES:
            app = build_routes(count)
            lifespan = Lifespan(app)
            await lifespan.start()
            lifespans.append(lifespan)
            scenario = replace(_scenario("text"), path=f"/{name}", expected=name)
            scope, message = scenario.scope(), scenario.request_message()
            response = await respond_once(app, scope, message)
            problem = _response_problem(response)
            if problem is None and response.body != name.encode():
                problem = f"GET /{name} answered {response.body[:200]!r}"
            if problem is not None:
                return {"status": "failed", "reason": f"{count} handlers: {problem}"}
            cases.append((app, scope, message))
        for app, scope, message in cases:
            await calls_per_second(app, scope, message, warmup)
        rates: list[list[float]] = [[] for _ in cases]
        for _ in range(reps):
            for case_rates, (app, scope, message) in zip(rates, cases):
                case_rates.append(await calls_per_second(app, scope, message, calls))
    finally:
        for lifespan in lifespans:
            await lifespan.stop()
    return {"status": "ok", "rates": rates}


def probe(row: Row) -> dict[str, Any]:
    """Whether the row can serve the upload: its framework imports, in the mode it claims."""
    module = _import_row(row)
    if isinstance(module, dict):
        return module
    if not hasattr(module, "build_upload"):
        return {"status": "n/a", "reason": f"{row.app_module} has no build_upload"}
    return {"status": "ok"}


def worker_main(options: argparse.Namespace) -> None:
    row = row_named(options.worker)
    result: dict[str, Any]
    if options.part == "echo":
        result = asyncio.run(measure_echo(row, options.calls, options.reps, options.warmup))
    elif options.part == "routing":
        result = asyncio.run(measure_routing(row, options.calls, options.reps, options.warmup))
    else:
        result = probe(row)
    print(json.dumps(result))


def random_file(directory: Path, size: int) -> tuple[Path, str]:
    """A file of ``size`` random bytes in ``directory``, and its SHA-256."""
    data = os.urandom(size)
    path = directory / f"upload-{size}.bin"
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


class UploadFailed(Exception):
    """An upload that did not get the right answer: the reason, with the server's last log line."""


class UploadServer:
    """One row's `build_upload` app under uvicorn, from the row's environment."""

    def __init__(self, row: Row, python: Path) -> None:
        self.port = free_port()
        self.log: IO[bytes] = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [python, "-m", "uvicorn", f"{row.app_module}:build_upload", "--factory",
             "--host", "127.0.0.1", "--port", str(self.port), "--http", "httptools",
             "--no-access-log", "--log-level", "warning", "--lifespan", "on"],
            cwd=BENCH_DIR, env=row_environment(row), stdout=subprocess.DEVNULL, stderr=self.log,
        )
        self.url = f"http://127.0.0.1:{self.port}/upload"

    def wait(self) -> None:
        try:
            wait_until_listening(self.port, self.process)
        except RuntimeError as error:
            raise UploadFailed(f"{error}: {self.last_log_line()}") from None

    def last_log_line(self) -> str:
        self.log.seek(0)
        lines = self.log.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else "(nothing logged)"

    def stop(self) -> None:
        stop_server(self.process)
        self.log.close()


def post_file(server: UploadServer, path: Path, sha256: str) -> float:
    """Upload ``path`` with curl as field ``file``; the seconds it took. Checks the answer."""
    done = subprocess.run(
        ["curl", "-sS", "-H", "Expect:", "-F", f"file=@{path};type=application/octet-stream",
         "-w", "\n%{http_code} %{time_total}", server.url],
        capture_output=True, text=True, timeout=CURL_TIMEOUT,
    )
    if done.returncode != 0:
        raise UploadFailed(f"curl: {done.stderr.strip()}; server: {server.last_log_line()}")
    body, _, summary = done.stdout.rpartition("\n")
    status, seconds = summary.split()
    if status != "200":
        raise UploadFailed(f"status {status}, body {body[:200]!r}; server: {server.last_log_line()}")
    answer = json.loads(body)
    expected = {"size": path.stat().st_size, "sha256": sha256}
    if answer != expected:
        raise UploadFailed(f"answered {answer}, expected {expected}")
    return float(seconds)


def measure_upload(
    row: Row, env: Env, uploads: int, big: tuple[Path, str], small: tuple[Path, str]
) -> dict[str, Any]:
    if env.python is None:
        return {"status": "missing", "reason": env.problem}
    probed = run_worker(Path(__file__).resolve(), row, env, "--part", "probe")
    if isinstance(probed, str) or probed["status"] != "ok":
        return probed if isinstance(probed, dict) else {"status": "failed", "reason": probed}
    server = UploadServer(row, env.python)
    pid = server.process.pid
    try:
        server.wait()
        post_file(server, *small)
        rss_before_all = status_kib("VmRSS", pid)
        rates: list[float] = []
        peaks: list[int] = []
        for _ in range(uploads):
            before = status_kib("VmRSS", pid)
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := current RSS
            seconds = post_file(server, *big)
            peaks.append(status_kib("VmHWM", pid) - before)
            rates.append(UPLOAD_SIZE / MB / seconds)
            _log(f"  {row.name:<18} upload {rates[-1]:8.1f} MB/s, peak RSS growth "
                 f"{peaks[-1] / 1024:6.1f} MB")
        retained = status_kib("VmRSS", pid) - rss_before_all
    except (UploadFailed, subprocess.TimeoutExpired) as failure:
        return {"status": "failed", "reason": str(failure)}
    finally:
        server.stop()
    return {"status": "ok", "rates": rates, "peaks_kib": peaks, "retained_kib": retained}


def ratio(ours: float | None, theirs: float) -> str:
    return "–" if ours is None else f"{ours / theirs:.2f}×"


def render_echo(results: dict[str, dict[str, Any]], names: list[str]) -> None:
    medians = {name: statistics.median(result["rates"])
               for name, result in results.items() if result["status"] == "ok"}
    size = next((r["bytes"] for r in results.values() if r["status"] == "ok"), 0)
    print(f"### 1 MB JSON echo, in-process ({size / MB:.2f} MB request and response)\n")
    print("| row | calls/s | MB/s | ours ÷ row |")
    print("| --- | ---: | ---: | ---: |")
    for name in names:
        result = results[name]
        if name not in medians:
            print(f"| {name} | {result['status']}: {result.get('reason', '')} | | |")
            continue
        rate = medians[name]
        print(f"| {name} | {rate:,.0f} | {rate * size / MB:,.0f} | {ratio(medians.get(OURS), rate)} |")
    print()


def render_upload(results: dict[str, dict[str, Any]], names: list[str], rows: dict[str, Row]) -> None:
    medians = {name: statistics.median(result["rates"])
               for name, result in results.items() if result["status"] == "ok"}
    uploads = max((len(r["rates"]) for r in results.values() if r["status"] == "ok"), default=0)
    print(f"### {UPLOAD_SIZE // MB} MB multipart upload through uvicorn "
          f"(median of {uploads}; peak: the largest)\n")
    print("| row | MB/s | ours ÷ row | peak RSS growth | RSS kept after |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in names:
        result = results[name]
        if name not in medians:
            print(f"| {name} | {result['status']}: {result.get('reason', '')} | | | |")
            continue
        rate = medians[name]
        print(f"| {name} | {rate:,.0f} | {ratio(medians.get(OURS), rate)} | "
              f"{max(result['peaks_kib']) / 1024:.1f} MB | {result['retained_kib'] / 1024:+.1f} MB |")
    print("\nHow each app reads the upload:\n")
    measured: dict[str, list[str]] = {}
    for name in names:
        if results[name]["status"] == "ok":
            measured.setdefault(rows[name].app_module, []).append(name)
    for module, module_rows in measured.items():
        if module in UPLOAD_PATHS:
            print(f"- {', '.join(module_rows)}: {UPLOAD_PATHS[module]}.")
    print()


def render_routing(results: dict[str, dict[str, Any]], names: list[str]) -> None:
    medians = {name: [statistics.median(rates) for rates in result["rates"]]
               for name, result in results.items() if result["status"] == "ok"}
    (few, few_path), (many, many_path) = ROUTE_CASES
    print(f"### Routing: {many} handlers against {few}, in-process\n")
    print(f"| row | {few} handlers, GET /{few_path} | {many} handlers, GET /{many_path} "
          f"| {many} ÷ {few} | ours ÷ row ({many}) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    ours = medians.get(OURS)
    for name in names:
        result = results[name]
        if name not in medians:
            print(f"| {name} | {result['status']}: {result.get('reason', '')} | | | |")
            continue
        rate_few, rate_many = medians[name]
        print(f"| {name} | {rate_few:,.0f} | {rate_many:,.0f} | {rate_many / rate_few:.2f}× | "
              f"{ratio(None if ours is None else ours[1], rate_many)} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 20 echo calls × 2, 2,000 routing calls × 2, one upload")
    parser.add_argument("--only", default=",".join(DEFAULT_ROWS), metavar="ROW,...")
    parser.add_argument("--parts", default=",".join(PARTS), metavar="PART,...",
                        help=f"comma-separated, of: {', '.join(PARTS)}")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--part", help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--reps", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        worker_main(options)
        return
    try:
        rows = [row_named(name) for name in options.only.split(",")]
    except KeyError as error:
        parser.error(str(error.args[0]))
    parts = [part.strip() for part in options.parts.split(",")]
    unknown = [part for part in parts if part not in PARTS]
    if unknown:
        parser.error(f"unknown parts {unknown}; parts are: {', '.join(PARTS)}")
    settings = QUICK if options.quick else FULL
    names = [row.name for row in rows]
    envs = {env: prepare(env) for env in dict.fromkeys(row.env for row in rows)}
    started = time.monotonic()
    load = os.getloadavg()[0]
    results: dict[str, dict[str, dict[str, Any]]] = {part: {} for part in parts}
    script = Path(__file__).resolve()

    def in_worker(part: str, row: Row, calls: int, reps: int, warmup: int) -> dict[str, Any]:
        _log(f"{part}: {row.name}")
        result = run_worker(script, row, envs[row.env], "--part", part, "--calls", str(calls),
                            "--reps", str(reps), "--warmup", str(warmup))
        if isinstance(result, str):
            status, _, reason = result.partition(": ")
            return {"status": status, "reason": reason}
        if result["status"] != "ok":
            _log(f"  {row.name}: {result['status']}: {result.get('reason', '')}")
        return result

    if "echo" in parts:
        for row in rows:
            results["echo"][row.name] = in_worker(
                "echo", row, settings.echo_calls, settings.echo_reps, settings.echo_warmup)
    if "upload" in parts:
        with tempfile.TemporaryDirectory() as scratch:
            big = random_file(Path(scratch), UPLOAD_SIZE)
            small = random_file(Path(scratch), WARMUP_UPLOAD_SIZE)
            for row in rows:
                _log(f"upload: {row.name}")
                results["upload"][row.name] = measure_upload(
                    row, envs[row.env], settings.uploads, big, small)
                if results["upload"][row.name]["status"] != "ok":
                    _log(f"  {row.name}: {results['upload'][row.name]}")
    if "routing" in parts:
        for row in rows:
            results["routing"][row.name] = in_worker(
                "routing", row, settings.route_calls, settings.route_reps, settings.route_warmup)

    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    print(f"{date}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load {load:.2f} at the start, "
          f"{time.monotonic() - started:.0f} s of measuring{' (--quick)' if options.quick else ''}. "
          f"Echo: {settings.echo_reps} × {settings.echo_calls:,} calls; routing: "
          f"{settings.route_reps} × {settings.route_calls:,} calls; medians.\n")
    row_by_name = {row.name: row for row in rows}
    if "echo" in parts:
        render_echo(results["echo"], names)
    if "upload" in parts:
        render_upload(results["upload"], names, row_by_name)
    if "routing" in parts:
        render_routing(results["routing"], names)


if __name__ == "__main__":
    main()
