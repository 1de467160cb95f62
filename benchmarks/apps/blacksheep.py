"""The benchmark app in BlackSheep, written as its documentation writes one.

JSON goes through orjson via `json_settings.use`, BlackSheep's documented switch, so that JSON
cost matches the MicroPie rows. BlackSheep binds `name` from the route and `x` from the query by
parameter name, like MicroPie. Its sessions use the bundled `InMemorySessionStore` (an id cookie
naming a dict, like MicroPie's backend); BlackSheep switches sessions on app-wide, so the session
scenario gets its own app and the other scenarios do not pay for the session middleware.

`build_upload` and `build_routes` are the apps of scaling.py: a file upload streamed through
`request.multipart_stream()`, and an app with many routes.
"""

import hashlib
from collections.abc import Awaitable, Callable
from importlib import metadata
from typing import Any

import orjson
from blacksheep import Application, Request, Response, Router, json, text
from blacksheep.settings.json import json_settings
from blacksheep.sessions.memory import InMemorySessionStore

from benchlib.asgi import ASGIApp
from benchlib.scenarios import GREETING, HELLO, SCENARIOS, SESSION_START_PATH, SESSION_USER
from benchlib.suite import Suite


# `use` is unannotated; this typed alias lets strict mypy accept the call.
_use_json: Callable[..., None] = json_settings.use


def _dumps(value: Any) -> str:
    return str(orjson.dumps(value), "utf-8")


async def index() -> Response:
    return text(HELLO)


async def greeting() -> Response:
    return json(GREETING)


async def greet(name: str, x: str) -> Response:
    return text(f"Hello {name} {x}")


async def login(request: Request) -> Response:
    form = await request.form()
    assert form is not None
    return text(f"Hi {form['username']}")


async def echo(request: Request) -> Response:
    return json(await request.json())


async def start_session(request: Request) -> Response:
    request.session["user"] = SESSION_USER
    return text("started")


async def session(request: Request) -> Response:
    user: str = request.session["user"]
    return text(user)


def build() -> Suite:
    _use_json(loads=orjson.loads, dumps=_dumps)

    router = Router()
    router.add_get("/", index)
    router.add_get("/json", greeting)
    router.add_get("/greet/:name", greet)
    router.add_post("/login", login)
    router.add_post("/echo", echo)
    app = Application(router=router)

    session_router = Router()
    session_router.add_get(SESSION_START_PATH, start_session)
    session_router.add_get("/session", session)
    session_app = Application(router=session_router)
    session_app.use_sessions(InMemorySessionStore())

    apps: dict[str, ASGIApp] = {scenario.key: app for scenario in SCENARIOS}
    apps["session"] = session_app
    return Suite(
        apps=apps,
        versions={
            "blacksheep": metadata.version("blacksheep"),
            "orjson": metadata.version("orjson"),
        },
        notes={"session": "InMemorySessionStore, on a second app (sessions are app-wide)"},
    )


async def upload_file(request: Request) -> Response:
    # BlackSheep's documented way for large uploads (2.6): `multipart_stream()` parses the body
    # as it arrives and yields each part with its data as a stream, nothing spooled.
    digest = hashlib.sha256()
    size = 0
    async for part in request.multipart_stream():
        if part.name == "file" and part.file_name:
            async for chunk in part.stream():
                digest.update(chunk)
                size += len(chunk)
    return json({"size": size, "sha256": digest.hexdigest()})


def build_upload() -> ASGIApp:
    """`POST /upload` with a file field `file`: its size and SHA-256, as JSON.

    uvicorn calls this as a factory (`uvicorn apps.blacksheep:build_upload --factory`).
    """
    _use_json(loads=orjson.loads, dumps=_dumps)
    router = Router()
    router.add_post("/upload", upload_file)
    app: ASGIApp = Application(router=router)
    return app


def _named_handler(name: str) -> Callable[[], Awaitable[Response]]:
    async def handler() -> Response:
        return text(name)

    return handler


def build_routes(count: int) -> ASGIApp:
    """An app with `count` routes, `/h0` … `/h{count - 1}`, each answering its name."""
    router = Router()
    for index in range(count):
        router.add_get(f"/h{index}", _named_handler(f"h{index}"))
    app: ASGIApp = Application(router=router)
    return app
