"""WebSocket routing, binding, the WebSocket object, middleware, sessions, origins."""

import json
import uuid
from typing import Any, cast

import pytest
from harness import Headers, RecordingBackend, WebSocketSession

from micropie import (
    SESSION_TIMEOUT,
    App,
    ConnectionClosed,
    WebSocket,
    WebSocketMiddleware,
    WebSocketRequest,
)
from micropie.asgi import Message
from micropie.middleware import CloseOverride


class Chat(App):
    log: list[object]
    ws_config = "a data attribute, not a handler"

    def __init__(self, *args: Any, **options: Any) -> None:
        super().__init__(*args, **options)
        self.log = []

    async def ws_index(self, ws: WebSocket) -> None:
        self.log.append("index")
        await ws.accept()
        await ws.send_text("index")

    async def ws_echo(self, connection: WebSocket) -> None:
        await connection.accept()
        try:
            while True:
                await connection.send_text("echo " + await connection.receive_text())
        except ConnectionClosed:
            self.log.append("closed")

    async def ws_polite(self, ws: WebSocket) -> None:
        await ws.accept()
        try:
            await ws.receive_text()
        except ConnectionClosed:
            await ws.close(1000, "bye")
            self.log.append("closed politely")

    async def ws_until_gone(self, ws: WebSocket) -> None:
        await ws.accept()
        while True:
            self.log.append(await ws.receive_text())

    async def ws__secret(self, ws: WebSocket) -> None:
        self.log.append("secret")
        await ws.accept()

    async def _private_ws(self, ws: WebSocket) -> None:
        self.log.append("private")
        await ws.accept()
        await ws.send_text("private handler")

    async def ws_kw(self, *, sock: WebSocket, room: str = "lobby") -> None:
        await sock.accept()
        await sock.send_text(f"room={room}")

    async def ws_room(self, ws: WebSocket, name: str, user: str = "guest") -> None:
        await ws.accept()
        await ws.send_text(f"{name}:{user}")

    async def ws_count(self, ws: WebSocket, count: int, ratio: float = 0.5, loud: bool = False) -> None:
        self.log.append("count")
        await ws.accept()
        await ws.send_text(f"{count!r} {ratio!r} {loud!r}")

    async def ws_parts(self, ws: WebSocket, *parts: str) -> None:
        await ws.accept()
        await ws.send_text("/".join(parts))

    async def ws_none(self) -> None:
        self.log.append("none")

    async def ws_who(self, ws: WebSocket, user: str = "guest") -> None:
        await ws.accept()
        await ws.send_text(f"user={user}")

    async def ws_who_required(self, ws: WebSocket, user: str) -> None:
        self.log.append("who_required")
        await ws.accept()

    async def ws_convert(self, ws: WebSocket) -> None:
        await ws.accept()
        text = await ws.receive_text()
        data = await ws.receive_bytes()
        await ws.send_text(text)
        await ws.send_bytes(data)

    async def ws_json(self, ws: WebSocket) -> None:
        await ws.accept()
        first = await ws.receive_json()
        second = await ws.receive_json()
        await ws.send_json({"first": first, "second": second, "none": None})

    async def ws_early(self, ws: WebSocket) -> None:
        try:
            await ws.send_text("too early")
        except RuntimeError:
            self.log.append("refused")
        try:
            await ws.send_bytes(b"too early")
        except RuntimeError:
            self.log.append("refused")
        try:
            await ws.send_json({"a": 1})
        except RuntimeError:
            self.log.append("refused")
        await ws.accept()
        await ws.send_text("after accept")

    async def ws_close(self, ws: WebSocket, code: int = 1000, reason: str = "") -> None:
        await ws.accept()
        if reason:
            await ws.close(code, reason)
        else:
            await ws.close()

    async def ws_boom(self, ws: WebSocket) -> None:
        await ws.accept()
        raise RuntimeError("handler secret")

    async def ws_boom_early(self, ws: WebSocket) -> None:
        raise RuntimeError("handler secret")

    async def ws_protocol(self, ws: WebSocket) -> None:
        await ws.accept(subprotocol="chat.v1")
        await ws.send_text("negotiated")

    async def ws_login(self, ws: WebSocket) -> None:
        self.log.append(ws.session_id)
        self.log.append(self.request)
        await ws.accept()
        self.request.session["user"] = "alice"

    async def ws_login_unaccepted(self, ws: WebSocket) -> None:
        self.request.session["user"] = "alice"
        await ws.close(1008, "not now")

    async def ws_logout(self, ws: WebSocket) -> None:
        await ws.accept()
        self.request.session.clear()

    async def ws_micropie_style(self, ws: WebSocket) -> None:
        await ws.accept(session_id=ws.session_id)
        self.request.session["seen"] = True
        await ws.send_text(ws.session_id)

    async def ws_profile(self, ws: WebSocket) -> None:
        self.log.append(ws.session_id)
        await ws.accept()
        await ws.send_text(str(self.request.session.get("user", "nobody")))
        self.request.session["visits"] = 1


