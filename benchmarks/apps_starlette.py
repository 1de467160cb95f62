"""The benchmark app in Starlette, written as its documentation writes one.

JSON goes through orjson (serialised into a plain `Response` with the JSON media type) so that
JSON cost matches the MicroPie rows, which use orjson when it is installed. Starlette has no
server-side session store: its `SessionMiddleware` keeps the session in a signed cookie, so the
session scenario measures signing and verifying that cookie. The middleware is attached to the
session routes only, so that the other scenarios do not pay for it.
"""

from importlib import metadata
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from asgitypes import ASGIApp
from scenarios import GREETING, HELLO, SCENARIOS, SESSION_START_PATH, SESSION_USER
from suite import Suite


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
    app = Starlette(
        routes=[
            Route("/", index),
            Route("/json", greeting),
            Route("/greet/{name}", greet),
            Route("/login", login, methods=["POST"]),
            Route("/echo", echo, methods=["POST"]),
            Route(SESSION_START_PATH, start_session, middleware=sessions),
            Route("/session", session, middleware=sessions),
        ]
    )
    apps: dict[str, ASGIApp] = {scenario.key: app for scenario in SCENARIOS}
    return Suite(
        apps=apps,
        versions={
            "starlette": metadata.version("starlette"),
            "orjson": metadata.version("orjson"),
        },
        notes={"session": "signed-cookie session (SessionMiddleware), no server-side store"},
    )
