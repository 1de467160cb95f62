"""HTTP middleware, sub-application mounts and explicit routing by middleware."""

import json
import uuid
from collections.abc import Callable
from itertools import combinations
from typing import Any, ClassVar, cast

import pytest
from harness import Client, PassThrough, RecordingBackend, Reply, call, cookie_from, get, http_scope
from harness import post_form, post_json

from micropie import App, HttpMiddleware, Request, WebSocketMiddleware, WebSocketRequest
from micropie.asgi import Message, Receive, Scope, Send
from micropie.middleware import ResponseOverride

AfterHook = Callable[[Request, int, object, list[tuple[str, str]]], object]


class Scripted(HttpMiddleware):
    """Middleware whose hooks return what the test gives it, and which records what it saw."""

    def __init__(
        self,
        before: object = None,
        after: object = None,
        *,
        on_before: Callable[[Request], None] | None = None,
        on_after: AfterHook | None = None,
    ) -> None:
        self.before = before
        self.after = after
        self.on_before = on_before
        self.on_after = on_after
        self.seen: list[tuple[int, object, list[tuple[str, str]]]] = []

    async def before_request(self, request: Request) -> ResponseOverride | None:
        if self.on_before is not None:
            self.on_before(request)
        return cast("ResponseOverride | None", self.before)

    async def after_request(
        self,
        request: Request,
        status_code: int,
        response_body: object,
        extra_headers: list[tuple[str, str]],
    ) -> ResponseOverride | None:
        self.seen.append((status_code, response_body, list(extra_headers)))
        if self.on_after is not None:
            self.on_after(request, status_code, response_body, extra_headers)
        return cast("ResponseOverride | None", self.after)


