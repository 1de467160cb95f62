"""micropie.testing: TestClient and AsyncTestClient against small apps, in both modes.

HTTP (bodies of every kind, cookies and the Secure session cookie), lifespan (once each, and
failures raised), WebSockets (echo, close codes, cookies both ways), the sync client's own event
loop, user subclasses (which compiled classes must allow), and a user's test module under
``mypy --strict``.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.middleware.trustedhost import TrustedHostMiddleware

from harness import run_python
from micropie import App, ConnectionClosed, UploadedFile, WebSocket
from micropie.testing import AsyncTestClient, LifespanFailed, TestClient
from micropie.testing import WebSocketDisconnect
from project import run_mypy


class Site(App):
    """Handlers for every kind of request the clients send, and a log of lifespan events."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.events: list[str] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.startup_handlers.append(self._started)
        self.shutdown_handlers.append(self._stopped)

    async def _started(self) -> None:
        self.events.append("startup")
        self.loop = asyncio.get_running_loop()

    async def _stopped(self) -> None:
        self.events.append("shutdown")

    async def index(self) -> str:
        return "home"

    async def greet(self, name: str, times: int = 1) -> str:
        return " ".join([f"Hello, {name}!"] * times)

    async def echo(self, message: str, count: int = 1) -> dict[str, object]:
        return {
            "message": message,
            "count": count,
            "method": self.request.method,
            "content_type": self.request.headers.get("content-type", ""),
        }

    async def upload(self, document: UploadedFile, note: str = "") -> dict[str, object]:
        data = b""
        while (chunk := await document["content"].get()) is not None:
            data += chunk
        return {
            "filename": document["filename"],
            "content_type": document["content_type"],
            "size": len(data),
            "text": data.decode("utf-8", "replace"),
            "note": note,
        }

    async def headers(self) -> dict[str, str | None]:
        return {
            "x-token": self.request.headers.get("x-token"),
            "client": self.request.scope["client"][0],
            "scheme": self.request.scope["scheme"],
        }

    async def visits(self) -> str:
        session = self.request.session
        session["visits"] = int(session.get("visits", 0)) + 1
        return str(session["visits"])

    async def same_loop(self) -> str:
        return "yes" if asyncio.get_running_loop() is self.loop else "no"

    async def created(self) -> tuple[int, str, list[tuple[str, str]]]:
        return 201, "made", [("Location", "/made/1")]

    async def chunks(self) -> AsyncIterator[str]:
        for number in range(3):
            yield f"chunk {number}\n"

    async def ws_echo(self, ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                if message.get("text") is not None:
                    await ws.send_text(message["text"])
                else:
                    await ws.send_bytes(message["bytes"])
        except ConnectionClosed:
            pass

    async def ws_json(self, ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                await ws.send_json({"echo": await ws.receive_json()})
        except ConnectionClosed:
            pass

    async def ws_bye(self, ws: WebSocket, code: int = 4001) -> None:
        await ws.accept()
        await ws.send_text("going")
        await ws.close(code, "bye now")

    async def ws_refuse(self, ws: WebSocket) -> None:
        await ws.close(4403, "not you")

    async def ws_visits(self, ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_json({"visits": self.request.session.get("visits", 0)})
        self.request.session["websocket"] = "was here"

    async def ws_same_loop(self, ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("yes" if asyncio.get_running_loop() is self.loop else "no")

    async def websocket_note(self) -> str:
        return str(self.request.session.get("websocket", "none"))

    async def ws_where(self, ws: WebSocket, room: str, name: str = "") -> None:
        await ws.accept()
        scope = self.request.scope
        await ws.send_json({
            "room": room, "name": name, "path": scope["path"], "raw_path": scope["raw_path"].decode(),
            "query": scope["query_string"].decode(), "scheme": scope["scheme"],
        })

    async def ws_protocol(self, ws: WebSocket) -> None:
        await ws.accept(subprotocol="chat.v1")
        await ws.send_text("negotiated")


def failing(message: str) -> Callable[[], Awaitable[None]]:
    async def handler() -> None:
        raise RuntimeError(message)

    return handler


async def hang() -> None:
    await asyncio.sleep(60)


def session_cookie_header(response: httpx.Response) -> list[str]:
    header = response.headers["set-cookie"]
    return [part.strip() for part in header.split(";")]


# TestClient: HTTP ---------------------------------------------------------------------------


def test_get_with_path_and_query_returns_an_httpx_response() -> None:
    with TestClient(Site()) as client:
        home = client.get("/")
        assert isinstance(home, httpx.Response)
        assert (home.status_code, home.text) == (200, "home")
        assert home.headers["content-length"] == "4"
        assert client.get("/greet/Ada", params={"times": 2}).text == "Hello, Ada! Hello, Ada!"
        assert client.get("/greet?name=Bob").text == "Hello, Bob!"
        wrong = client.get("/greet/Ada", params={"times": "two"})
        assert (wrong.status_code, wrong.text) == (400, "400 Bad Request: Parameter 'times' must be int")
        assert client.get("/nowhere").status_code == 404


def test_form_json_and_other_methods_bind_their_bodies() -> None:
    with TestClient(Site()) as client:
        form = client.post("/echo", data={"message": "hi", "count": "3"})
        assert form.json() == {
            "message": "hi", "count": 3, "method": "POST",
            "content_type": "application/x-www-form-urlencoded",
        }
        document = client.put("/echo", json={"message": "über", "count": 2})
        assert document.json() == {
            "message": "über", "count": 2, "method": "PUT", "content_type": "application/json",
        }
        assert client.patch("/echo", json={"message": "x"}).json()["method"] == "PATCH"
        assert client.delete("/echo", params={"message": "gone"}).json()["method"] == "DELETE"
        assert client.request("POST", "/echo", content=b"message=raw", headers={
            "Content-Type": "application/x-www-form-urlencoded"
        }).json()["message"] == "raw"
        head = client.head("/")
        assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", "4")
        assert client.options("/").status_code == 200


def test_files_upload_as_multipart() -> None:
    payload = "line one\nline two\n" * 1000
    with TestClient(Site()) as client:
        reply = client.post(
            "/upload",
            files={"document": ("notes.txt", payload.encode(), "text/plain")},
            data={"note": "attached"},
        )
    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "filename": "notes.txt", "content_type": "text/plain", "size": len(payload),
        "text": payload, "note": "attached",
    }


def test_headers_client_address_and_scheme_reach_the_app() -> None:
    with TestClient(Site(), client=("10.0.0.7", 5000), headers={"X-Token": "default"}) as client:
        assert client.get("/headers").json() == {"x-token": "default", "client": "10.0.0.7", "scheme": "https"}
        assert client.get("/headers", headers={"X-Token": "mine"}).json()["x-token"] == "mine"
        client.headers["X-Token"] = "changed"
        assert client.get("/headers").json()["x-token"] == "changed"


def test_status_headers_and_streamed_bodies_come_through() -> None:
    with TestClient(Site()) as client:
        created = client.post("/created")
        assert (created.status_code, created.text, created.headers["location"]) == (201, "made", "/made/1")
        chunks = client.get("/chunks")
        assert chunks.text == "chunk 0\nchunk 1\nchunk 2\n"
        # No Content-Length is invented for a streamed body.
        assert "content-length" not in chunks.headers
        with client.stream("GET", "/chunks") as response:
            assert list(response.iter_lines()) == ["chunk 0", "chunk 1", "chunk 2"]


def test_the_secure_session_cookie_persists_across_requests() -> None:
    with TestClient(Site()) as client:
        first = client.get("/visits")
        assert first.text == "1"
        attributes = session_cookie_header(first)
        assert "Secure" in attributes and "HttpOnly" in attributes
        session_id = client.cookies["session_id"]
        assert [client.get("/visits").text for _ in range(3)] == ["2", "3", "4"]
        assert client.cookies["session_id"] == session_id
        client.cookies.clear()
        assert client.get("/visits").text == "1"
        assert client.cookies["session_id"] != session_id


def test_over_plain_http_the_secure_cookie_is_not_sent_back() -> None:
    # Why the default base URL is https: httpx, like a browser, keeps Secure cookies off http.
    with TestClient(Site(), base_url="http://testserver") as client:
        assert [client.get("/visits").text for _ in range(2)] == ["1", "1"]
    with TestClient(Site(session_cookie_secure=False), base_url="http://testserver") as client:
        assert [client.get("/visits").text for _ in range(2)] == ["1", "2"]


def test_cookies_given_to_the_client_are_sent() -> None:
    app = Site()
    with TestClient(app) as first:
        first.get("/visits")
        session_id = first.cookies["session_id"]
    with TestClient(app, cookies={"session_id": session_id}) as second:
        assert second.get("/visits").text == "2"


def test_redirects_are_returned_unless_followed() -> None:
    class Redirects(App):
        async def old(self) -> tuple[int, str, list[tuple[str, str]]]:
            return self._redirect("/new")

        async def new(self) -> str:
            return "new"

    with TestClient(Redirects()) as client:
        moved = client.get("/old")
        assert (moved.status_code, moved.headers["location"]) == (302, "/new")
        assert client.get("/old", follow_redirects=True).text == "new"
    with TestClient(Redirects(), follow_redirects=True) as following:
        assert following.get("/old").text == "new"


def test_an_app_wrapped_in_asgi_middleware_is_served() -> None:
    app = Site()
    with TestClient(TrustedHostMiddleware(app, allowed_hosts=["testserver"])) as client:
        assert client.get("/").text == "home"
        with client.websocket_connect("/echo") as ws:
            ws.send_text("through")
            assert ws.receive_text() == "through"
    assert app.events == ["startup", "shutdown"]
    with TestClient(TrustedHostMiddleware(app, allowed_hosts=["example.com"])) as refused:
        assert refused.get("/").status_code == 400


class Large(App):
    async def index(self) -> str:
        return "compress me " * 1000


def test_a_compressed_response_is_decoded_once_by_both_clients() -> None:
    from starlette.middleware.gzip import GZipMiddleware

    with TestClient(GZipMiddleware(Large())) as client:
        response = client.get("/")
        assert response.headers["content-encoding"] == "gzip"
        assert response.text == "compress me " * 1000
        assert int(response.headers["content-length"]) < 1000  # what the app sent: compressed

    async def read_async() -> str:
        async with AsyncTestClient(GZipMiddleware(Large())) as client:
            return (await client.get("/")).text

    assert asyncio.run(read_async()) == "compress me " * 1000


# TestClient: lifespan and its loop ----------------------------------------------------------


def test_startup_and_shutdown_run_once_each_around_the_block() -> None:
    app = Site()
    with TestClient(app) as client:
        assert app.events == ["startup"]
        client.get("/")
        client.get("/")
        assert app.events == ["startup"]
    assert app.events == ["startup", "shutdown"]


def test_shutdown_runs_when_the_block_fails() -> None:
    app = Site()
    with pytest.raises(KeyError):
        with TestClient(app):
            raise KeyError("the test failed")
    assert app.events == ["startup", "shutdown"]


def test_a_failed_startup_raises_and_serves_nothing() -> None:
    app = Site()
    app.startup_handlers.append(failing("database unreachable"))
    client = TestClient(app)
    with pytest.raises(LifespanFailed, match="lifespan startup failed: database unreachable") as failed:
        with client:
            pytest.fail("the block ran after a failed startup")
    assert (failed.value.phase, failed.value.message) == ("startup", "database unreachable")
    assert app.events == ["startup"]
    # Like an httpx client, a test client serves one block.
    with pytest.raises(RuntimeError, match="the client has been closed"):
        client.get("/")


def test_a_failed_shutdown_raises_on_leaving() -> None:
    app = Site()
    app.shutdown_handlers.append(failing("could not flush"))
    with pytest.raises(LifespanFailed, match="lifespan shutdown failed: could not flush"):
        with TestClient(app) as client:
            assert client.get("/").text == "home"


def test_a_startup_that_never_finishes_fails_after_the_timeout() -> None:
    app = Site()
    app.startup_handlers.append(hang)
    with pytest.raises(LifespanFailed, match="lifespan startup failed: not complete after 0.2 seconds"):
        with TestClient(app, lifespan_timeout=0.2):
            pass


def test_requests_and_websockets_outside_the_block_are_refused() -> None:
    client = TestClient(Site())
    with pytest.raises(RuntimeError, match=r"`with TestClient\(app\) as client:`"):
        client.get("/")
    with pytest.raises(RuntimeError, match="TestClient serves only inside its block"):
        client.websocket_connect("/echo")
    used = TestClient(Site())
    with used:
        assert used.get("/").text == "home"
    with pytest.raises(RuntimeError, match="TestClient serves only inside its block"):
        used.websocket_connect("/echo")
    # Like an httpx client, a test client serves one block.
    with pytest.raises(RuntimeError, match="the client has been closed"):
        used.get("/")


def test_startup_requests_and_websockets_share_one_event_loop() -> None:
    app = Site()
    with TestClient(app) as client:
        assert app.loop is not None and app.loop.is_running()
        assert client.get("/same_loop").text == "yes"
        with client.websocket_connect("/same_loop") as ws:
            assert ws.receive_text() == "yes"


def test_a_user_subclass_works() -> None:
    class LoggedIn(TestClient):
        def visit(self) -> int:
            return int(self.get("/visits").text)

    with LoggedIn(Site()) as client:
        assert [client.visit(), client.visit()] == [1, 2]
    assert TestClient.__test__ is False


# TestClient: WebSockets ---------------------------------------------------------------------


def test_websocket_echoes_text_bytes_and_json() -> None:
    with TestClient(Site()) as client:
        with client.websocket_connect("/echo") as ws:
            ws.send_text("hello ✓")
            assert ws.receive_text() == "hello ✓"
            ws.send_bytes(b"\x00\xff")
            assert ws.receive_bytes() == b"\x00\xff"
        with client.websocket_connect("/json") as ws:
            ws.send_json({"a": [1, None, True]})
            assert ws.receive_json() == {"echo": {"a": [1, None, True]}}
            ws.send_text("not json")
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 1011


def test_a_refused_websocket_raises_with_the_close_code_and_reason() -> None:
    with TestClient(Site(allowed_origins=["https://testserver"])) as client:
        with pytest.raises(WebSocketDisconnect) as no_route:
            with client.websocket_connect("/nowhere"):
                pytest.fail("connected to a missing route")
        assert (no_route.value.code, no_route.value.reason) == (1008, "No matching WebSocket route")

        with pytest.raises(WebSocketDisconnect) as foreign:
            with client.websocket_connect("/echo", headers={"Origin": "https://evil.example"}):
                pytest.fail("connected from a foreign origin")
        assert (foreign.value.code, foreign.value.reason) == (1008, "Origin not allowed")

        with pytest.raises(WebSocketDisconnect) as refused:
            with client.websocket_connect("/refuse"):
                pytest.fail("connected although the handler refused")
        assert (refused.value.code, refused.value.reason) == (4403, "not you")

        with client.websocket_connect("/echo", headers={"Origin": "https://testserver"}) as ws:
            ws.send_text("welcome")
            assert ws.receive_text() == "welcome"


def test_a_websocket_closed_by_the_handler_shows_its_code() -> None:
    with TestClient(Site()) as client:
        with client.websocket_connect("/bye") as ws:
            assert ws.receive_text() == "going"
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_text()
            assert (closed.value.code, closed.value.reason) == (4001, "bye now")
        with client.websocket_connect("/visits") as ws:
            ws.receive_json()
            # The handler returned without closing: the connection ends as if closed with 1000.
            with pytest.raises(WebSocketDisconnect) as ended:
                ws.receive_json()
            assert ended.value.code == 1000
        with client.websocket_connect("/bye?code=1000") as ws:
            assert ws.receive_text() == "going"
            with pytest.raises(WebSocketDisconnect) as normal:
                ws.receive_text()
            assert normal.value.code == 1000


def test_an_exception_in_the_websocket_block_propagates_unchanged() -> None:
    with TestClient(Site()) as client:
        with pytest.raises(ZeroDivisionError):
            with client.websocket_connect("/echo") as ws:
                ws.send_text("x")
                1 / 0
        # The connection was closed and the app is still serving.
        assert client.get("/").text == "home"


def test_receive_times_out_when_asked_to() -> None:
    with TestClient(Site()) as client:
        with client.websocket_connect("/echo") as ws:
            with pytest.raises(TimeoutError):
                ws.receive_text(timeout=0.05)


def test_websocket_handshakes_carry_the_session_cookie_both_ways() -> None:
    with TestClient(Site()) as client:
        # A new session: its cookie comes back with accept() and lands in the client's jar.
        with client.websocket_connect("/visits") as ws:
            assert ws.receive_json() == {"visits": 0}
            assert ws.response.status_code == 101
            assert "Secure" in session_cookie_header(ws.response)
        assert client.get("/websocket_note").text == "was here"
        assert client.get("/visits").text == "1"
        with client.websocket_connect("/visits") as ws:
            assert ws.receive_json() == {"visits": 1}


def test_a_websocket_scope_is_a_servers_for_any_path() -> None:
    with TestClient(Site()) as client:
        with client.websocket_connect("/where/Zoë%20and%20Ada%21?name=J%C3%BCrgen+K") as ws:
            assert ws.receive_json() == {
                "room": "Zoë and Ada!", "name": "Jürgen K", "path": "/where/Zoë and Ada!",
                "raw_path": "/where/Zo%C3%AB%20and%20Ada%21", "query": "name=J%C3%BCrgen+K",
                "scheme": "wss",
            }
    with TestClient(Site(), base_url="http://testserver") as plain:
        with plain.websocket_connect("/where/lobby") as ws:
            assert ws.receive_json()["scheme"] == "ws"


def test_websocket_subprotocols_are_negotiated() -> None:
    with TestClient(Site()) as client:
        with client.websocket_connect("/protocol", subprotocols=["chat.v1", "chat.v0"]) as ws:
            assert ws.subprotocol == "chat.v1"
            assert ws.receive_text() == "negotiated"


def test_the_client_can_close_with_a_code() -> None:
    closes: list[int] = []

    class Listener(App):
        async def ws_listen(self, ws: WebSocket) -> None:
            await ws.accept()
            message = await ws.receive()
            closes.append(int(message.get("code", 0)))

    with TestClient(Listener()) as client:
        with client.websocket_connect("/listen") as ws:
            ws.close(4321)
            with pytest.raises(RuntimeError, match="closed by this client"):
                ws.send_text("too late")
    assert closes == [4321]


# AsyncTestClient ----------------------------------------------------------------------------


async def test_async_client_sends_every_kind_of_body() -> None:
    async with AsyncTestClient(Site()) as client:
        home = await client.get("/")
        assert isinstance(home, httpx.Response) and home.text == "home"
        assert (await client.get("/greet/Ada", params={"times": 2})).text == "Hello, Ada! Hello, Ada!"
        assert (await client.post("/echo", data={"message": "form"})).json()["message"] == "form"
        assert (await client.put("/echo", json={"message": "json"})).json()["content_type"] == "application/json"
        assert (await client.patch("/echo", json={"message": "p"})).json()["method"] == "PATCH"
        assert (await client.delete("/echo?message=d")).json()["method"] == "DELETE"
        assert (await client.head("/")).headers["content-length"] == "4"
        assert (await client.options("/")).status_code == 200
        assert (await client.request("GET", "/greet/Bo")).text == "Hello, Bo!"
        upload = await client.post("/upload", files={"document": ("a.bin", b"\x01\x02", "application/x-test")})
        assert upload.json()["size"] == 2
        async with client.stream("GET", "/chunks") as response:
            assert [line async for line in response.aiter_lines()] == ["chunk 0", "chunk 1", "chunk 2"]


async def test_async_client_keeps_the_secure_session_cookie() -> None:
    async with AsyncTestClient(Site()) as client:
        assert [(await client.get("/visits")).text for _ in range(3)] == ["1", "2", "3"]
        assert "session_id" in client.cookies


async def test_async_client_runs_lifespan_once_each_and_raises_a_failed_startup() -> None:
    app = Site()
    async with AsyncTestClient(app) as client:
        await client.get("/")
        await client.get("/")
        assert app.events == ["startup"]
    assert app.events == ["startup", "shutdown"]

    broken = Site()
    broken.startup_handlers.append(failing("no config"))
    client = AsyncTestClient(broken)
    with pytest.raises(LifespanFailed, match="lifespan startup failed: no config"):
        async with client:
            pytest.fail("the block ran after a failed startup")
    with pytest.raises(RuntimeError, match="the client has been closed"):
        await client.get("/")


async def test_async_client_refuses_requests_outside_its_block() -> None:
    client = AsyncTestClient(Site())
    with pytest.raises(RuntimeError, match=r"`async with AsyncTestClient\(app\) as client:`"):
        await client.get("/")
    with pytest.raises(RuntimeError, match="AsyncTestClient serves only inside its block"):
        client.websocket_connect("/echo")


async def test_async_websocket_echo_and_close_codes() -> None:
    async with AsyncTestClient(Site()) as client:
        async with client.websocket_connect("/echo") as ws:
            await ws.send_text("hi")
            assert await ws.receive_text() == "hi"
            await ws.send_bytes(b"\x00")
            assert await ws.receive_bytes() == b"\x00"
        async with client.websocket_connect("/json") as ws:
            await ws.send_json([1, 2])
            assert await ws.receive_json() == {"echo": [1, 2]}
        with pytest.raises(WebSocketDisconnect) as refused:
            async with client.websocket_connect("/nowhere"):
                pytest.fail("connected to a missing route")
        assert refused.value.code == 1008
        async with client.websocket_connect("/bye") as ws:
            assert await ws.receive_text() == "going"
            with pytest.raises(WebSocketDisconnect) as closed:
                await ws.receive_text()
            assert (closed.value.code, closed.value.reason) == (4001, "bye now")
        with pytest.raises(ZeroDivisionError):
            async with client.websocket_connect("/echo"):
                1 / 0


async def test_async_websocket_carries_the_session_cookie() -> None:
    async with AsyncTestClient(Site()) as client:
        await client.get("/visits")
        async with client.websocket_connect("/visits") as ws:
            assert await ws.receive_json() == {"visits": 1}
        assert (await client.get("/websocket_note")).text == "was here"


@pytest.fixture
async def fixture_client() -> AsyncIterator[AsyncTestClient]:
    # pytest-asyncio runs this fixture's setup and teardown in different tasks.
    async with AsyncTestClient(Site()) as client:
        yield client


async def test_async_client_works_from_an_async_fixture(fixture_client: AsyncTestClient) -> None:
    assert (await fixture_client.get("/visits")).text == "1"
    async with fixture_client.websocket_connect("/echo") as ws:
        await ws.send_text("from a fixture")
        assert await ws.receive_text() == "from a fixture"
    assert (await fixture_client.get("/visits")).text == "2"


async def test_an_async_user_subclass_works() -> None:
    class Visitor(AsyncTestClient):
        async def visit(self) -> int:
            return int((await self.get("/visits")).text)

    async with Visitor(Site()) as client:
        assert [await client.visit(), await client.visit()] == [1, 2]


# Packaging and types ------------------------------------------------------------------------


async def test_without_the_testing_extra_the_import_error_names_it() -> None:
    output = await run_python(
        "import sys\n"
        "sys.modules['httpx_ws'] = None\n"
        "try:\n"
        "    import micropie.testing\n"
        "except ImportError as error:\n"
        "    print('ImportError:', error)\n"
    )
    assert "ImportError:" in output, output
    assert "needs httpx, httpx-ws and asgi-lifespan: pip install httpx httpx-ws asgi-lifespan" in output, output


def test_the_clients_are_httpx_clients_with_httpx_s_own_request_methods() -> None:
    for http_client, test_client in ((httpx.Client, TestClient), (httpx.AsyncClient, AsyncTestClient)):
        assert issubclass(test_client, http_client)
        for method in ("request", "stream", "get", "head", "options", "delete", "post", "put", "patch"):
            assert getattr(test_client, method) is getattr(http_client, method), method


USER_TESTS = '''\
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.middleware.gzip import GZipMiddleware

from micropie import App, WebSocket
from micropie.testing import AsyncTestClient, TestClient, WebSocketDisconnect


class Site(App):
    async def index(self) -> str:
        return "home"

    async def ws_echo(self, ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(await ws.receive_text())


def test_sync() -> None:
    with TestClient(Site(), client=("10.0.0.1", 1)) as client:
        response: httpx.Response = client.get("/", params={"a": "1"}, headers={"X": "y"})
        assert response.status_code == 200
        client.post("/", data={"a": "b"}, files={"f": ("f.txt", b"x", "text/plain")})
        client.put("/", json={"a": [1, 2]}, timeout=5.0)
        client.request("PATCH", "/", content=b"raw", follow_redirects=True)
        client.cookies.set("name", "value")
        session: str | None = client.cookies.get("session_id")
        with client.stream("GET", "/") as streamed:
            lines: list[str] = list(streamed.iter_lines())
        with client.websocket_connect("/echo", headers={"Origin": "https://testserver"}) as ws:
            ws.send_text("hi")
            text: str = ws.receive_text(timeout=1.0)
            ws.send_bytes(b"x")
            ws.send_json({"a": 1})
            ws.close(1000)
        try:
            with client.websocket_connect("/nowhere"):
                pass
        except WebSocketDisconnect as refused:
            code: int = refused.code
            reason: str = refused.reason


@pytest.fixture
async def async_client() -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(GZipMiddleware(Site())) as client:
        yield client


async def test_async(async_client: AsyncTestClient) -> None:
    response: httpx.Response = await async_client.get("/")
    await async_client.delete("/", params={"id": 1})
    async with async_client.stream("POST", "/", json=[1]) as streamed:
        chunks: list[bytes] = [chunk async for chunk in streamed.aiter_bytes()]
    async with async_client.websocket_connect("/echo") as ws:
        await ws.send_text("hi")
        text: str = await ws.receive_text()
        data: bytes = await ws.receive_bytes()
        await ws.close()
'''

USER_MISTAKES = '''\
from micropie import App
from micropie.testing import AsyncTestClient, TestClient


def test_sync() -> None:
    with TestClient(App()) as client:
        client.get("/", parms={"a": "1"})
        client.get("/", data={"a": "b"})
        with client.websocket_connect("/echo") as ws:
            number: int = ws.receive_text()


async def test_async() -> None:
    async with AsyncTestClient(App()) as client:
        response = client.get("/")
        response.status_code
'''


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


def test_a_users_tests_pass_strict_mypy(tmp_path: Path, mypy_cache: Path) -> None:
    (tmp_path / "test_site.py").write_text(USER_TESTS)
    result = run_mypy(tmp_path, mypy_cache, "test_site.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_reports_a_users_mistakes_with_the_clients(tmp_path: Path, mypy_cache: Path) -> None:
    (tmp_path / "test_mistakes.py").write_text(USER_MISTAKES)
    result = run_mypy(tmp_path, mypy_cache, "test_mistakes.py")
    errors = result.stdout
    assert 'Unexpected keyword argument "parms"' in errors, errors
    assert 'Unexpected keyword argument "data" for "get" of "Client"' in errors, errors  # httpx's own method
    assert 'Incompatible types in assignment (expression has type "str", variable has type "int")' in errors, errors
    assert '"Coroutine[Any, Any, Response]" has no attribute "status_code"' in errors, errors
    assert "Found 4 errors" in errors, errors