def connect(
    app: App, path: str = "/", query: bytes = b"", headers: Headers = (), cookie: str | None = None
) -> WebSocketSession:
    all_headers = list(headers)
    if cookie is not None:
        all_headers.append((b"cookie", f"session_id={cookie}".encode("ascii")))
    session = WebSocketSession(app, path, query, all_headers)
    session.start()
    return session


async def expect_close(session: WebSocketSession, code: int, reason: str | None = None) -> Message:
    message = await session.next_message()
    assert message["type"] == "websocket.close", message
    assert message.get("code", 1000) == code, message
    if reason is not None:
        assert message.get("reason") == reason, message
    await session.finish()
    assert session.outgoing.empty()
    return message


async def expect_accept(session: WebSocketSession) -> Message:
    message = await session.next_message()
    assert message["type"] == "websocket.accept", message
    return message


async def next_text(session: WebSocketSession) -> str:
    message = await session.next_message()
    assert message["type"] == "websocket.send" and message.get("text") is not None, message
    return str(message["text"])


async def finished(session: WebSocketSession) -> None:
    """The app ended the connection without sending anything more."""
    await session.finish()
    assert session.outgoing.empty(), session.outgoing.get_nowait()


def cookie_headers(message: Message) -> list[str]:
    return [
        bytes(value).decode("latin-1")
        for name, value in message.get("headers") or []
        if bytes(name).lower() == b"set-cookie"
    ]


# --- routing ---------------------------------------------------------------------------------


async def test_root_is_ws_index_and_a_name_is_ws_name() -> None:
    app = Chat()
    session = connect(app, "/")
    await expect_accept(session)
    assert await next_text(session) == "index"
    await finished(session)
    echo = connect(app, "/echo")
    await expect_accept(echo)
    echo.send_text("hi")
    assert await next_text(echo) == "echo hi"
    echo.disconnect()
    await finished(echo)
    assert app.log == ["index", "closed"]


@pytest.mark.parametrize("path", ["/_secret", "/_private_ws", "/__init__", "/_"])
async def test_private_names_close_with_1008(path: str) -> None:
    app = Chat()
    await expect_close(connect(app, path), 1008)
    assert app.log == []


@pytest.mark.parametrize("path", ["/unknown", "/config", "/echo_", "/ws_echo"])
async def test_unknown_names_close_with_1008_no_matching_route(path: str) -> None:
    app = Chat()
    await expect_close(connect(app, path), 1008, "No matching WebSocket route")
    assert app.log == []


async def test_without_ws_index_the_root_has_no_route() -> None:
    class Bare(App):
        async def index(self) -> str:
            return "http only"

    await expect_close(connect(Bare(), "/"), 1008, "No matching WebSocket route")


# --- binding ---------------------------------------------------------------------------------


async def test_the_first_parameter_gets_the_websocket_whatever_its_name() -> None:
    app = Chat()
    session = connect(app, "/echo")
    await expect_accept(session)
    session.send_text("x")
    assert await next_text(session) == "echo x"
    session.disconnect()
    await finished(session)


@pytest.mark.parametrize(("query", "expected"), [(b"", "room=lobby"), (b"room=blue", "room=blue")])
async def test_a_keyword_only_first_parameter_gets_the_websocket(query: bytes, expected: str) -> None:
    session = connect(Chat(), "/kw", query)
    await expect_accept(session)
    assert await next_text(session) == expected
    await finished(session)


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        ("/room/kitchen", b"", "kitchen:guest"),
        ("/room/kitchen", b"user=bob", "kitchen:bob"),
        ("/room", b"name=hall&user=eve", "hall:eve"),
        ("/parts/a/b/c", b"", "a/b/c"),
        ("/parts", b"", ""),
    ],
)
async def test_other_parameters_bind_from_path_query_and_defaults(
    path: str, query: bytes, expected: str
) -> None:
    session = connect(Chat(), path, query)
    await expect_accept(session)
    assert await next_text(session) == expected
    await finished(session)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"count=3", "3 0.5 False"),
        (b"count=-7&ratio=2.5&loud=yes", "-7 2.5 True"),
        (b"count=0&loud=off", "0 0.5 False"),
    ],
)
async def test_query_parameters_are_converted_to_their_annotated_types(query: bytes, expected: str) -> None:
    session = connect(Chat(), "/count", query)
    await expect_accept(session)
    assert await next_text(session) == expected
    await finished(session)


