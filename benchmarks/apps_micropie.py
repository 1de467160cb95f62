"""The benchmark app in MicroPie's API, shared by three rows.

The same class runs against whichever `micropie` the process imports: our package (compiled
wheel or `src/`) or MicroPie 0.29 / 0.32 from PyPI, each in its own environment. Handlers are
written the way MicroPie's documentation writes them: routes are method names, arguments are
bound from the path, query and form, and the session is the built-in in-memory backend.
"""

from importlib import metadata
from typing import Any

import micropie
from micropie import App

from asgitypes import ASGIApp
from scenarios import GREETING, HELLO, SCENARIOS, SESSION_USER
from suite import Suite


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
