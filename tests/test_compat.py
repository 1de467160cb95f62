"""MicroPie apps run unchanged: its flags, options as attributes, descriptor handlers, blank
values. (The hand-kept mirrors compiled code needs are guarded in test_mirrors.py.)
"""

import asyncio
import functools
from typing import Any

import pytest
from harness import CONTENT_TYPE, Client, RecordingBackend, WebSocketSession, call, cookie_from, get, http_scope
from harness import part, post_form, read_all, run_python

import micropie
import micropie.request
import micropie.settings
from micropie import App, UploadedFile
from micropie.settings import OPTIONS


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


# --- options as attributes ------------------------------------------------------------------

DEFAULTS: dict[str, object] = {
    "body_timeout": 5.0,
    "max_body_size": 16 * 1024 * 1024,
    "max_form_field_size": 1024 * 1024,
    "max_form_fields": 1000,
    "session_timeout": 8 * 3600,
    "session_cookie_secure": True,
    "session_id_factory": micropie.sessions.new_session_id,
    "session_id_validator": micropie.sessions.validate_session_id,
    "allowed_origins": None,
    "templates_dir": "templates",
}


def test_every_option_reads_back_its_default() -> None:
    app = App()
    assert set(DEFAULTS) == set(OPTIONS)
    for name, value in DEFAULTS.items():
        assert getattr(app, name) == value, name


def test_options_read_back_as_given_and_checked() -> None:
    app = App(max_body_size=10, body_timeout=2, allowed_origins=["https://a.example"], session_id_validator=None)
    assert (app.max_body_size, app.body_timeout, app.session_id_validator) == (10, 2.0, None)
    assert app.allowed_origins == frozenset({"https://a.example"})


BAD_VALUES: list[tuple[str, object]] = [
    ("body_timeout", 0), ("body_timeout", "5"), ("max_body_size", -1), ("max_body_size", True),
    ("max_form_field_size", 1.5), ("max_form_fields", 0), ("session_timeout", None),
    ("session_cookie_secure", 1), ("session_id_factory", "uuid"), ("session_id_validator", 3),
    ("allowed_origins", "https://a.example"), ("allowed_origins", [1]),
    ("templates_dir", ""), ("templates_dir", b"templates"), ("templates_dir", None),
]


@pytest.mark.parametrize("name,value", BAD_VALUES)
def test_a_bad_value_is_refused_at_construction_and_on_assignment(name: str, value: object) -> None:
    with pytest.raises(ValueError, match=name):
        App(**{name: value})  # type: ignore[arg-type]
    app = App()
    before = getattr(app, name)
    with pytest.raises(ValueError, match=name):
        setattr(app, name, value)
    assert getattr(app, name) == before, "a refused value must leave the option as it was"


def test_an_unknown_option_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="max_body_sise"):
        App(max_body_sise=4)  # type: ignore[call-arg]


async def test_an_assigned_body_limit_takes_effect_from_the_next_request() -> None:
    class Echo(App):
        async def index(self) -> dict[str, list[str]]:
            return self.request.body_params

    app = Echo()
    assert (await post_form(app, "/", "a=12345678")).status == 200
    app.max_body_size = 4
    assert app.max_body_size == 4
    assert (await post_form(app, "/", "a=12345678")).status == 413
    app.max_body_size = None
    app.max_form_field_size = 3
    assert (await post_form(app, "/", "a=1234")).status == 413
    app.max_form_field_size = None
    app.max_form_fields = 1
    assert (await post_form(app, "/", "a=1&b=2")).status == 413


async def test_an_assigned_body_timeout_takes_effect() -> None:
    class Echo(App):
        async def index(self) -> dict[str, list[str]]:
            return self.request.body_params

    app = Echo()
    app.body_timeout = 0.05
    reply = await call(app, "POST", "/", chunks=[b"a=1", b"&b=2"], pause=0.2,
                       content_type="application/x-www-form-urlencoded")
    assert reply.status == 408


class Sessions(App):
    async def put(self, value: str) -> str:
        self.request.session["value"] = value
        return "stored"


async def test_assigned_session_options_take_effect() -> None:
    backend = RecordingBackend()
    app = Sessions(backend)
    app.session_timeout = 60
    app.session_cookie_secure = False
    app.session_id_factory = lambda: "0b8a2f5e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
    reply = await get(app, "/put/x")
    assert cookie_from(reply) == "0b8a2f5e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
    assert "secure" not in (reply.header("set-cookie") or "").lower()
    assert backend.saves == [("0b8a2f5e-1c3d-4e5f-8a9b-0c1d2e3f4a5b", {"value": "x"}, 60)]
    app.session_id_validator = lambda value: None  # every cookie refused from now on
    assert (await get(app, "/put/y", cookies={"session_id": "0b8a2f5e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"})).status == 500
    assert backend.loads == []


async def test_assigned_allowed_origins_take_effect() -> None:
    class Echo(App):
        async def ws_index(self, socket: Any) -> None:
            await socket.accept()
            await socket.close()

    app = Echo()
    app.allowed_origins = ["https://good.example"]
    session = WebSocketSession(app, "/", headers=[(b"origin", b"https://evil.example")])
    session.start()
    assert (await session.next_message())["code"] == 1008
    await session.finish()


async def test_a_request_in_flight_keeps_the_limits_it_started_with() -> None:
    class Slow(App):
        async def index(self) -> dict[str, list[str]]:
            return self.request.body_params

    app = Slow()
    release = asyncio.Event()
    chunks = [b"a=1", b"23456789"]

    async def receive() -> dict[str, Any]:
        if len(chunks) == 1:
            await release.wait()
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"",
             "headers": [(b"content-type", b"application/x-www-form-urlencoded")]}
    task = asyncio.ensure_future(app(scope, receive, send))
    await asyncio.sleep(0.01)
    app.max_body_size = 4
    release.set()
    await task
    assert sent[0]["status"] == 200


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
