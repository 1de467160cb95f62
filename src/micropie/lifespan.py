"""The ASGI lifespan protocol: startup and shutdown handlers.

Rules:
- On ``lifespan.startup`` every startup handler runs once, in order, then
  ``lifespan.startup.complete`` is sent; the first exception stops the rest and sends
  ``lifespan.startup.failed`` with its message (and is logged). Shutdown is the same.
- After the shutdown handlers, the application's own resources are released (the session
  backend's ``close()``), as one more shutdown step.
- The protocol ends after shutdown, or when startup fails.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Final

from micropie.asgi import Receive, Send

logger: Final = logging.getLogger("micropie")

LifespanHandler = Callable[[], Awaitable[None]]


async def _run_all(handlers: list[LifespanHandler], phase: str, send: Send) -> bool:
    try:
        for handler in list(handlers):
            await handler()
    except Exception as error:
        logger.exception("Lifespan %s handler failed", phase)
        await send({"type": f"lifespan.{phase}.failed", "message": str(error)})
        return False
    await send({"type": f"lifespan.{phase}.complete"})
    return True


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
            if not await _run_all(startup, "startup", send):
                return
        elif kind == "lifespan.shutdown":
            await _run_all([*shutdown, release], "shutdown", send)
            return
