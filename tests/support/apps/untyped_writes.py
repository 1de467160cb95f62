"""Run by tests/conformance/test_untyped_writes.py in a fresh interpreter: write values into a request's or
an application's attributes the way an untyped MicroPie app does, and report what happened.

Reads a JSON list of cases on stdin; each names a ``target`` ("request" or "app"), an
``attribute``, a Python ``expression`` for the value and ``where`` the write happens
("before" in ``before_request``, "handler", "after" in ``after_request``). Two more targets
return the value instead of writing it, as untyped code may: "hook" (from ``before_request``
or ``after_request``, the ``attribute``) and "backend" (from the session backend's ``load`` or
``save``). For each case a
fresh application serves two requests (the second carries the first one's session cookie, so
what the first left behind shows), and one JSON line is printed with both answers and what the
"micropie" logger recorded. A case whose write crashes the interpreter ends the output early:
the test sees a missing line and the exit status.

``--pure-src DIR`` imports micropie from ``DIR`` (the source tree) instead of the environment,
so the same cases can run against the plain-Python build beside the installed one.
"""

import asyncio
import json
import logging
import re
import sys
from collections import OrderedDict, defaultdict
from pathlib import Path
from typing import Any

if len(sys.argv) == 3 and sys.argv[1] == "--pure-src":
    sys.path.insert(0, sys.argv[2])

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/support, for harness

from harness import call, cookie_from  # noqa: E402

import micropie  # noqa: E402
from micropie import App, HttpMiddleware, InMemorySessionBackend, Request  # noqa: E402


class Opaque:
    """An object of a class the framework knows nothing about."""

    def __repr__(self) -> str:
        return "Opaque()"


class PassThrough(HttpMiddleware):
    async def before_request(self, request: Request) -> None:
        return None

    async def after_request(self, request: Request, status_code: int, response_body: object,
                            extra_headers: list[tuple[str, str]]) -> None:
        return None


async def noop() -> None:
    return None


async def tiny_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"tiny app"})


NAMESPACE: dict[str, object] = {
    "Opaque": Opaque, "OrderedDict": OrderedDict, "defaultdict": defaultdict, "PassThrough": PassThrough,
    "InMemorySessionBackend": InMemorySessionBackend, "noop": noop, "tiny_app": tiny_app,
}


# Addresses and session ids differ from one run to the next; the reports of two runs are compared.
ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
SESSION_ID = re.compile(r"session_id=[^;'\"]*")


def short(value: object) -> str:
    text = SESSION_ID.sub("session_id=…", ADDRESS.sub(" at 0x…", repr(value)))
    return text if len(text) <= 300 else text[:300] + "…"


def digest(request: Request) -> dict[str, str]:
    """What a handler reads back from the request, as text."""
    return {
        "scope": type(request.scope).__name__,
        "method": short(request.method),
        "path_params": short(request.path_params),
        "query_params": short(request.query_params),
        "body_params": short(request.body_params),
        "session": short(request.session),
        "files": short(request.files),
        "headers": short(sorted(request.headers.items())),
        "body": short(request.body),
        "body_parsed": short(request.body_parsed),
        "json": short(request.json()),
    }


def make_app(case: dict[str, str]) -> App:
    target, attribute, where = case["target"], case["attribute"], case["where"]

    def value() -> Any:
        return eval(case["expression"], dict(NAMESPACE))  # a fresh value for every use

    def write(app: App, request: Request) -> None:
        if target in ("request", "app"):
            setattr(app if target == "app" else request, attribute, value())

    class Backend(InMemorySessionBackend):
        async def load(self, session_id: str) -> Any:
            return value() if attribute == "load" else await super().load(session_id)

        async def save(self, session_id: str, data: dict[str, Any], timeout: int) -> Any:
            await super().save(session_id, data, timeout)
            return value() if attribute == "save" else None

    class Writer(PassThrough):
        def __init__(self, app: App) -> None:
            super().__init__()
            self.app = app

        async def before_request(self, request: Request) -> Any:
            if where == "before" and request.query("write") == "1":
                write(self.app, request)
            return value() if target == "hook" and attribute == "before_request" else None

        async def after_request(self, request: Request, status_code: int, response_body: object,
                                extra_headers: list[tuple[str, str]]) -> Any:
            if where == "after" and request.query("write") == "1":
                write(self.app, request)
            return value() if target == "hook" and attribute == "after_request" else None

    class Probe(App):
        async def index(self, *segments: object) -> dict[str, object]:
            return {"segments": short(segments), "seen": digest(self.request)}

        async def show(self, first: object = None, second: int = 0) -> dict[str, object]:
            if where == "handler" and self.request.query("write") == "1":
                write(self, self.request)
            if target == "backend":
                self.request.session["visits"] = self.request.session.get("visits", 0) + 1
            return {"first": short(first), "second": second, "seen": digest(self.request)}

    app = Probe(Backend() if target == "backend" else None)
    app.middlewares.append(Writer(app))
    return app


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def run(case: dict[str, str], records: Records) -> dict[str, object]:
    app = make_app(case)
    records.lines.clear()
    form = b"f=1&f=2&g=x"
    first = await call(app, "POST", "/show/alpha/7", query="write=1&q=1", body=form,
                       content_type="application/x-www-form-urlencoded")
    session_id = cookie_from(first)
    cookies = {"session_id": session_id} if session_id else None
    second = await call(app, "GET", "/show/beta/8", query="q=2", cookies=cookies)
    return {
        "case": case,
        "answers": [[reply.status, reply.text, reply.complete] for reply in (first, second)],
        "log": list(records.lines),
    }


async def main() -> None:
    cases = json.load(sys.stdin)
    records = Records()
    logger = logging.getLogger("micropie")
    logger.addHandler(records)
    logger.setLevel(logging.DEBUG)
    print(json.dumps({"compiled": micropie.COMPILED}), flush=True)
    for case in cases:
        print(json.dumps(await run(case, records)), flush=True)


asyncio.run(main())
