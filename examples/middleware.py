"""Three middlewares in one app: a rate limiter, explicit routes, and a mounted sub-app.

Run from the repository root with ``uvicorn examples.middleware:app`` (or
``uvicorn middleware:app --app-dir examples``), then try:

- ``/`` and ``/hello/Ada``: ordinary handlers of the main app;
- ``/v1/status`` and ``/v1/echo/hi``: routed by ``VersionedRoutes`` to the handlers
  ``_v1_status`` and ``_v1_echo``, which are private, so ``/_v1_status`` itself is a 404;
- ``/admin/`` and ``/admin/users/7``: answered by a separate micropie app mounted at ``/admin``;
- more than ``RATE_LIMIT`` requests (default 60, from the environment) within ``RATE_WINDOW``
  seconds (default 60) from one client IP address: 429 with ``Retry-After``.
"""

import math
import os
import time
from collections import deque
from typing import Any

from micropie import App, HttpMiddleware, Request
from micropie import ResponseOverride


class RateLimiter(HttpMiddleware):
    """At most ``limit`` requests per client IP address in any ``window`` seconds (a sliding window)."""

    def __init__(self, limit: int, window: float) -> None:
        super().__init__()
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = {}
        self._last_sweep = time.monotonic()

    async def before_request(self, request: Request) -> ResponseOverride | None:
        # The peer address from the server. A client-supplied X-Forwarded-For header must not be
        # trusted here; behind a proxy, let the server resolve it (uvicorn --proxy-headers).
        client = request.scope.get("client")
        address = str(client[0]) if client else "unknown"
        now = time.monotonic()
        hits = self._hits.setdefault(address, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            retry_after = max(1, math.ceil(hits[0] + self.window - now))
            return {
                "status_code": 429,
                "body": "Too many requests",
                "headers": [("Retry-After", str(retry_after))],
            }
        hits.append(now)
        self._forget_idle(now)
        return None

    async def after_request(
        self, request: Request, status_code: int, response_body: object, extra_headers: list[tuple[str, str]]
    ) -> ResponseOverride | None:
        return None

    def _forget_idle(self, now: float) -> None:
        # Without this, every address that ever called would stay in memory. Once per window
        # is enough: an address idle for a whole window has nothing left to count.
        if now - self._last_sweep < self.window:
            return
        self._last_sweep = now
        idle = [address for address, hits in self._hits.items() if not hits or hits[-1] <= now - self.window]
        for address in idle:
            del self._hits[address]


class VersionedRoutes(HttpMiddleware):
    """``/v1/<name>/<args…>`` is served by the handler ``_v1_<name>`` with ``<args…>`` as its path."""

    async def before_request(self, request: Request) -> ResponseOverride | None:
        segments = request.scope["path"].strip("/").split("/")
        if len(segments) >= 2 and segments[0] == "v1":
            name = segments[1]
            # ``_route_handler`` bypasses the framework's check for private names on purpose,
            # so the check that the name is an ordinary identifier is this middleware's job.
            if not name.isidentifier() or name.startswith("_"):
                return {"status_code": 404, "body": "Not found"}
            request._route_handler = f"_v1_{name}"
            request.path_params = segments[2:]
        return None

    async def after_request(
        self, request: Request, status_code: int, response_body: object, extra_headers: list[tuple[str, str]]
    ) -> ResponseOverride | None:
        return None


class Mount(HttpMiddleware):
    """Hands every request under ``prefix`` to another ASGI app, with the prefix removed."""

    def __init__(self, prefix: str, subapp: App) -> None:
        super().__init__()
        self.prefix = "/" + prefix.strip("/")
        self.subapp = subapp

    async def before_request(self, request: Request) -> ResponseOverride | None:
        path: str = request.scope["path"]
        if path == self.prefix or path.startswith(self.prefix + "/"):
            request._subapp = self.subapp
            request._subapp_path = path[len(self.prefix):] or "/"
            request._subapp_mount_path = self.prefix
        return None

    async def after_request(
        self, request: Request, status_code: int, response_body: object, extra_headers: list[tuple[str, str]]
    ) -> ResponseOverride | None:
        return None


class Admin(App):
    """A separate app: it sees paths relative to its mount point, and the prefix in root_path."""

    def _where(self) -> dict[str, Any]:
        scope = self.request.scope
        return {"app": "admin", "path": scope["path"], "root_path": scope.get("root_path", "")}

    async def index(self) -> dict[str, Any]:
        return self._where()

    async def users(self, user_id: int) -> dict[str, Any]:
        return {**self._where(), "user_id": user_id}


class Main(App):
    async def index(self) -> str:
        return "main app"

    async def hello(self, name: str = "World") -> str:
        return f"Hello, {name}!"

    async def _v1_status(self) -> dict[str, Any]:
        return {"version": 1, "status": "ok"}

    async def _v1_echo(self, *words: str) -> dict[str, Any]:
        return {"version": 1, "echo": list(words)}


RATE_LIMIT = int(os.environ.get("RATE_LIMIT", "60"))
RATE_WINDOW = float(os.environ.get("RATE_WINDOW", "60"))

app = Main()
# They run in order: refuse floods first, then hand /admin over, then route /v1.
app.middlewares.append(RateLimiter(RATE_LIMIT, RATE_WINDOW))
app.middlewares.append(Mount("/admin", Admin()))
app.middlewares.append(VersionedRoutes())