@pytest.mark.parametrize(
    "query", [b"count=three", b"count=1.5", b"count=1&ratio=fast", b"count=1&loud=maybe", b""]
)
async def test_a_missing_or_unconvertible_parameter_closes_with_1008(query: bytes) -> None:
    app = Chat()
    await expect_close(connect(app, "/count", query), 1008)
    assert app.log == []


async def test_a_handler_without_parameters_closes_with_1011() -> None:
    app = Chat()
    await expect_close(connect(app, "/none"), 1011)
    assert app.log == []


async def test_session_values_never_bind_to_websocket_parameters() -> None:
    session_id = str(uuid.uuid4())
    app = Chat(RecordingBackend({session_id: {"user": "admin"}}))
    who = connect(app, "/who", cookie=session_id)
    await expect_accept(who)
    assert await next_text(who) == "user=guest"
    await finished(who)
    await expect_close(connect(app, "/who_required", cookie=session_id), 1008)
    assert app.log == []


# --- the WebSocket object --------------------------------------------------------------------


async def test_accept_with_a_subprotocol() -> None:
    session = WebSocketSession(Chat(), "/protocol")
    session.scope["subprotocols"] = ["chat.v2", "chat.v1"]
    session.start()
    accepted = await expect_accept(session)
    assert accepted["subprotocol"] == "chat.v1"
    assert await next_text(session) == "negotiated"
    await finished(session)


async def test_accept_without_a_subprotocol() -> None:
    session = connect(Chat(), "/")
    accepted = await expect_accept(session)
    assert accepted.get("subprotocol") is None
    await next_text(session)
    await finished(session)


async def test_receive_text_and_receive_bytes_convert() -> None:
    session = connect(Chat(), "/convert")
    await expect_accept(session)
    session.send_bytes("café ✓".encode("utf-8"))
    session.send_text("naïve")
    assert await next_text(session) == "café ✓"
    message = await session.next_message()
    assert message == {"type": "websocket.send", "bytes": "naïve".encode("utf-8")}
    await finished(session)


async def test_receive_raises_connection_closed_on_disconnect() -> None:
    app = Chat()
    session = connect(app, "/echo")
    await expect_accept(session)
    session.send_text("one")
    assert await next_text(session) == "echo one"
    session.disconnect(1001)
    await finished(session)
    assert app.log == ["closed"]


async def test_messages_with_both_keys_one_of_them_none_are_read() -> None:
    # Some servers send both "text" and "bytes" in websocket.receive, one of them None.
    session = connect(Chat(), "/convert")
    await expect_accept(session)
    session.incoming.put_nowait({"type": "websocket.receive", "text": None, "bytes": b"from bytes"})
    session.incoming.put_nowait({"type": "websocket.receive", "text": "from text", "bytes": None})
    assert await next_text(session) == "from bytes"
    assert await session.next_message() == {"type": "websocket.send", "bytes": b"from text"}
    await finished(session)


async def test_close_after_the_client_left_sends_nothing() -> None:
    app = Chat()
    session = connect(app, "/polite")
    await expect_accept(session)
    session.disconnect()
    await finished(session)
    assert app.log == ["closed politely"]


async def test_connection_closed_out_of_a_handler_is_a_normal_end() -> None:
    app = Chat()
    session = connect(app, "/until_gone")
    await expect_accept(session)
    session.send_text("a")
    session.send_text("b")
    session.disconnect()
    await finished(session)
    assert app.log == ["a", "b"]


async def test_a_client_gone_before_accept_ends_the_connection_quietly() -> None:
    app = Chat()
    session = WebSocketSession(app, "/")
    session.incoming.get_nowait()  # the client leaves instead of completing the handshake
    session.disconnect(1001)
    session.start()
    await finished(session)
    assert app.log == ["index"]