class Site(App):
    calls: list[str]
    shared_headers: ClassVar[list[tuple[str, str]]] = [("X-Shared", "1")]

    def __init__(self, *args: Any, **options: Any) -> None:
        super().__init__(*args, **options)
        self.calls = []

    async def index(self) -> str:
        self.calls.append("index")
        return "home"

    async def created(self) -> tuple[int, str, list[tuple[str, str]]]:
        self.calls.append("created")
        return 201, "original", [("X-Handler", "1")]

    async def data(self) -> dict[str, Any]:
        return {"a": [1, 2], "b": "two"}

    async def typed_data(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        return 200, {"a": 1}, [("Content-Type", "application/vnd.example+json")]

    async def shared(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        self.request.session["visited"] = True
        return 200, {"ok": True}, self.shared_headers

    async def shared_text(self) -> tuple[int, str, list[tuple[str, str]]]:
        return 200, "text", self.shared_headers

    async def whoami(self) -> str:
        user = getattr(self.request, "user", None)
        return "anonymous" if user is None else f"user={user['name']}"

    async def form_echo(self) -> dict[str, Any]:
        return {"form": self.request.body_params, "json": self.request.json()}

    async def _hidden(self) -> str:
        return "hidden handler"

    async def item(self, item_id: int, label: str = "none") -> str:
        return f"item {item_id!r} {label}"

    async def boom(self) -> str:
        raise RuntimeError("handler secret")


def header_names(reply: Reply) -> set[str]:
    return {key.decode("latin-1").lower() for key, _ in reply.headers}


# --- before_request -------------------------------------------------------------------------

EARLY: dict[str, object] = {"status_code": 403, "body": "denied", "headers": [("X-Gate", "closed")]}
SUBSETS = [keys for size in range(1, 4) for keys in combinations(EARLY, size)]


async def test_an_empty_dict_from_before_request_changes_nothing_as_in_micropie() -> None:
    app = Site()
    app.middlewares.append(Scripted(before={}))
    reply = await get(app, "/created")
    assert app.calls != []
    assert reply.status == 201


@pytest.mark.parametrize("keys", SUBSETS, ids=["+".join(keys) for keys in SUBSETS])
async def test_before_request_answers_with_any_non_empty_subset_of_keys(keys: tuple[str, ...]) -> None:
    app = Site()
    app.middlewares.append(Scripted(before={key: EARLY[key] for key in keys}))
    reply = await get(app, "/created")
    assert app.calls == []
    assert reply.status == (403 if "status_code" in keys else 200)
    assert reply.text == ("denied" if "body" in keys else "")
    assert reply.header("x-gate") == ("closed" if "headers" in keys else None)
    assert reply.header("content-type") == "text/html; charset=utf-8"
    assert reply.header("content-length") == str(len(reply.body))


async def test_before_request_returning_none_lets_the_request_through() -> None:
    app = Site()
    app.middlewares.append(Scripted())
    reply = await get(app, "/")
    assert (reply.status, reply.text, app.calls) == (200, "home", ["index"])


async def test_before_request_sees_the_parsed_body() -> None:
    seen: list[object] = []

    def look(request: Request) -> None:
        seen.append((request.body_parsed, request.form("a"), request.json()))

    app = Site()
    app.middlewares.append(Scripted(on_before=look))
    await post_form(app, "/form_echo", "a=1&b=")
    await post_json(app, "/form_echo", {"k": [1]})
    assert seen == [(True, "1", {}), (True, None, {"k": [1]})]


async def test_a_later_middleware_is_skipped_after_an_early_answer() -> None:
    reached: list[str] = []
    app = Site()
    app.middlewares.append(Scripted(before={"status_code": 401}))
    app.middlewares.append(Scripted(on_before=lambda request: reached.append("second")))
    reply = await get(app, "/")
    assert reply.status == 401
    assert reached == [] and app.calls == []


class LoginGate(PassThrough):
    async def before_request(self, request: Request) -> ResponseOverride | None:
        if request.query("login") is not None:
            request.session["user"] = request.query("login")
            return {"status_code": 302, "headers": [("Location", "/whoami")]}
        if "user" not in request.session:
            return {"status_code": 401, "body": "log in first"}
        request.user = {"name": request.session["user"]}
        return None


async def test_before_request_sees_the_session_and_its_early_answer_saves_it() -> None:
    backend = RecordingBackend()
    app = Site(backend)
    app.middlewares.append(LoginGate())
    refused = await get(app, "/whoami")
    assert (refused.status, refused.text) == (401, "log in first")
    login = await get(app, "/", query="login=alice")
    assert (login.status, login.header("location")) == (302, "/whoami")
    session_id = cookie_from(login)
    assert session_id is not None
    assert backend.sessions == {session_id: {"user": "alice"}}
    allowed = await get(app, "/whoami", cookies={"session_id": session_id})
    assert (allowed.status, allowed.text) == (200, "user=alice")
    assert app.calls == []


def test_middleware_bases_are_abstract() -> None:
    class BeforeOnly(HttpMiddleware):
        async def before_request(self, request: Request) -> ResponseOverride | None:
            return None

    class WsBeforeOnly(WebSocketMiddleware):
        async def before_websocket(self, request: WebSocketRequest) -> None:
            return None

    incomplete_classes: list[type[object]] = [HttpMiddleware, WebSocketMiddleware, BeforeOnly, WsBeforeOnly]
    for incomplete in incomplete_classes:
        with pytest.raises(TypeError):
            incomplete()


# --- after_request --------------------------------------------------------------------------

LATE: dict[str, object] = {"status_code": 202, "body": "replaced", "headers": [("X-Mw", "2")]}


@pytest.mark.parametrize("keys", SUBSETS, ids=["+".join(keys) for keys in SUBSETS])
async def test_after_request_replaces_any_subset(keys: tuple[str, ...]) -> None:
    app = Site()
    middleware = Scripted(after={key: LATE[key] for key in keys})
    app.middlewares.append(middleware)
    reply = await get(app, "/created")
    assert middleware.seen == [(201, "original", [("X-Handler", "1")])]
    assert reply.status == (202 if "status_code" in keys else 201)
    assert reply.text == ("replaced" if "body" in keys else "original")
    if "headers" in keys:
        assert (reply.header("x-mw"), reply.header("x-handler")) == ("2", None)
    else:
        assert (reply.header("x-mw"), reply.header("x-handler")) == (None, "1")
    assert reply.header("content-length") == str(len(reply.body))


async def test_after_request_sees_json_bodies_as_text_with_their_content_type() -> None:
    app = Site()
    middleware = Scripted()
    app.middlewares.append(middleware)
    reply = await get(app, "/data")
    [(status, body, headers)] = middleware.seen
    assert status == 200
    assert isinstance(body, str)
    assert json.loads(body) == {"a": [1, 2], "b": "two"}
    assert [value for name, value in headers if name.lower() == "content-type"] == ["application/json"]
    assert reply.header("content-type") == "application/json"
    assert reply.json() == {"a": [1, 2], "b": "two"}


async def test_after_request_can_rewrite_a_json_body() -> None:
    def rewrite(request: Request, status: int, body: object, headers: list[tuple[str, str]]) -> None:
        assert isinstance(body, str)
        middleware.after = {"body": json.dumps({"wrapped": json.loads(body)})}

    middleware = Scripted(on_after=rewrite)
    app = Site()
    app.middlewares.append(middleware)
    reply = await get(app, "/data")
    assert reply.header("content-type") == "application/json"
    assert reply.json() == {"wrapped": {"a": [1, 2], "b": "two"}}


async def test_a_handler_content_type_for_json_survives_middleware() -> None:
    app = Site()
    plain = await get(app, "/typed_data")
    app.middlewares.append(Scripted())
    with_middleware = await get(app, "/typed_data")
    for reply in (plain, with_middleware):
        assert reply.header("content-type") == "application/vnd.example+json"
        assert reply.json() == {"a": 1}


@pytest.mark.parametrize("path", ["/", "/created"])
async def test_headers_appended_in_place_by_after_request_are_sent(path: str) -> None:
    # MicroPie middleware commonly adds headers with extra_headers.append(...) and returns None.
    def add(request: Request, status: int, body: object, headers: list[tuple[str, str]]) -> None:
        headers.append(("X-Added", "yes"))

    app = Site()
    app.middlewares.append(Scripted(on_after=add))
    reply = await get(app, path)
    assert reply.status in (200, 201)
    assert reply.header("x-added") == "yes"


async def test_the_handler_header_list_is_never_mutated() -> None:
    def add(request: Request, status: int, body: object, headers: list[tuple[str, str]]) -> None:
        headers.append(("X-Added", "yes"))

    app = Site(RecordingBackend())
    app.middlewares.append(Scripted())
    reply = await get(app, "/shared")
    assert reply.header("x-shared") == "1"
    assert reply.header("content-type") == "application/json"
    assert cookie_from(reply) is not None
    assert Site.shared_headers == [("X-Shared", "1")]
    app.middlewares.append(Scripted(on_after=add))
    for path in ("/shared", "/shared_text"):
        again = await get(app, path)
        assert again.header("x-shared") == "1", path
        assert Site.shared_headers == [("X-Shared", "1")], path


# --- request attributes and explicit routing -------------------------------------------------


async def test_attributes_set_by_middleware_reach_the_handler() -> None:
    seen_after: list[object] = []

    def login(request: Request) -> None:
        request.user = {"name": "alice"}

    def check(request: Request, status: int, body: object, headers: list[tuple[str, str]]) -> None:
        seen_after.append(getattr(request, "user"))

    app = Site()
    assert (await get(app, "/whoami")).text == "anonymous"
    app.middlewares.append(Scripted(on_before=login, on_after=check))
    assert (await get(app, "/whoami")).text == "user=alice"
    assert seen_after == [{"name": "alice"}]


async def test_attributes_do_not_leak_between_requests() -> None:
    def login_once(request: Request) -> None:
        if request.query("login") == "1":
            request.user = {"name": "alice"}

    app = Site()
    app.middlewares.append(Scripted(on_before=login_once))
    assert (await get(app, "/whoami", query="login=1")).text == "user=alice"
    assert (await get(app, "/whoami")).text == "anonymous"


async def test_middleware_routes_explicitly_even_to_a_private_name() -> None:
    def route(request: Request) -> None:
        request._route_handler = "_hidden"

    app = Site()
    assert (await get(app, "/_hidden")).status == 404
    app.middlewares.append(Scripted(on_before=route))
    for path in ("/", "/anything/at/all", "/_hidden"):
        reply = await get(app, path)
        assert (reply.status, reply.text) == (200, "hidden handler"), path


async def test_middleware_presets_path_parameters() -> None:
    def route(request: Request) -> None:
        request._route_handler = "item"
        request.path_params = ["42", "blue"]

    app = Site()
    app.middlewares.append(Scripted(on_before=route))
    reply = await get(app, "/somewhere/else")
    assert reply.text == "item 42 blue"


async def test_explicit_route_to_something_that_is_not_a_handler_is_404() -> None:
    target = {"name": ""}

    def route(request: Request) -> None:
        request._route_handler = target["name"]

    app = Site()
    app.middlewares.append(Scripted(on_before=route))
    for name in ("no_such_handler", "middlewares", "request", "shared_headers"):
        target["name"] = name
        reply = await get(app, "/")
        assert reply.status == 404, name
    assert app.calls == []


# --- errors in middleware --------------------------------------------------------------------


class Exploding(HttpMiddleware):
    def __init__(self, where: str) -> None:
        self.where = where

    async def before_request(self, request: Request) -> ResponseOverride | None:
        if self.where == "before":
            raise RuntimeError("before secret")
        return None

    async def after_request(
        self,
        request: Request,
        status_code: int,
        response_body: object,
        extra_headers: list[tuple[str, str]],
    ) -> ResponseOverride | None:
        if self.where == "after":
            raise RuntimeError("after secret")
        return None


@pytest.mark.parametrize("where", ["before", "after"])
async def test_a_middleware_exception_is_a_500_without_its_text(where: str) -> None:
    app = Site()
    app.middlewares.append(Exploding(where))
    reply = await get(app, "/")
    assert reply.status == 500
    assert reply.text == "500 Internal Server Error"
    assert "secret" not in reply.text
    assert reply.complete


MALFORMED: list[object] = [
    "a string",
    42,
    ["status_code", 200],
    {"status_code": "abc"},
    {"status_code": "200"},
    {"status_code": 99},
    {"status_code": 1000},
    {"status_code": None},
    {"headers": "X-A: 1"},
    {"headers": [("X-A",)]},
    {"headers": [("X-A", "1", "2")]},
    {"headers": ["X-A"]},
]


@pytest.mark.parametrize("hook", ["before", "after"])
@pytest.mark.parametrize("value", MALFORMED, ids=[repr(value) for value in MALFORMED])
async def test_a_malformed_middleware_result_is_a_500(hook: str, value: object) -> None:
    app = Site()
    app.middlewares.append(Scripted(before=value) if hook == "before" else Scripted(after=value))
    reply = await get(app, "/")
    assert reply.status == 500
    assert reply.text == "500 Internal Server Error"
    assert reply.complete
    assert len([m for m in reply.messages if m["type"] == "http.response.start"]) == 1


# --- sub-application mounts ------------------------------------------------------------------


class RawChild:
    """A bare ASGI application that records its scope and the first message it receives."""

    def __init__(self, read_all: bool = False) -> None:
        self.read_all = read_all
        self.scopes: list[Scope] = []
        self.received: list[Message] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        while True:
            message = await receive()
            self.received.append(message)
            if not (self.read_all and message.get("more_body")):
                break
        body = b"".join(bytes(m.get("body", b"")) for m in self.received)
        text_type = [(b"content-type", b"text/plain")]
        await send({"type": "http.response.start", "status": 200, "headers": text_type})
        answer = b"child " + scope["path"].encode() + b" " + body
        await send({"type": "http.response.body", "body": answer})


class Mount(PassThrough):
    def __init__(self, prefix: str, child: object, with_mount_path: bool = True) -> None:
        self.prefix = prefix
        self.child = child
        self.with_mount_path = with_mount_path

    async def before_request(self, request: Request) -> ResponseOverride | None:
        path: str = request.scope["path"]
        if path == self.prefix or path.startswith(self.prefix + "/"):
            request._subapp = self.child
            request._subapp_path = path[len(self.prefix):] or "/"
            if self.with_mount_path:
                request._subapp_mount_path = self.prefix
        return None


def mounted(child: object, backend: RecordingBackend | None = None, **options: Any) -> Site:
    app = Site(backend)
    app.middlewares.append(Mount("/api", child, **options))
    return app


async def test_a_raw_asgi_child_gets_the_parent_state_and_an_empty_body() -> None:
    child = RawChild()
    reply = await post_form(mounted(child), "/api/items", "a=1&b=")
    assert (reply.status, reply.text) == (200, "child /items ")
    [scope] = child.scopes
    assert scope["type"] == "http" and scope["method"] == "POST"
    assert scope["path"] == "/items"
    assert scope["root_path"] == "/api"
    assert scope["body_params"] == {"a": ["1"], "b": [""]}
    assert scope["json_body"] == {}
    assert scope["files"] == {}
    assert scope["session"] == {}
    assert scope["body_parsed"] is True
    assert (b"content-type", b"application/x-www-form-urlencoded") in [tuple(h) for h in scope["headers"]]
    assert child.received == [{"type": "http.request", "body": b"", "more_body": False}]


async def test_a_raw_asgi_child_gets_the_json_body_and_the_session() -> None:
    session_id = str(uuid.uuid4())
    child = RawChild()
    app = mounted(child, RecordingBackend({session_id: {"user": "alice"}}))
    document = {"k": 1, "nested": {"x": [1, 2]}}
    reply = await post_json(app, "/api/echo", document, cookies={"session_id": session_id})
    assert reply.status == 200
    [scope] = child.scopes
    assert scope["json_body"] == document
    assert scope["body_params"] == {}
    assert scope["session"] == {"user": "alice"}
    assert child.received == [{"type": "http.request", "body": b"", "more_body": False}]


async def test_the_mount_extends_the_parent_root_path_and_leaves_its_scope_alone() -> None:
    child = RawChild()
    app = mounted(child)
    scope = http_scope("GET", "/api/deep/path", b"q=1")
    scope["root_path"] = "/outer"
    client = Client([b""])
    await app(scope, client.receive, client.send)
    assert client.reply().text == "child /deep/path "
    [child_scope] = child.scopes
    assert child_scope["root_path"] == "/outer/api"
    assert child_scope["query_string"] == b"q=1"
    assert (scope["path"], scope["root_path"]) == ("/api/deep/path", "/outer")
    assert child_scope is not scope


async def test_without_a_mount_path_the_root_path_is_unchanged() -> None:
    child = RawChild()
    await get(mounted(child, with_mount_path=False), "/api")
    [scope] = child.scopes
    assert (scope["path"], scope["root_path"]) == ("/", "")


async def test_a_body_the_parent_did_not_read_reaches_the_child() -> None:
    child = RawChild(read_all=True)
    reply = await call(mounted(child), "GET", "/api/raw", chunks=[b"first ", b"second"])
    assert reply.text == "child /raw first second"
    assert child.scopes[0]["body_parsed"] is False
    assert [m["body"] for m in child.received] == [b"first ", b"second"]


async def test_the_parent_handler_and_after_request_do_not_run_for_a_mounted_request() -> None:
    child = RawChild()
    app = mounted(child)
    after = Scripted()
    app.middlewares.append(after)
    reply = await get(app, "/api")
    assert reply.text == "child / "
    assert app.calls == [] and after.seen == []
    assert (await get(app, "/")).text == "home"


class Child(App):
    async def items(self, a: str, b: str = "default") -> str:
        return f"items a={a} b={b}"

    async def echo(self, k: int) -> str:
        return f"k={k!r}"

    async def whoami(self) -> str:
        return str(self.request.session.get("user", "nobody"))

    async def where(self) -> dict[str, Any]:
        return {"path": self.request.scope["path"], "root_path": self.request.scope["root_path"]}

    async def remember(self, item: str) -> str:
        self.request.session["cart"] = item
        return "remembered"


class Parent(Site):
    async def whoami(self) -> str:
        return str(self.request.session.get("user", "nobody"))


async def test_a_micropie_child_app_uses_the_parent_form_and_json() -> None:
    app = mounted(Child())
    form = await post_form(app, "/api/items", "a=1&b=2")
    assert (form.status, form.text) == (200, "items a=1 b=2")
    document = await post_json(app, "/api/echo", {"k": 5})
    assert (document.status, document.text) == (200, "k=5")
    where = await get(app, "/api/where")
    assert where.json() == {"path": "/where", "root_path": "/api"}
    assert (await get(app, "/api/nothing_here")).status == 404


async def test_a_micropie_child_sees_the_parent_session_and_keeps_it_working() -> None:
    session_id = str(uuid.uuid4())
    backend = RecordingBackend({session_id: {"user": "alice"}})
    app = Parent(backend)
    app.middlewares.append(Mount("/api", Child()))
    cookies = {"session_id": session_id}
    reply = await get(app, "/api/whoami", cookies=cookies)
    assert reply.text == "alice"
    # Whatever cookie the mounted request sets, the client still has its session afterwards.
    cookies["session_id"] = cookie_from(reply) or session_id
    assert (await get(app, "/whoami", cookies=cookies)).text == "alice"
    assert (await get(app, "/api/whoami", cookies=cookies)).text == "alice"


async def test_a_session_written_by_a_micropie_child_is_the_parent_session() -> None:
    session_id = str(uuid.uuid4())
    backend = RecordingBackend({session_id: {"user": "alice"}})
    app = Parent(backend)
    app.middlewares.append(Mount("/api", Child()))
    cookies = {"session_id": session_id}
    reply = await get(app, "/api/remember", query="item=book", cookies=cookies)
    assert reply.text == "remembered"
    cookies["session_id"] = cookie_from(reply) or session_id
    assert backend.sessions.get(cookies["session_id"]) == {"user": "alice", "cart": "book"}


async def test_a_session_a_micropie_child_starts_is_saved_and_its_cookie_sent() -> None:
    backend = RecordingBackend()
    app = Parent(backend)
    app.middlewares.append(Mount("/api", Child()))
    reply = await get(app, "/api/remember", query="item=book")
    assert reply.text == "remembered"
    names = [name for name, _ in reply.headers if name.lower() == b"set-cookie"]
    assert names == [b"set-cookie"], "one cookie, with the lower-case name ASGI requires"
    session_id = cookie_from(reply)
    assert session_id is not None
    assert backend.sessions.get(session_id) == {"cart": "book"}


class FailingChild:
    """A bare ASGI application that raises, optionally after starting its response."""

    def __init__(self, started: bool) -> None:
        self.started = started

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.started:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise RuntimeError("child secret")


async def test_a_child_that_fails_before_answering_gives_a_500() -> None:
    reply = await get(mounted(FailingChild(started=False)), "/api/x")
    assert (reply.status, reply.text) == (500, "500 Internal Server Error")


async def test_a_child_that_fails_mid_response_gets_no_second_response_start() -> None:
    client = Client([b""])
    await mounted(FailingChild(started=True))(http_scope("GET", "/api/x"), client.receive, client.send)
    starts = [message for message in client.sent if message["type"] == "http.response.start"]
    assert len(starts) == 1, client.sent
    assert all(b"secret" not in bytes(m.get("body", b"")) for m in client.sent)


async def test_a_mounted_app_that_mounts_another_leaves_the_session_to_the_outermost() -> None:
    class Leaf(App):
        async def index(self) -> str:
            self.request.session["visits"] = int(self.request.session.get("visits", 0)) + 1
            return str(self.request.session["visits"])

    middle_backend = RecordingBackend()
    middle = Site(middle_backend)
    middle.middlewares.append(Mount("/leaf", Leaf()))
    outer_backend = RecordingBackend()
    outer = mounted(middle, outer_backend)
    first = await get(outer, "/api/leaf")
    assert first.text == "1"
    session_id = cookie_from(first)
    assert session_id is not None
    assert (await get(outer, "/api/leaf", cookies={"session_id": session_id})).text == "2"
    assert outer_backend.sessions == {session_id: {"visits": 2}}
    assert middle_backend.calls == 0
