"""The ASGI app uvicorn serves in e2e.py: the benchmark app of the row named by BENCH_APP_MODULE.

Every scenario an end-to-end run uses (GET / and GET /json) is served by the suite's app for
the text scenario, which in every framework also routes /json. The wrapper counts the HTTP
requests served and the garbage collections of each generation (with their pauses) through
``gc.callbacks``, and writes them as JSON to BENCH_GC_REPORT at lifespan shutdown.
"""

import gc
import importlib
import json
import os
import time

from benchlib.asgi import ASGIApp, Message, Receive, Scope, Send

_inner: ASGIApp = importlib.import_module(os.environ["BENCH_APP_MODULE"]).build().apps["text"]
_report_path = os.environ.get("BENCH_GC_REPORT", "")
_requests = 0
_collections = [0, 0, 0]
_longest_ms = [0.0, 0.0, 0.0]
_started = [0.0, 0.0, 0.0]


def _on_collection(phase: str, info: dict[str, int]) -> None:
    generation = info["generation"]
    if phase == "start":
        _started[generation] = time.perf_counter()
    else:
        _collections[generation] += 1
        pause = (time.perf_counter() - _started[generation]) * 1000
        _longest_ms[generation] = max(_longest_ms[generation], pause)


gc.callbacks.append(_on_collection)


def _write_report() -> None:
    if _report_path:
        with open(_report_path, "w") as report:
            json.dump({"requests": _requests, "collections": _collections, "longest_ms": _longest_ms}, report)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    global _requests
    if scope["type"] == "http":
        _requests += 1
        await _inner(scope, receive, send)
        return
    if scope["type"] != "lifespan":
        await _inner(scope, receive, send)
        return

    async def watching_receive() -> Message:
        message = await receive()
        if message["type"] == "lifespan.shutdown":
            _write_report()
        return message

    await _inner(scope, watching_receive, send)