async def test_sending_before_accept_raises_runtime_error() -> None:
    app = Chat()
    session = connect(app, "/early")
    await expect_accept(session)
    assert await next_text(session) == "after accept"
    await finished(session)
    assert app.log == ["refused", "refused", "refused"]


async def test_send_json_and_receive_json() -> None:
    session = connect(Chat(), "/json")
    await expect_accept(session)
    session.send_text(json.dumps({"n": 2, "s": "é"}))
    session.send_bytes(json.dumps([1, 2.5, True]).encode("utf-8"))
    message = await session.next_message()
    assert message["type"] == "websocket.send"
    assert isinstance(message.get("text"), str)
    expected = {"first": {"n": 2, "s": "é"}, "second": [1, 2.5, True], "none": None}
    assert json.loads(message["text"]) == expected
    await finished(session)


async def test_receive_json_of_something_that_is_not_json_raises() -> None:
    session = connect(Chat(), "/json")
    await expect_accept(session)
    session.send_text("not json")
    await expect_close(session, 1011, "Internal server error")


@pytest.mark.parametrize(
    ("query", "code", "reason"),
    [(b"code=4000&reason=bye", 4000, "bye"), (b"code=1001&reason=going+away", 1001, "going away")],
)
async def test_close_with_a_code_and_reason(query: bytes, code: int, reason: str) -> None:
    session = connect(Chat(), "/close", query)
    await expect_accept(session)
    await expect_close(session, code, reason)


async def test_close_defaults_to_1000() -> None:
    session = connect(Chat(), "/close")
    await expect_accept(session)
    message = await expect_close(session, 1000)
    assert message.get("reason") in (None, "")


@pytest.mark.parametrize("path", ["/boom", "/boom_early"])
async def test_a_handler_exception_closes_with_1011_without_its_text(path: str) -> None:
    session = connect(Chat(), path)
    if path == "/boom":
        await expect_accept(session)
    message = await expect_close(session, 1011, "Internal server error")
    assert "secret" not in str(message)


# --- middleware ------------------------------------------------------------------------------


class Gate(WebSocketMiddleware):
    def __init__(self, log: list[object], refusal: object = None, route: str | None = None) -> None:
        self.log = log
        self.refusal = refusal
        self.route = route

    async def before_websocket(self, request: WebSocketRequest) -> CloseOverride | None:
        self.log.append("before")
        if self.route is not None:
            request._ws_route_handler = self.route
        return cast("CloseOverride | None", self.refusal)

    async def after_websocket(self, request: WebSocketRequest) -> None:
        self.log.append("after")


async def test_websocket_middleware_runs_before_and_after_the_handler() -> None:
    app = Chat()
    app.ws_middlewares.append(Gate(app.log))
    session = connect(app, "/")
    await expect_accept(session)
    await next_text(session)
    await finished(session)
    assert app.log == ["before", "index", "after"]


async def test_after_websocket_runs_when_the_client_disconnected() -> None:
    app = Chat()
    app.ws_middlewares.append(Gate(app.log))
    session = connect(app, "/echo")
    await expect_accept(session)
    session.disconnect()
    await finished(session)
    assert app.log == ["before", "closed", "after"]


@pytest.mark.parametrize(
    ("refusal", "code", "reason"),
    [
        ({"code": 4003, "reason": "forbidden"}, 4003, "forbidden"),
        ({"reason": "no token"}, 1008, "no token"),
        ({"code": 4001}, 4001, None),
    ],
    ids=["code and reason", "reason only", "code only"],
)
async def test_before_websocket_refuses_with_a_code_and_reason(
    refusal: dict[str, object], code: int, reason: str | None
) -> None:
    app = Chat()
    app.ws_middlewares.append(Gate(app.log, refusal))
    message = await expect_close(connect(app, "/"), code, reason)
    assert isinstance(message.get("reason", ""), str)
    assert app.log == ["before"]


async def test_a_refusing_middleware_stops_later_ones() -> None:
    app = Chat()
    later: list[object] = []
    app.ws_middlewares.extend([Gate(app.log, {"code": 4003}), Gate(later)])
    await expect_close(connect(app, "/"), 4003)
    assert later == []


@pytest.mark.parametrize("target", ["ws_echo", "_private_ws"])
async def test_middleware_routes_a_connection_explicitly(target: str) -> None:
    app = Chat()
    app.ws_middlewares.append(Gate(app.log, route=target))
    session = connect(app, "/somewhere/else")
    await expect_accept(session)
    if target == "ws_echo":
        session.send_text("routed")
        assert await next_text(session) == "echo routed"
        session.disconnect()
    else:
        assert await next_text(session) == "private handler"
    await finished(session)


