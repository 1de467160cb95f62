"""Driving an ASGI app in-process, as every timing script does: no server, no socket.

Rules:
- `Lifespan` gives an app its lifespan startup and shutdown as a server would; every script
  starts it before the app's first request and stops it after the last. An app that rejects
  the lifespan protocol still serves, as under a server's "auto" lifespan mode.
- A response is judged only after it is recorded whole (`Recorder`); a scenario's scope is
  handed out for timing only once the app has answered it correctly (`checked_scope`), and
  `CheckFailed` says why not.
- A timed call is `await app(dict(scope), receive, send)`: a fresh shallow copy of one fixed
  scope, a `receive` that yields the request's single `http.request` message and then
  `http.disconnect` (`Receiver`), and a `send` that does nothing (`discard`), all in the
  caller's one event loop with the garbage collector as normal (`calls_per_second`).
"""

import asyncio
from time import perf_counter

from benchlib.asgi import ASGIApp, Message, Scope
from benchlib.scenarios import Scenario, check, header, session_start_scope

_DISCONNECT: Message = {"type": "http.disconnect"}
_NO_BODY: Message = {"type": "http.request", "body": b"", "more_body": False}


class CheckFailed(Exception):
    """A response, or the session set-up before one, that is not what the scenario expects."""


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


async def discard(message: Message) -> None:
    pass


class Recorder:
    """ASGI `send` for the correctness check: keeps the whole response."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""
        self.complete = False

    async def __call__(self, message: Message) -> None:
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
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
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

    async def _exchange(self, message_type: str) -> Message | None:
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
