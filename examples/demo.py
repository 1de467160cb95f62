"""The demo app: ``scripts/demo`` serves it on http://127.0.0.1:8000.

A short tour: an HTML index, a greeting bound from the path and a typed query parameter, a JSON
endpoint, a form post, a visit counter kept in the session, a streamed upload that answers with
the SHA-256 of what arrived, a WebSocket echo, and lifespan hooks: startup records when the app
started (``/uptime`` reports it) and shutdown writes a line to the file named by
``MICROPIE_DEMO_STOPPED_FILE``, if that is set.
"""

import hashlib
import os
import time
from pathlib import Path

from micropie import COMPILED, App, UploadedFile, WebSocket

PAGE = """<!doctype html>
<title>micropie demo</title>
<h1>micropie is running</h1>
<ul>
  <li><a href="/greet/Ada?times=3">/greet/Ada?times=3</a>: path and typed query binding</li>
  <li><a href="/api/status">/api/status</a>: a dict becomes JSON</li>
  <li><a href="/visits">/visits</a>: a counter kept in your session</li>
  <li><a href="/uptime">/uptime</a>: when the server started the app</li>
  <li><code>ws://…/echo</code>: a WebSocket that sends every message back</li>
</ul>
<form method="post" action="/echo">
  <input name="message" placeholder="say something"> <button>POST it</button>
</form>
<form method="post" action="/upload" enctype="multipart/form-data">
  <input type="file" name="file"> <button>Upload it</button>
</form>
"""


class Demo(App):
    started_at: float | None = None

    async def index(self) -> str:
        return PAGE

    async def greet(self, name: str, times: int = 1) -> str:
        return " ".join([f"Hello, {name}!"] * max(1, min(times, 10)))

    async def api(self, resource: str = "status") -> dict[str, object]:
        return {"resource": resource, "ok": True, "method": self.request.method}

    async def echo(self, message: str = "") -> dict[str, str]:
        return {"you said": message}

    async def visits(self) -> str:
        session = self.request.session
        session["visits"] = int(session.get("visits", 0)) + 1
        return f"You have visited this page {session['visits']} time(s)."

    async def upload(self, file: UploadedFile) -> dict[str, object]:
        # The file arrives as a queue of chunks while the request is still being received.
        digest = hashlib.sha256()
        size = 0
        while (chunk := await file["content"].get()) is not None:
            digest.update(chunk)
            size += len(chunk)
        return {"filename": file["filename"], "size": size, "sha256": digest.hexdigest()}

    async def ws_echo(self, ws: WebSocket) -> None:
        await ws.accept()
        while True:
            await ws.send_text(await ws.receive_text())

    async def uptime(self) -> dict[str, object]:
        started = self.started_at
        return {
            "started_at": started,
            "seconds": None if started is None else time.time() - started,
            "compiled": COMPILED,
        }


# The demo is served over plain HTTP and tried with any client: curl, Python's httpx, any
# browser. A Secure cookie would be dropped by each one that makes no exception for
# 127.0.0.1, as Python's cookie jar does not (Chromium does: see examples/login.py), and the
# visit counter would restart on every request. So this cookie goes without Secure; keep the
# default behind HTTPS in production.
app = Demo(session_cookie_secure=False)


async def record_start() -> None:
    app.started_at = time.time()


async def leave_stopped_file() -> None:
    stopped_file = os.environ.get("MICROPIE_DEMO_STOPPED_FILE")
    if stopped_file:
        Path(stopped_file).write_text(f"stopped at {time.time()}\n")


app.startup_handlers.append(record_start)
app.shutdown_handlers.append(leave_stopped_file)