class Faulty(WebSocketMiddleware):
    def __init__(self, fault: str) -> None:
        self.fault = fault

    async def before_websocket(self, request: WebSocketRequest) -> CloseOverride | None:
        if self.fault == "before raises":
            raise RuntimeError("middleware secret")
        if self.fault == "before returns a string":
            return cast(CloseOverride, "middleware secret")
        return None

    async def after_websocket(self, request: WebSocketRequest) -> None:
        if self.fault == "after raises":
            raise RuntimeError("middleware secret")


@pytest.mark.parametrize("fault", ["before raises", "before returns a string"])
async def test_a_failing_before_websocket_closes_with_1011(fault: str) -> None:
    app = Chat()
    app.ws_middlewares.append(Faulty(fault))
    message = await expect_close(connect(app, "/"), 1011)
    assert "secret" not in str(message)
    assert app.log == []


async def test_a_failing_after_websocket_raises_nothing_out_of_the_app() -> None:
    app = Chat()
    app.ws_middlewares.append(Faulty("after raises"))
    session = connect(app, "/")
    await expect_accept(session)
    assert await next_text(session) == "index"
    await session.finish()
    while not session.outgoing.empty():
        assert "secret" not in str(session.outgoing.get_nowait())


async def test_explicit_route_to_a_missing_handler_closes_with_1008() -> None:
    app = Chat()
    app.ws_middlewares.append(Gate(app.log, route="ws_missing"))
    await expect_close(connect(app, "/"), 1008, "No matching WebSocket route")
    assert app.log == ["before"]


# --- sessions --------------------------------------------------------------------------------


async def test_accept_sends_a_cookie_for_a_new_session_and_it_is_saved() -> None:
    backend = RecordingBackend()
    app = Chat(backend)
    session = connect(app, "/login")
    accepted = await expect_accept(session)
    await finished(session)
    [header] = cookie_headers(accepted)
    value = header.split(";")[0].partition("=")[2]
    assert str(uuid.UUID(value, version=4)) == value
    attributes = {part.strip().lower() for part in header.split(";")[1:]}
    assert {"path=/", "httponly", "samesite=lax", "secure"} <= attributes
    session_id, request = app.log
    assert session_id == value
    assert isinstance(request, WebSocketRequest)
    assert backend.loads == []
    assert backend.saves == [(value, {"user": "alice"}, SESSION_TIMEOUT)]


async def test_accept_header_names_are_lower_case() -> None:
    # The ASGI spec requires lower-cased header names in websocket.accept, as in HTTP responses.
    session = connect(Chat(RecordingBackend()), "/login")
    accepted = await expect_accept(session)
    await finished(session)
    names = [bytes(name) for name, _ in accepted["headers"]]
    assert names and names == [name.lower() for name in names]


async def test_the_cookie_has_no_secure_flag_when_configured() -> None:
    session = connect(Chat(RecordingBackend(), session_cookie_secure=False), "/login")
    [header] = cookie_headers(await expect_accept(session))
    await finished(session)
    assert "secure" not in {part.strip().lower() for part in header.split(";")}


async def test_a_client_chosen_id_is_not_used_for_a_new_websocket_session() -> None:
    chosen = str(uuid.uuid4())
    backend = RecordingBackend()
    app = Chat(backend)
    session = connect(app, "/login", cookie=chosen)
    [header] = cookie_headers(await expect_accept(session))
    await finished(session)
    fresh = header.split(";")[0].partition("=")[2]
    assert fresh != chosen
    assert backend.sessions == {fresh: {"user": "alice"}}


async def test_an_existing_session_gets_no_cookie_and_is_saved_after_the_handler() -> None:
    session_id = str(uuid.uuid4())
    backend = RecordingBackend({session_id: {"user": "bob"}})
    app = Chat(backend)
    session = connect(app, "/profile", cookie=session_id)
    accepted = await expect_accept(session)
    assert cookie_headers(accepted) == []
    assert await next_text(session) == "bob"
    await finished(session)
    assert app.log == [session_id]
    assert backend.loads == [session_id]
    assert backend.saves == [(session_id, {"user": "bob", "visits": 1}, SESSION_TIMEOUT)]


