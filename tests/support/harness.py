"""Drives an ASGI application the way a server does, for tests.

An HTTP exchange sends the body as ``http.request`` messages (optionally in several chunks,
optionally with pauses), then, like a real server, holds ``receive()`` until the response is
complete or the test disconnects the client, and answers ``http.disconnect`` after that.
A WebSocket session feeds client messages through a queue and records what the app sends.
"""

import asyncio
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from micropie import SessionBackend, UploadedFile
from micropie import HttpMiddleware, Request, ResponseOverride
from micropie.asgi import ASGIApp, Message, Scope

Headers = Sequence[tuple[bytes, bytes]]


@dataclass
class Reply:
    """What an application sent for one HTTP request."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    complete: bool
    messages: list[Message] = field(repr=False)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)

    def header_values(self, name: str) -> list[str]:
        wanted = name.lower().encode("latin-1")
        return [value.decode("latin-1") for key, value in self.headers if key.lower() == wanted]

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        assert len(values) <= 1, f"{name} sent {len(values)} times: {values}"
        return values[0] if values else None


def http_scope(
    method: str = "GET",
    path: str = "/",
    query: bytes = b"",
    headers: Iterable[Sequence[bytes]] = (),
) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogateescape"),
        "query_string": query,
        "root_path": "",
        "headers": list(headers),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


class Client:
    """One HTTP exchange's server side: what ``receive`` gives and what ``send`` got."""

    def __init__(self, chunks: Sequence[bytes], pause: float = 0.0) -> None:
        self.chunks = list(chunks)
        self.pause = pause
        self.sent: list[Message] = []
        self.receive_calls = 0
        self.response_done = asyncio.Event()
        self.disconnected = asyncio.Event()

    def disconnect(self) -> None:
        self.disconnected.set()

    async def receive(self) -> Message:
        self.receive_calls += 1
        if self.chunks:
            if self.pause:
                await asyncio.sleep(self.pause)
            chunk = self.chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}
        done = asyncio.ensure_future(self.response_done.wait())
        gone = asyncio.ensure_future(self.disconnected.wait())
        try:
            await asyncio.wait((done, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            done.cancel()
            gone.cancel()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.response_done.set()

    def reply(self) -> Reply:
        assert self.sent, "the application sent nothing"
        start = self.sent[0]
        assert start["type"] == "http.response.start", start
        bodies = [message for message in self.sent[1:] if message["type"] == "http.response.body"]
        complete = bool(bodies) and not bodies[-1].get("more_body", False)
        return Reply(
            status=start["status"],
            headers=[(bytes(key), bytes(value)) for key, value in start["headers"]],
            body=b"".join(message.get("body", b"") for message in bodies),
            complete=complete,
            messages=self.sent,
        )


async def call(
    app: ASGIApp,
    method: str = "GET",
    path: str = "/",
    *,
    query: bytes | str = b"",
    body: bytes | None = None,
    chunks: Sequence[bytes] | None = None,
    headers: Headers = (),
    content_type: str | None = None,
    cookies: dict[str, str] | None = None,
    pause: float = 0.0,
) -> Reply:
    """Send one request to ``app`` and return what it answered."""
    all_headers = list(headers)
    if content_type is not None:
        all_headers.append((b"content-type", content_type.encode("latin-1")))
    if cookies:
        cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
        all_headers.append((b"cookie", cookie.encode("latin-1")))
    if chunks is None:
        chunks = [body if body is not None else b""]
    if isinstance(query, str):
        query = query.encode("utf-8")
    client = Client(chunks, pause)
    await app(http_scope(method, path, query, all_headers), client.receive, client.send)
    return client.reply()


async def get(app: ASGIApp, path: str = "/", **options: Any) -> Reply:
    return await call(app, "GET", path, **options)


async def post_form(app: ASGIApp, path: str, form: str, **options: Any) -> Reply:
    return await call(
        app, "POST", path, body=form.encode("utf-8"),
        content_type="application/x-www-form-urlencoded", **options,
    )


async def post_json(app: ASGIApp, path: str, document: object, **options: Any) -> Reply:
    return await call(
        app, "POST", path, body=json.dumps(document).encode("utf-8"),
        content_type="application/json", **options,
    )


def cookie_from(reply: Reply, name: str = "session_id") -> str | None:
    """The value ``reply`` sets for cookie ``name``, or None."""
    for header in reply.header_values("set-cookie"):
        first = header.split(";", 1)[0]
        key, _, value = first.partition("=")
        if key.strip() == name:
            return value
    return None


# Multipart bodies, written out by hand so that tests control every byte.

BOUNDARY = "----micropie-test-boundary"


def part(name: str, value: bytes, filename: str | None = None, content_type: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode() + b"\r\n" + value + b"\r\n"


def end() -> bytes:
    return f"--{BOUNDARY}--\r\n".encode()


def form(*parts: bytes) -> bytes:
    return b"".join(parts) + end()


CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


async def read_all(upload: UploadedFile) -> bytes:
    data = b""
    while (chunk := await upload["content"].get()) is not None:
        data += chunk
    return data


class WebSocketSession:
    """The server side of one WebSocket connection to an application."""

    def __init__(self, app: ASGIApp, path: str = "/", query: bytes = b"", headers: Headers = ()) -> None:
        self.app = app
        self.scope: Scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": path,
            "raw_path": path.encode("utf-8"),
            "query_string": query,
            "root_path": "",
            "headers": list(headers),
            "subprotocols": [],
            "client": ("127.0.0.1", 50001),
            "server": ("127.0.0.1", 8000),
        }
        self.incoming: asyncio.Queue[Message] = asyncio.Queue()
        self.outgoing: asyncio.Queue[Message] = asyncio.Queue()
        self.incoming.put_nowait({"type": "websocket.connect"})
        self.task: asyncio.Task[None] | None = None

    async def _receive(self) -> Message:
        return await self.incoming.get()

    async def _send(self, message: Message) -> None:
        await self.outgoing.put(message)

    def start(self) -> None:
        self.task = asyncio.ensure_future(self.app(self.scope, self._receive, self._send))

    def send_text(self, text: str) -> None:
        self.incoming.put_nowait({"type": "websocket.receive", "text": text})

    def send_bytes(self, data: bytes) -> None:
        self.incoming.put_nowait({"type": "websocket.receive", "bytes": data})

    def disconnect(self, code: int = 1000) -> None:
        self.incoming.put_nowait({"type": "websocket.disconnect", "code": code})

    async def next_message(self, timeout: float = 2.0) -> Message:
        """The next message the app sends. Fails at once, with the app's exception if it raised,
        when the app has ended without sending one; times out as before otherwise."""
        getter = asyncio.ensure_future(self.outgoing.get())
        waiters: set[asyncio.Future[Any]] = {getter}
        if self.task is not None:
            waiters.add(self.task)
        try:
            done, _ = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not getter.done():
                getter.cancel()
        if getter in done:
            return getter.result()
        if self.task is not None and self.task.done():
            if not self.outgoing.empty():
                return self.outgoing.get_nowait()
            error = None if self.task.cancelled() else self.task.exception()
            raise AssertionError(f"the application ended without sending a message: {error!r}") from error
        raise asyncio.TimeoutError()

    async def finish(self, timeout: float = 2.0) -> None:
        assert self.task is not None
        await asyncio.wait_for(self.task, timeout)


class RecordingBackend(SessionBackend):
    """A session backend that keeps sessions in a dict and records every call made to it.

    ``load`` hands out a copy, so what a request does to its session reaches the store only
    through ``save``.
    """

    def __init__(self, sessions: dict[str, dict[str, Any]] | None = None) -> None:
        super().__init__()
        self.sessions: dict[str, dict[str, Any]] = {
            key: dict(value) for key, value in (sessions or {}).items()
        }
        self.loads: list[str] = []
        self.saves: list[tuple[str, dict[str, Any], int]] = []

    @property
    def calls(self) -> int:
        return len(self.loads) + len(self.saves)

    async def load(self, session_id: str) -> dict[str, Any]:
        self.loads.append(session_id)
        return dict(self.sessions.get(session_id, {}))

    async def save(self, session_id: str, data: dict[str, Any], timeout: int) -> None:
        self.saves.append((session_id, dict(data), timeout))
        if data and timeout > 0:
            self.sessions[session_id] = dict(data)
        else:
            self.sessions.pop(session_id, None)


async def run_python(script: str, *args: str, cwd: str | None = None, timeout: float = 30.0) -> str:
    """Run ``script`` in a fresh interpreter of the environment under test; its output.

    For what one process cannot undo, such as an optional package that is already imported
    (compiled code keeps imported modules in C statics, out of ``sys.modules``' reach).
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, *args, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout)
    return output.decode("utf-8", "replace")


class PassThrough(HttpMiddleware):
    """A middleware that changes nothing; a test overrides only the hook it is about."""

    async def before_request(self, request: Request) -> ResponseOverride | None:
        return None

    async def after_request(
        self,
        request: Request,
        status_code: int,
        response_body: object,
        extra_headers: list[tuple[str, str]],
    ) -> ResponseOverride | None:
        return None
