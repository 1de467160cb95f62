"""Server-sent events: a clock that ticks over a long-lived HTTP response.

Run from the repository root with ``uvicorn examples.sse_clock:app`` (or
``uvicorn sse_clock:app --app-dir examples``) and open http://127.0.0.1:8000/, or::

    curl -N 'http://127.0.0.1:8000/clock?interval=0.5'

``/clock`` returns an async generator, which the framework streams chunk by chunk; each chunk is
one event, ``data: <UTC time>`` and a blank line. ``interval`` (seconds, a ``float``; default 1)
comes from the query string. When the client goes away, the framework cancels and closes the
generator, so its ``finally`` runs at once: ``/streams`` shows how many clocks are open and how
many have been closed.
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timezone

from micropie import App

MIN_INTERVAL = 0.05
MAX_INTERVAL = 60.0

SSE_HEADERS = [
    ("Content-Type", "text/event-stream"),
    ("Cache-Control", "no-cache"),
    # Tells nginx-style proxies not to buffer the stream.
    ("X-Accel-Buffering", "no"),
]

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>micropie clock</title>
<p>Server time: <output id="now">…</output></p>
<script>
new EventSource("/clock").onmessage = (event) => {
  document.getElementById("now").textContent = event.data;
};
</script>
"""

Reply = str | tuple[int, str] | tuple[int, AsyncIterator[str], list[tuple[str, str]]]


class Clock(App):
    def __init__(self) -> None:
        super().__init__()
        self.open_streams = 0
        self.closed_streams = 0

    async def index(self) -> str:
        return PAGE

    async def clock(self, interval: float = 1.0) -> Reply:
        if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
            return 400, f"interval must be between {MIN_INTERVAL} and {MAX_INTERVAL} seconds"
        return 200, self._ticks(interval), SSE_HEADERS

    async def streams(self) -> dict[str, int]:
        return {"open": self.open_streams, "closed": self.closed_streams}

    async def _ticks(self, interval: float) -> AsyncIterator[str]:
        self.open_streams += 1
        try:
            while True:
                now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
                yield f"data: {now}\n\n"
                await asyncio.sleep(interval)
        finally:
            self.open_streams -= 1
            self.closed_streams += 1


app = Clock()
