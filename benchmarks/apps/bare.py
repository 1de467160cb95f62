"""The lower bound: a hand-written ASGI callable doing only what each response needs.

It still does the real work a correct app must do (read the body, decode the query and form,
parse and serialise JSON with orjson, look the session up in a dict), so the gap to a framework
is the framework's own cost. Its session scenario mirrors MicroPie's: a random id in a
`session_id` cookie naming a dict in memory.
"""

import uuid
from importlib import metadata
from urllib.parse import parse_qsl

import orjson

from benchlib.asgi import ASGIApp, Receive, Scope, Send
from benchlib.scenarios import GREETING, HELLO, SCENARIOS, SESSION_START_PATH, SESSION_USER
from benchlib.suite import Suite

_TEXT = [(b"content-type", b"text/plain; charset=utf-8")]
_JSON = [(b"content-type", b"application/json")]
_SESSIONS: dict[str, dict[str, str]] = {}


async def _respond(
    send: Send, body: bytes, headers: list[tuple[bytes, bytes]] = _TEXT, status: int = 200
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        chunk: bytes = message.get("body", b"")
        body += chunk
        if not message.get("more_body"):
            return body


def _cookie(scope: Scope, name: str) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    for key, value in headers:
        if key == b"cookie":
            for pair in value.decode("latin-1").split(";"):
                cookie_name, _, cookie_value = pair.strip().partition("=")
                if cookie_name == name:
                    return cookie_value
    return None


async def _index(scope: Scope, receive: Receive, send: Send) -> None:
    await _respond(send, HELLO.encode())


async def _json(scope: Scope, receive: Receive, send: Send) -> None:
    await _respond(send, orjson.dumps(GREETING), _JSON)


async def _greet(scope: Scope, receive: Receive, send: Send) -> None:
    name = scope["path"].removeprefix("/greet/")
    query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
    await _respond(send, f"Hello {name} {query['x']}".encode())


async def _login(scope: Scope, receive: Receive, send: Send) -> None:
    form = dict(parse_qsl((await _read_body(receive)).decode()))
    await _respond(send, f"Hi {form['username']}".encode())


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    await _respond(send, orjson.dumps(orjson.loads(await _read_body(receive))), _JSON)


async def _start_session(scope: Scope, receive: Receive, send: Send) -> None:
    session_id = str(uuid.uuid4())
    _SESSIONS[session_id] = {"user": SESSION_USER}
    headers = [*_TEXT, (b"set-cookie", f"session_id={session_id}; Path=/; HttpOnly".encode())]
    await _respond(send, b"started", headers)


async def _session(scope: Scope, receive: Receive, send: Send) -> None:
    session = _SESSIONS[_cookie(scope, "session_id") or ""]
    await _respond(send, session["user"].encode())


_ROUTES: dict[str, ASGIApp] = {
    "/": _index,
    "/json": _json,
    "/login": _login,
    "/echo": _echo,
    SESSION_START_PATH: _start_session,
    "/session": _session,
}


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    path: str = scope["path"]
    handler = _ROUTES.get(path)
    if handler is not None:
        await handler(scope, receive, send)
    elif path.startswith("/greet/"):
        await _greet(scope, receive, send)
    else:
        await _respond(send, b"Not Found", status=404)


def build() -> Suite:
    apps: dict[str, ASGIApp] = {scenario.key: app for scenario in SCENARIOS}
    return Suite(apps=apps, versions={"orjson": metadata.version("orjson")})
