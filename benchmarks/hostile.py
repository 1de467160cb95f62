"""Hostile bodies: the memory and event-loop time one 16 MiB request can cost each framework.

    python benchmarks/hostile.py                       # every body, every row
    python benchmarks/hostile.py --only "micropie compiled,Starlette" --bodies parts

Each (row, body) pair runs in its own process, so its peak is its own. The worker builds the
app and the body, then sends the body to the POST form route (`/login`, the "POST form"
scenario's) in 64 KiB `http.request` messages, as uvicorn delivers them. It reports:

- the status the framework answered;
- the peak resident memory growth while serving it (VmHWM after, less VmRSS before, with the
  high-water mark reset through /proc/self/clear_refs before the request);
- the longest time the event loop was blocked (a ticker task records the largest gap between
  its 1 ms sleeps), i.e. how long every other request on that worker would have waited.

The goal for micropie: under 32 MB of peak growth per body, a 413 for the bodies past its
limits, and no stall anywhere near the seconds the probe measured before the field limit.
"""

import argparse
import asyncio
import json
from pathlib import Path
from time import perf_counter
from typing import Any

from benchlib.envs import prepare, run_worker
from benchlib.procstatus import status_kib
from benchlib.rows import row_named

DEFAULT_ROWS = ("micropie compiled", "micropie pure", "Starlette", "BlackSheep", "Falcon")
SIZE = 16 * 1024 * 1024 - 4096  # just under every framework's default body limit
CHUNK = 64 * 1024
BOUNDARY = "hostile-boundary"


# Every body starts with the field the route reads, so a framework that accepts the body answers
# 200 rather than failing on a missing field.
FIRST_FIELD = b"username=bob"


def empty_file_parts() -> tuple[bytes, bytes]:
    def part(disposition: str, value: bytes = b"") -> bytes:
        return f"--{BOUNDARY}\r\nContent-Disposition: form-data; {disposition}\r\n\r\n".encode() + value + b"\r\n"

    first = part('name="username"', b"bob")
    empty_file = part('name="f"; filename="e"')
    closing = f"--{BOUNDARY}--\r\n".encode()
    count = (SIZE - len(first) - len(closing)) // len(empty_file)
    return f"multipart/form-data; boundary={BOUNDARY}".encode(), first + empty_file * count + closing


def many_fields() -> tuple[bytes, bytes]:
    return b"application/x-www-form-urlencoded", FIRST_FIELD + b"&f=v" * (SIZE // 4 - 4)


def escaped_fields() -> tuple[bytes, bytes]:
    # 999 fields of 5 KiB once decoded: within every default limit, and all percent-escapes.
    field = b"%41" * (5 * 1024)
    return b"application/x-www-form-urlencoded", b"&".join(
        [FIRST_FIELD, *(b"f%d=" % index + field for index in range(999))]
    )


BODIES = {
    "parts": ("16 MiB of empty file parts", empty_file_parts),
    "fields": ("16 MiB of tiny urlencoded fields", many_fields),
    "escapes": ("1000 fields of percent-escapes", escaped_fields),
}


async def serve(row_name: str, body_key: str) -> dict[str, object]:
    import importlib

    from benchlib.scenarios import SCENARIOS, http_scope

    row = row_named(row_name)
    suite = importlib.import_module(row.app_module).build()
    form = next(scenario for scenario in SCENARIOS if scenario.key == "form")
    app = suite.apps[form.key]
    content_type, body = BODIES[body_key][1]()
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    scope = http_scope("POST", form.path, b"", headers)
    chunks = [body[start:start + CHUNK] for start in range(0, len(body), CHUNK)]
    del body
    status = 0
    done = asyncio.Event()

    async def receive() -> dict[str, object]:
        if chunks:
            chunk = chunks.pop(0)
            # Yield to the loop as a server's receive does when it has to wait for the socket.
            await asyncio.sleep(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(str(message["status"]))
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            done.set()

    longest_stall = 0.0

    async def ticker() -> None:
        nonlocal longest_stall
        last = perf_counter()
        while True:
            await asyncio.sleep(0.001)
            now = perf_counter()
            longest_stall = max(longest_stall, now - last - 0.001)
            last = now

    before = status_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    ticking = asyncio.ensure_future(ticker())
    started = perf_counter()
    await app(scope, receive, send)
    elapsed = perf_counter() - started
    ticking.cancel()
    return {
        "status": status,
        "peak_growth_kib": status_kib("VmHWM") - before,
        "longest_stall_s": longest_stall,
        "elapsed_s": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(DEFAULT_ROWS))
    parser.add_argument("--bodies", default=",".join(BODIES))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--body", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        print(json.dumps(asyncio.run(serve(options.worker, options.body))))
        return
    results: dict[tuple[str, str], dict[str, Any] | str] = {}
    rows = [row_named(name) for name in options.only.split(",")]
    bodies = options.bodies.split(",")
    for row in rows:
        env = prepare(row.env)
        for body_key in bodies:
            results[row.name, body_key] = run_worker(Path(__file__).resolve(), row, env, "--body", body_key)
    print("| body | row | status | peak RSS growth | longest loop stall | time |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for body_key in bodies:
        for row in rows:
            result = results[row.name, body_key]
            title = BODIES[body_key][0]
            if isinstance(result, str):
                print(f"| {title} | {row.name} | {result} | | | |")
                continue
            print(f"| {title} | {row.name} | {result['status']} | {result['peak_growth_kib'] / 1024:.1f} MB | "
                  f"{result['longest_stall_s'] * 1000:.0f} ms | {result['elapsed_s']:.2f} s |")


if __name__ == "__main__":
    main()
