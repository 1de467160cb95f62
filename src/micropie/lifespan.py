"""The ASGI lifespan protocol: startup and shutdown handlers.

Rules:
- On ``lifespan.startup`` every startup handler runs once, in order, then
  ``lifespan.startup.complete`` is sent; the first exception stops the rest and sends
  ``lifespan.startup.failed`` with its message (and is logged). Shutdown is the same.
- After the shutdown handlers, the application's own resources are released (the session
  backend's ``close()``), even when a shutdown handler failed: a failing handler stops the
  handlers after it, never the release of connections and files.
- The protocol ends after shutdown, or when startup fails.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Final

from micropie.asgi import Receive, Send

logger: Final = logging.getLogger("micropie")

LifespanHandler = Callable[[], Awaitable[None]]


async def _run(handlers: list[LifespanHandler], phase: str) -> Exception | None:
    """Run ``handlers`` in order until one fails; the failure (logged), or None."""
    try:
        for handler in list(handlers):
            await handler()
    except Exception as error:
        logger.exception("Lifespan %s handler failed", phase)
        return error
    return None


async def _report(phase: str, failure: Exception | None, send: Send) -> None:
    if failure is None:
        await send({"type": f"lifespan.{phase}.complete"})
    else:
        await send({"type": f"lifespan.{phase}.failed", "message": str(failure)})


async def run_lifespan(
    startup: list[LifespanHandler],
    shutdown: list[LifespanHandler],
    receive: Receive,
    send: Send,
    release: LifespanHandler,
) -> None:
    """Serve the lifespan protocol; ``release`` runs after the shutdown handlers."""
    while True:
        message = await receive()
        kind = message.get("type")
        if kind == "lifespan.startup":
            failure = await _run(startup, "startup")
            await _report("startup", failure, send)
            if failure is not None:
                return
        elif kind == "lifespan.shutdown":
            failure = await _run(shutdown, "shutdown")
            released = await _run([release], "shutdown")
            await _report("shutdown", failure or released, send)
            return
