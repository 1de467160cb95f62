"""Every common ASGI server serves the demo app (examples/demo.py): uvicorn, hypercorn, granian.

Each server runs in its own process with the tests' interpreter (so with the micropie build
under test) on a free loopback port, is driven by real clients (httpx for HTTP, ``websockets``
for the WebSocket) and is stopped as a process manager stops it, with SIGTERM
(``tests/support/live.py`` builds each server's command line and stops it).

The demo's session cookie is not ``Secure``, because the demo is served over plain HTTP (as
``scripts/demo`` serves it), so httpx's cookie jar sends it back as a browser would.

What differs between the servers is asserted as it is, server by server, in ``DIFFERENCES``.
"""

import asyncio
import hashlib
import os
import signal
import time
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest
import websockets
from websockets.asyncio.client import connect

from live import Server, serving
from project import ROOT

UPLOAD_SIZE = 5 * 1024 * 1024


class Difference(NamedTuple):
    server_header: str
    """What the server names itself in the ``server`` header it adds."""
    exit_status: int
    """How the server exits after a graceful stop on SIGTERM: uvicorn, once shut down,
    re-raises the signal it caught; the others exit with 0."""


DIFFERENCES = {
    "uvicorn": Difference(server_header="uvicorn", exit_status=-signal.SIGTERM),
    "hypercorn": Difference(server_header="hypercorn-h11", exit_status=0),
    "granian": Difference(server_header="granian", exit_status=0),
}


def ws_url(server: Server, path: str) -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


async def check_http(http: httpx.AsyncClient, server: str) -> None:
    greeting = await http.get("/greet/Ada", params={"times": "2"})
    assert (greeting.status_code, greeting.text) == (200, "Hello, Ada! Hello, Ada!")
    assert greeting.headers["content-type"] == "text/html; charset=utf-8"
    assert greeting.headers["content-length"] == str(len(greeting.content))
    assert greeting.headers["server"] == DIFFERENCES[server].server_header
    bad = await http.get("/greet/Ada", params={"times": "often"})
    assert (bad.status_code, bad.text) == (400, "400 Bad Request: Parameter 'times' must be int")

    form = await http.post("/echo", data={"message": "héllo & wörld"})
    assert (form.status_code, form.json()) == (200, {"you said": "héllo & wörld"})
    posted = await http.post("/echo", json={"message": "as JSON ✓"})
    assert (posted.status_code, posted.json()) == (200, {"you said": "as JSON ✓"})
    status = await http.post("/api/status", json={})
    assert status.json() == {"resource": "status", "ok": True, "method": "POST"}


async def check_session(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=10, trust_env=False) as http:
        counts = []
        for _ in range(3):
            reply = await http.get("/visits")
            counts.append(reply.text)
            if len(counts) == 1:
                attributes = [part.strip() for part in reply.headers["set-cookie"].split(";")]
                assert "HttpOnly" in attributes and "SameSite=Lax" in attributes
                assert "Secure" not in attributes
            else:
                assert "set-cookie" not in reply.headers
    assert counts == [f"You have visited this page {count} time(s)." for count in (1, 2, 3)]
    async with httpx.AsyncClient(base_url=url, timeout=10, trust_env=False) as stranger:
        assert (await stranger.get("/visits")).text == "You have visited this page 1 time(s)."


async def check_upload(http: httpx.AsyncClient) -> None:
    data = os.urandom(UPLOAD_SIZE)
    reply = await http.post("/upload", files={"file": ("random.bin", data, "application/octet-stream")})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"filename": "random.bin", "size": UPLOAD_SIZE,
                            "sha256": hashlib.sha256(data).hexdigest()}


async def check_websocket(server: Server) -> None:
    async with connect(ws_url(server, "/echo"), proxy=None, open_timeout=5, close_timeout=5) as echo:
        for message in ("hello", "ünïcødé ✓", "", "x" * 65536):
            await echo.send(message)
            assert await asyncio.wait_for(echo.recv(), 5) == message
    assert echo.close_code == 1000
    # A connection no handler serves is closed before the handshake completes, which every
    # server turns into an HTTP 403.
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with connect(ws_url(server, "/nowhere"), proxy=None, open_timeout=5):
            pass
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("server", list(DIFFERENCES))
async def test_the_demo_app_runs_on(server: str, tmp_path: Path) -> None:
    stopped_file = tmp_path / "stopped"
    launched = time.time()
    environment = {"MICROPIE_DEMO_STOPPED_FILE": str(stopped_file)}
    with serving("demo:app", app_dir=ROOT / "examples", server=server, env=environment) as running:
        async with httpx.AsyncClient(base_url=running.url, timeout=30, trust_env=False) as http:
            # The very first request finds the lifespan startup done.
            uptime = (await http.get("/uptime")).json()
            answered = time.time()
            assert launched <= uptime["started_at"] <= answered
            assert uptime["compiled"] == (os.environ.get("MICROPIE_EXPECT_COMPILED") == "1")

            await check_http(http, server)
            await check_session(running.url)
            await check_upload(http)
        await check_websocket(running)
        assert not stopped_file.exists()
        stopping = time.time()

    assert not running.killed, running.output()
    assert running.process.returncode == DIFFERENCES[server].exit_status, running.output()
    # The lifespan shutdown ran, after the stop began.
    assert stopped_file.exists(), running.output()
    assert float(stopped_file.read_text().split()[-1]) >= stopping
    assert "Traceback" not in running.output() and "ERROR" not in running.output(), running.output()
