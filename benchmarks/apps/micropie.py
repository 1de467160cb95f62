"""The benchmark app in MicroPie's API, shared by three rows.

The same class runs against whichever `micropie` the process imports: our package (compiled
wheel or `src/`) or MicroPie 0.29 / 0.32 from PyPI, each in its own environment. Handlers are
written the way MicroPie's documentation writes them: routes are method names, arguments are
bound from the path, query and form, and the session is the built-in in-memory backend.

`build_upload` and `build_routes` are the apps of scaling.py (our package only: PyPI's MicroPie
rows never call them): a streamed file upload, and an app with many handlers.
"""

import hashlib
from collections.abc import Awaitable, Callable
from importlib import metadata
from typing import Any, cast

import micropie
from micropie import App

from benchlib.asgi import ASGIApp
from benchlib.scenarios import GREETING, HELLO, SCENARIOS, SESSION_USER
from benchlib.suite import Suite


class BenchApp(App):
    async def index(self) -> str:
        return HELLO

    async def json(self) -> dict[str, Any]:
        return GREETING

    async def greet(self, name: str, x: str) -> str:
        return f"Hello {name} {x}"

    async def login(self, username: str) -> str:
        return f"Hi {username}"

    async def echo(self) -> object:
        return self.request.json()

    async def start_session(self) -> str:
        self.request.session["user"] = SESSION_USER
        return "started"

    async def session(self) -> str:
        user: str = self.request.session["user"]
        return user


def build() -> Suite:
    app = BenchApp()
    apps: dict[str, ASGIApp] = {scenario.key: app for scenario in SCENARIOS}
    # PyPI's MicroPie has no __version__; our pure row runs from src/, which has no metadata.
    version = getattr(micropie, "__version__", None) or metadata.version("micropie")
    return Suite(
        apps=apps,
        versions={"micropie": version, "orjson": metadata.version("orjson")},
    )


# The whole-body limit of the upload app: above the 50 MiB scaling.py sends. MicroPie's default
# (16 MiB) covers multipart bodies too, so an app that takes big uploads raises it, as
# examples/upload.py does.
UPLOAD_LIMIT = 64 * 1024 * 1024


def build_upload() -> ASGIApp:
    """`POST /upload` with a file field `file`: its size and SHA-256, as JSON.

    The file is read the way the README's upload example reads it, chunk by chunk from
    `file["content"]` while the multipart body is still arriving. uvicorn calls this as a
    factory (`uvicorn apps.micropie:build_upload --factory`).
    """
    # Imported here: PyPI's MicroPie has no `UploadedFile`, and its rows import this module.
    from micropie import UploadedFile

    class UploadApp(App):
        async def upload(self, file: UploadedFile) -> dict[str, object]:
            digest = hashlib.sha256()
            size = 0
            queue = file["content"]
            while (chunk := await queue.get()) is not None:
                digest.update(chunk)
                size += len(chunk)
            return {"size": size, "sha256": digest.hexdigest()}

    return UploadApp(max_body_size=UPLOAD_LIMIT)


def _named_handler(name: str) -> Callable[[App], Awaitable[str]]:
    async def handler(self: App) -> str:
        return name

    handler.__name__ = handler.__qualname__ = name
    return handler


def build_routes(count: int) -> ASGIApp:
    """An app whose class has `count` handlers, `h0` … `h{count - 1}`, each answering its name.

    The handlers are functions in the class body, as a user writes methods; the class is made
    with `type` only because nobody writes 200 of them out.
    """
    namespace = {f"h{index}": _named_handler(f"h{index}") for index in range(count)}
    routes = cast("type[App]", type(f"Routes{count}", (App,), namespace))
    return routes()
