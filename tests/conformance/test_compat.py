"""MicroPie apps run unchanged: its flags, descriptor handlers, blank values, and what MicroPie
0.32's own suite relies on. (Options as attributes are in unit/test_settings.py; the hand-kept
mirrors compiled code needs are guarded in builds/test_mirrors.py.)
"""

import asyncio
import functools
from typing import Any

import pytest
from harness import CONTENT_TYPE, Client, RecordingBackend, WebSocketSession, call, get, http_scope
from harness import part, read_all, run_python

import micropie
import micropie.request
import micropie.settings
from micropie import App, UploadedFile


def test_the_optional_dependency_flags_are_bools_of_what_is_installed() -> None:
    assert micropie.MULTIPART_INSTALLED is True
    assert micropie.JINJA_INSTALLED is True


async def test_the_flags_are_false_when_the_packages_are_missing() -> None:
    output = await run_python(
        "import sys\n"
        "sys.modules['multipart'] = None\n"
        "sys.modules['jinja2'] = None\n"
        "import micropie\n"
        "print(micropie.MULTIPART_INSTALLED, micropie.JINJA_INSTALLED)\n"
    )
    assert output.strip() == "False False"


# --- descriptor handlers ---------------------------------------------------------------------

executed: list[str] = []


class Descriptors(App):
    async def _greet(self, greeting: str, name: str) -> str:
        return f"{greeting}, {name}"

    hello = functools.partialmethod(_greet, "Hello")

    @functools.singledispatchmethod
    async def kind(self, value: object) -> str:
        return f"other {value!r}"

    @kind.register
    async def _(self, value: str) -> str:
        return f"text {value}"

    @functools.cached_property
    def cached(self) -> str:
        executed.append("cached_property")
        return "never"

    @property
    def prop(self) -> str:
        executed.append("property")
        return "never"


async def test_partialmethod_and_singledispatchmethod_handlers_are_routes() -> None:
    app = Descriptors()
    assert (await get(app, "/hello/Ada")).text == "Hello, Ada"
    assert (await get(app, "/hello", query="name=Bob")).text == "Hello, Bob"
    assert (await get(app, "/kind/x")).text == "text x"
    assert (await get(app, "/hello")).status == 400  # name is still required


async def test_other_descriptors_are_never_run_to_route() -> None:
    executed.clear()
    app = Descriptors()
    assert (await get(app, "/cached")).status == 404
    assert (await get(app, "/prop")).status == 404
    assert executed == []


async def test_descriptor_routes_are_resolved_once() -> None:
    app = Descriptors()
    for _ in range(3):
        assert (await get(app, "/hello/Ada")).status == 200
    entries = micropie.routes._class_entries[Descriptors]
    first = entries["hello"].resolution
    await get(app, "/hello/Eve")
    assert entries["hello"].resolution is first


# --- blank values ------------------------------------------------------------------------------

async def test_a_blank_multipart_field_waits_for_a_value_or_the_end_of_the_parse() -> None:
    class Form(App):
        async def upload(self, title: str = "untitled", document: UploadedFile | None = None) -> str:
            size = 0 if document is None else len(await read_all(document))
            return f"{title}:{size}"

    body = part("title", b"") + part("title", b"Report") + part("document", b"12345", "d.bin")
    reply = await call(Form(), "POST", "/upload", body=body + b"--" + CONTENT_TYPE.split("=")[1].encode() + b"--\r\n",
                       content_type=CONTENT_TYPE)
    assert reply.text == "Report:5"
    blank_only = part("title", b"") + b"--" + CONTENT_TYPE.split("=")[1].encode() + b"--\r\n"
    assert (await call(Form(), "POST", "/upload", body=blank_only, content_type=CONTENT_TYPE)).text == "untitled:0"


# --- what MicroPie 0.32's own suite relies on ----------------------------------------------

def test_micropie_s_default_limits_are_exported() -> None:
    assert (micropie.DEFAULT_MAX_BODY_SIZE, micropie.DEFAULT_MAX_FORM_FIELD_SIZE) == (16 * 1024 * 1024, 1024 * 1024)
    assert App().max_body_size == micropie.DEFAULT_MAX_BODY_SIZE


