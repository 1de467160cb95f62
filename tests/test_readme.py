"""The README's code blocks run, and do what the README says they do."""

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from harness import call, cookie_from, get
from redis_server import RedisServer

from micropie import App

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def load(block: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(block, str(README), "exec"), namespace)
    return namespace


async def test_hello_world() -> None:
    namespace = load(python_blocks()[0])
    app: App = namespace["app"]
    assert (await get(app, "/")).text == "Hello, World!"
    assert (await get(app, "/greet/Ada", query="times=2")).text == "Hello, Ada! Hello, Ada!"
    reply = await get(app, "/greet/Ada", query="times=x")
    assert (reply.status, reply.text) == (400, "400 Bad Request: Parameter 'times' must be int")


async def test_handler_tour() -> None:
    site: App = load(python_blocks()[1])["Site"](session_cookie_secure=False)
    login = await call(site, "POST", "/login", body=b"username=ada",
                       content_type="application/x-www-form-urlencoded")
    assert (login.status, login.header("location")) == (302, "/profile/1")
    cookie = login.header("set-cookie")
    assert cookie is not None
    session_id = cookie.split(";")[0].split("=", 1)[1]
    profile = await get(site, "/profile/1", cookies={"session_id": session_id})
    assert profile.json() == {"id": 1, "visits": 0}
    clock = await get(site, "/clock")
    assert clock.header("content-type") == "text/event-stream"
    assert clock.text.startswith("data: 0\n\ndata: 1\n\n")
    boundary = "b"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"document\"; filename=\"a.txt\"\r\n\r\n"
            f"hello\r\n--{boundary}--\r\n").encode()
    upload = await call(site, "POST", "/upload", body=body,
                        content_type=f"multipart/form-data; boundary={boundary}")
    assert upload.text == "a.txt: 5 bytes"


async def test_websocket_tour() -> None:
    from harness import WebSocketSession

    echo: App = load(python_blocks()[2])["app"]
    session = WebSocketSession(echo, "/echo", query=b"prefix=%3E")
    session.start()
    assert (await session.next_message())["type"] == "websocket.accept"
    session.send_text("hi")
    assert (await session.next_message()) == {"type": "websocket.send", "text": ">hi"}
    session.disconnect()
    await session.finish()
    foreign = WebSocketSession(echo, "/echo", headers=[(b"origin", b"https://evil.example")])
    foreign.start()
    assert (await foreign.next_message())["code"] == 1008


async def test_middleware_tour() -> None:
    app: App = load(python_blocks()[3])["app"]

    class Whoami(App):
        async def index(self) -> str:
            return str(self.request.attribute("user"))

    guarded = Whoami()
    guarded.middlewares.extend(app.middlewares)
    refused = await get(guarded, "/")
    assert (refused.status, refused.text) == (401, "token required")
    allowed = await get(guarded, "/", headers=[(b"authorization", b"Bearer secret")])
    assert (allowed.text, allowed.header("x-served-by")) == ("service", "micropie")


async def test_deploying_with_several_workers(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with redis_server.client() as client:
        client.flushall()
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    block = python_blocks()[4]
    # Two loads of the module stand for two worker processes.
    first: App = load(block)["app"]
    second: App = load(block)["app"]
    added = await get(first, "/add/apple")
    session_id = cookie_from(added)
    assert session_id is not None
    reply = await get(second, "/add/pear", cookies={"session_id": session_id})
    assert reply.json() == {"cart": ["apple", "pear"]}
    assert (await get(first, "/add/fig", cookies={"session_id": session_id})).json() == {"cart": ["apple", "pear", "fig"]}
    for app in (first, second):
        await app.session_backend.close()


async def test_wrapping_with_the_ecosystem_s_middleware() -> None:
    import httpx

    app = load(python_blocks()[5])["app"]
    origin = {"origin": "https://example.com"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver") as client:
        preflight = await client.options("/report", headers={
            **origin, "access-control-request-method": "GET", "access-control-request-headers": "authorization"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://example.com"
        refused = await client.get("/report", headers=origin)
        assert (refused.status_code, refused.text) == (401, "token required")
        assert refused.headers["access-control-allow-origin"] == "https://example.com"
        served = await client.get("/report", headers={**origin, "authorization": "Bearer secret",
                                                      "accept-encoding": "gzip"})
        assert served.headers["content-encoding"] == "gzip"
        assert served.json() == {"numbers": list(range(1000))}  # httpx decompressed it


def test_testing_your_app(tmp_path: Path) -> None:
    # The block is a user's test module: run it as one, with pytest, in a fresh interpreter.
    (tmp_path / "test_site.py").write_text(python_blocks()[6])
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error",
               "-o", "asyncio_default_fixture_loop_scope=function", "test_site.py"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "7 passed" in result.stdout, result.stdout
