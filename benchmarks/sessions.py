"""Session backends: the "GET session" scenario with the in-memory backend and with Redis.

    python benchmarks/sessions.py                  # compiled and pure, 20,000 calls each
    python benchmarks/sessions.py --calls 50000 --only "micropie compiled"

Starts its own `redis-server` (no persistence) on a free loopback port, like the tests. Each
row runs in its own process: it checks the scenario once per backend, warms up, then times
`--calls` in-process calls (the benchmark's usual fixed scope and `receive`, the session cookie
the app issued) in one event loop, and reads Redis's own command statistics before and after
to report the commands each request cost. In-process, so Redis's share is one loopback round
trip per command; over a network it grows with the latency.
"""

import argparse
import asyncio
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from time import perf_counter
from typing import Any

from benchlib.envs import prepare, run_worker
from benchlib.loopback import free_port
from benchlib.rows import row_named

DEFAULT_ROWS = ("micropie compiled", "micropie pure")


async def measure(row_name: str, redis_url: str, calls: int) -> dict[str, Any]:
    import micropie
    import redis
    from micropie.redis_sessions import RedisSessionBackend

    from apps.micropie import BenchApp
    from benchlib.inprocess import Receiver, discard, respond_once
    from benchlib.scenarios import SCENARIOS, session_start_scope

    scenario = next(item for item in SCENARIOS if item.key == "session")
    results: dict[str, Any] = {"compiled": micropie.COMPILED}
    probe = redis.Redis.from_url(redis_url)
    for label, backend in (("in-memory", None), ("redis", RedisSessionBackend(redis_url))):
        app = BenchApp(backend)
        started = await respond_once(app, session_start_scope(), {"type": "http.request", "body": b""})
        cookie = next(value for name, value in started.headers if name == b"set-cookie").split(b";")[0]
        scope = scenario.scope(cookie)
        check = await respond_once(app, scope, scenario.request_message())
        if (check.status, check.body) != (200, b"bob"):
            raise RuntimeError(f"{label}: GET /session answered {check.status} {check.body[:100]!r}")
        receive = Receiver(scenario.request_message())
        for _ in range(min(2000, calls)):
            receive.pending = True
            await app(dict(scope), receive, discard)
        before = probe.info("commandstats")
        begin = perf_counter()
        for _ in range(calls):
            receive.pending = True
            await app(dict(scope), receive, discard)
        elapsed = perf_counter() - begin
        after = probe.info("commandstats")
        commands = {
            name.removeprefix("cmdstat_"): int(after[name]["calls"]) - int(before.get(name, {"calls": 0})["calls"])
            for name in after
            if name != "cmdstat_info"
        }
        results[label] = {
            "calls_per_second": calls / elapsed,
            "commands_per_request": {name: count / calls for name, count in commands.items() if count},
        }
        await app.session_backend.close()
    probe.close()
    return results


def start_redis() -> tuple["subprocess.Popen[bytes]", str, tempfile.TemporaryDirectory[str]]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed (Debian: apt-get install redis-server)")
    port = free_port()
    directory = tempfile.TemporaryDirectory(prefix="micropie-bench-redis-")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", directory.name],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                sys.exit("redis-server did not start")
            time.sleep(0.05)
    return process, f"redis://127.0.0.1:{port}/0", directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--only", default=",".join(DEFAULT_ROWS))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--redis", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        print(json.dumps(asyncio.run(measure(options.worker, options.redis, options.calls))))
        return
    process, url, directory = start_redis()
    try:
        print("| row | backend | calls/s | Redis commands per request |")
        print("| --- | --- | ---: | --- |")
        for name in options.only.split(","):
            row = row_named(name)
            result = run_worker(Path(__file__).resolve(), row, prepare(row.env),
                                "--redis", url, "--calls", str(options.calls))
            if isinstance(result, str):
                print(f"| {row.name} | | {result} | |")
                continue
            for label in ("in-memory", "redis"):
                figures = result[label]
                commands = ", ".join(f"{count:.2f} {command.upper()}"
                                     for command, count in sorted(figures["commands_per_request"].items()))
                print(f"| {row.name} | {label} | {figures['calls_per_second']:,.0f} | {commands or 'none'} |")
            sys.stdout.flush()
    finally:
        process.terminate()
        process.wait(10)
        directory.cleanup()


if __name__ == "__main__":
    main()