@pytest.mark.parametrize("existing", [False, True])
async def test_accept_with_the_connection_session_id_micropie_style(existing: bool) -> None:
    known = str(uuid.uuid4())
    backend = RecordingBackend({known: {"user": "bob"}})
    session = connect(Chat(backend), "/micropie_style", cookie=known if existing else None)
    accepted = await expect_accept(session)
    session_id = await next_text(session)
    await finished(session)
    if existing:
        assert session_id == known
    [header] = cookie_headers(accepted)
    assert header.startswith(f"session_id={session_id};")
    assert backend.sessions[session_id] == ({"user": "bob", "seen": True} if existing else {"seen": True})


async def test_an_existing_session_emptied_by_the_handler_is_deleted() -> None:
    session_id = str(uuid.uuid4())
    backend = RecordingBackend({session_id: {"user": "bob"}})
    session = connect(Chat(backend), "/logout", cookie=session_id)
    await expect_accept(session)
    await finished(session)
    assert backend.saves == [(session_id, {}, 0)]
    assert backend.sessions == {}


async def test_a_new_session_is_not_saved_when_the_connection_was_never_accepted() -> None:
    backend = RecordingBackend()
    await expect_close(connect(Chat(backend), "/login_unaccepted"), 1008, "not now")
    assert backend.sessions == {}
    assert all(not data for _, data, _ in backend.saves)


async def test_the_session_is_saved_after_after_websocket() -> None:
    class Stamp(WebSocketMiddleware):
        async def before_websocket(self, request: WebSocketRequest) -> CloseOverride | None:
            return None

        async def after_websocket(self, request: WebSocketRequest) -> None:
            request.session["stamped"] = True

    session_id = str(uuid.uuid4())
    backend = RecordingBackend({session_id: {"user": "bob"}})
    app = Chat(backend)
    app.ws_middlewares.append(Stamp())
    session = connect(app, "/profile", cookie=session_id)
    await expect_accept(session)
    await next_text(session)
    await finished(session)
    assert backend.sessions == {session_id: {"user": "bob", "visits": 1, "stamped": True}}


async def test_concurrent_connections_see_their_own_request_and_session() -> None:
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())
    app = Chat(RecordingBackend({alice: {"user": "alice"}, bob: {"user": "bob"}}))
    first = connect(app, "/profile", cookie=alice)
    second = connect(app, "/profile", cookie=bob)
    await expect_accept(first)
    await expect_accept(second)
    assert (await next_text(first), await next_text(second)) == ("alice", "bob")
    await finished(first)
    await finished(second)


async def test_without_a_cookie_a_websocket_that_keeps_no_session_saves_nothing() -> None:
    backend = RecordingBackend()
    session = connect(Chat(backend), "/")
    await expect_accept(session)
    await next_text(session)
    await finished(session)
    assert backend.calls == 0


# --- allowed origins -------------------------------------------------------------------------

ORIGINS = ["https://chat.example", "http://localhost:8000"]


FOREIGN_ORIGINS = [
    b"https://evil.example",
    b"null",
    b"https://chat.example.evil.example",
    b"http://chat.example",
]


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
async def test_a_foreign_origin_is_closed_before_anything_runs(origin: bytes) -> None:
    session_id = str(uuid.uuid4())
    backend = RecordingBackend({session_id: {"user": "bob"}})
    app = Chat(backend, allowed_origins=ORIGINS)
    app.ws_middlewares.append(Gate(app.log))
    session = connect(app, "/profile", headers=[(b"origin", origin)], cookie=session_id)
    await expect_close(session, 1008)
    assert app.log == []
    assert backend.calls == 0


@pytest.mark.parametrize(
    "headers", [[(b"origin", b"https://chat.example")], [(b"origin", b"http://localhost:8000")], []]
)
async def test_a_listed_or_missing_origin_is_allowed(headers: list[tuple[bytes, bytes]]) -> None:
    app = Chat(allowed_origins=ORIGINS)
    app.ws_middlewares.append(Gate(app.log))
    session = connect(app, "/", headers=headers)
    await expect_accept(session)
    assert await next_text(session) == "index"
    await finished(session)
    assert app.log == ["before", "index", "after"]


async def test_without_allowed_origins_any_origin_is_served() -> None:
    session = connect(Chat(), "/", headers=[(b"origin", b"https://anywhere.example")])
    await expect_accept(session)
    assert await next_text(session) == "index"
    await finished(session)
