"""The benchmark app in Starlette, written as its documentation writes one.

JSON goes through orjson (serialised into a plain `Response` with the JSON media type) so that
JSON cost matches the MicroPie rows, which use orjson when it is installed. Starlette has no
server-side session store: its `SessionMiddleware` keeps the session in a signed cookie, so the
session scenario measures signing and verifying that cookie. The middleware is attached to the
session routes only, so that the other scenarios do not pay for it.

`build_upload` and `build_routes` are the apps of scaling.py: a file upload read through
`request.form()`, and an app with many routes.
"""

import hashlib
from collections.abc import Awaitable, Callable
from importlib import metadata
from typing import Any, cast

import orjson
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from benchlib.asgi import ASGIApp
from benchlib.scenarios import GREETING, HELLO, SCENARIOS, SESSION_START_PATH, SESSION_USER
from benchlib.suite import Suite


def as_asgi_app(app: Starlette) -> ASGIApp:
    """``app`` as the harness calls it.

    Starlette types the `send` it is given as taking any MutableMapping; micropie's vocabulary,
    which the harness speaks, gives it one that takes the dicts servers build. Starlette only
    ever sends dicts, so the app is an `ASGIApp` in fact, and the cast says so (at build time:
    nothing is added to a call).
    """
    return cast(ASGIApp, app)


def orjson_response(content: Any) -> Response:
    return Response(orjson.dumps(content), media_type="application/json")


async def index(request: Request) -> PlainTextResponse:
    return PlainTextResponse(HELLO)


async def greeting(request: Request) -> Response:
    return orjson_response(GREETING)


async def greet(request: Request) -> PlainTextResponse:
    name = request.path_params["name"]
    x = request.query_params["x"]
    return PlainTextResponse(f"Hello {name} {x}")


async def login(request: Request) -> PlainTextResponse:
    form = await request.form()
    username = form["username"]
    return PlainTextResponse(f"Hi {username}")


async def echo(request: Request) -> Response:
    return orjson_response(orjson.loads(await request.body()))


async def start_session(request: Request) -> PlainTextResponse:
    request.session["user"] = SESSION_USER
    return PlainTextResponse("started")


async def session(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.session["user"])


def build() -> Suite:
    sessions = [Middleware(SessionMiddleware, secret_key="benchmark-secret")]
    app = as_asgi_app(Starlette(
        routes=[
            Route("/", index),
            Route("/json", greeting),
            Route("/greet/{name}", greet),
            Route("/login", login, methods=["POST"]),
            Route("/echo", echo, methods=["POST"]),
            Route(SESSION_START_PATH, start_session, middleware=sessions),
            Route("/session", session, middleware=sessions),
        ]
    ))
    apps: dict[str, ASGIApp] = {scenario.key: app for scenario in SCENARIOS}
    return Suite(
        apps=apps,
        versions={
            "starlette": metadata.version("starlette"),
            "orjson": metadata.version("orjson"),
        },
        notes={"session": "signed-cookie session (SessionMiddleware), no server-side store"},
    )


# How much of the uploaded file each `UploadFile.read` returns.
UPLOAD_READ_SIZE = 1024 * 1024


async def upload_file(request: Request) -> Response:
    # Starlette's documented way to take a file: `request.form()` parses the whole multipart
    # body first, spooling the file to a SpooledTemporaryFile (1 MiB in memory, then disk);
    # the handler then reads the UploadFile back in chunks. (`request.stream()` would give
    # the raw multipart bytes, with no parser.)
    async with request.form() as form:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            return PlainTextResponse("no file field", status_code=400)
        digest = hashlib.sha256()
        size = 0
        while chunk := await file.read(UPLOAD_READ_SIZE):
            digest.update(chunk)
            size += len(chunk)
    return orjson_response({"size": size, "sha256": digest.hexdigest()})


def build_upload() -> ASGIApp:
    """`POST /upload` with a file field `file`: its size and SHA-256, as JSON.

    uvicorn calls this as a factory (`uvicorn apps.starlette:build_upload --factory`).
    """
    return as_asgi_app(Starlette(routes=[Route("/upload", upload_file, methods=["POST"])]))


def _named_endpoint(name: str) -> Callable[[Request], Awaitable[PlainTextResponse]]:
    async def endpoint(request: Request) -> PlainTextResponse:
        return PlainTextResponse(name)

    return endpoint


def build_routes(count: int) -> ASGIApp:
    """An app with `count` routes, `/h0` … `/h{count - 1}`, each answering its name."""
    return as_asgi_app(Starlette(
        routes=[Route(f"/h{index}", _named_endpoint(f"h{index}")) for index in range(count)]
    ))