class Counter(App):
    async def index(self) -> str:
        count = int(self.request.session.get("count", 0)) + 1
        self.request.session["count"] = count
        return str(count)

    async def ws_index(self, socket: Any) -> None:
        await socket.accept()
        await socket.send_text(str(self.request.session.get("user")))


async def test_a_session_an_outer_layer_put_in_the_scope_is_used_and_left_to_it() -> None:
    backend = RecordingBackend()
    app = Counter(backend)
    outer: dict[str, Any] = {"count": 41}
    client = Client([b""])
    scope = http_scope("GET", "/", headers=[(b"cookie", b"session_id=0b8a2f5e-1c3d-4e5f-8a9b-0c1d2e3f4a5b")])
    scope["session"] = outer
    await app(scope, client.receive, client.send)
    assert client.reply().text == "42"
    assert outer == {"count": 42}, "the outer layer's own dict is changed"
    assert backend.calls == 0 and client.reply().header_values("set-cookie") == []
    socket = WebSocketSession(app, "/")
    socket.scope["session"] = {"user": "ada"}
    socket.start()
    accept = await socket.next_message()
    assert accept["headers"] == []
    assert (await socket.next_message())["text"] == "ada"
    await socket.finish()
    assert backend.calls == 0


def test_a_request_made_by_hand_reads_micropie_s_scope_keys() -> None:
    scope: dict[str, Any] = {"type": "http", "method": "POST", "body_params": {"f": ["x"]},
                             "json_body": {"k": 1}, "session": {"u": 1}, "files": {}, "body_parsed": True}
    request = micropie.Request(scope)
    assert (request.form("f"), request.json("k"), request.session, request.body_parsed) == ("x", 1, {"u": 1}, True)
    assert request.session is scope["session"]


async def test_an_empty_dict_from_before_websocket_lets_the_connection_through() -> None:
    class Open(micropie.WebSocketMiddleware):
        async def before_websocket(self, request: micropie.WebSocketRequest) -> dict[str, Any] | None:
            return {}

        async def after_websocket(self, request: micropie.WebSocketRequest) -> None:
            return None

    app = Counter()
    app.ws_middlewares.append(Open())
    socket = WebSocketSession(app, "/")
    socket.start()
    assert (await socket.next_message())["type"] == "websocket.accept"
    await socket.finish()


async def test_the_websocket_exposes_its_asgi_callables() -> None:
    received: list[dict[str, Any]] = []

    class Raw(App):
        async def ws_index(self, socket: micropie.WebSocket) -> None:
            await socket.accept()
            received.append(await socket.receive())
            await socket.send({"type": "websocket.send", "text": "raw"})

    session = WebSocketSession(Raw(), "/")
    session.start()
    await session.next_message()
    session.send_text("hi")
    assert (await session.next_message())["text"] == "raw"
    await session.finish()
    assert received == [{"type": "websocket.receive", "text": "hi"}]


def test_the_in_memory_backend_shows_its_sessions() -> None:
    backend = micropie.InMemorySessionBackend()
    asyncio.run(backend.save("a", {"user": "ada"}, 60))
    assert backend.sessions == {"a": {"user": "ada"}}


@pytest.mark.parametrize("status", [204, 304, 101])
async def test_statuses_without_a_body_get_no_body_and_no_content_length(status: int) -> None:
    class Empty(App):
        async def index(self) -> tuple[int, str, list[tuple[str, str]]]:
            return status, "ignored", [("Content-Length", "7")]

    reply = await get(Empty(), "/")
    assert (reply.status, reply.body, reply.header("content-length")) == (status, b"", None)


async def test_a_handler_without_parameters_is_not_run_on_a_body_already_known_to_be_bad() -> None:
    ran: list[str] = []

    class Quick(App):
        async def upload(self) -> str:
            ran.append("upload")
            return "ran"

    reply = await call(Quick(), "POST", "/upload", body=b"not multipart at all", content_type=CONTENT_TYPE)
    assert reply.status == 400
    assert ran == []


async def test_a_stream_is_not_starved_by_a_receive_that_answers_at_once() -> None:
    class Stream(App):
        def index(self) -> Any:
            yield "a"
            yield "b"

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(Stream()(http_scope("GET", "/"), receive, send), 5)
    assert b"".join(message.get("body", b"") for message in sent[1:]) == b"ab"
