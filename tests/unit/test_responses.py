"""Every response form, headers and their sanitising, malformed results, errors."""

import contextvars
import dataclasses
import json
import logging
from typing import Any, TypedDict

import httpx
import msgspec
import pytest
from harness import PassThrough, call, get, http_scope
from live import serving

from micropie import App, Headers, Request, WithHeaders, WithStatus

TEXT_HTML = "text/html; charset=utf-8"


class Returns(App):
    async def text(self) -> str:
        return "caf\u00e9"

    async def raw(self) -> bytes:
        return b"\x00\xffbinary"

    async def mapping(self) -> dict[str, Any]:
        return {"a": 1, "nested": {"b": [True, None]}, "text": "\u00e9"}

    async def sequence(self) -> list[int]:
        return [1, 2, 3]

    async def pair(self) -> tuple[int, str]:
        return 201, "created"

    async def triple(self) -> tuple[int, str, list[tuple[str, str]]]:
        return 202, "accepted", [("X-Custom", "yes"), ("Cache-Control", "no-store")]

    async def typed_json(self) -> tuple[int, dict[str, int], list[tuple[str, str]]]:
        return 200, {"a": 1}, [("Content-Type", "application/vnd.api+json")]

    async def own_type(self) -> tuple[int, str, list[tuple[str, str]]]:
        return 200, "plain", [("content-type", "text/plain")]

    async def other(self) -> object:
        return 12.5

    async def nothing(self) -> None:
        return None

    async def big_int(self) -> dict[str, int]:
        return {"n": 2**70}

    async def bytearray_body(self) -> tuple[int, bytearray]:
        return 200, bytearray(b"mutable")

    async def empty(self) -> str:
        return ""

    async def large(self) -> bytes:
        return b"x" * 100_000


@pytest.mark.parametrize("path,status,body,content_type", [
    ("/text", 200, "caf\u00e9".encode(), TEXT_HTML),
    ("/raw", 200, b"\x00\xffbinary", TEXT_HTML),
    ("/pair", 201, b"created", TEXT_HTML),
    ("/other", 200, b"12.5", TEXT_HTML),
    ("/nothing", 200, b"None", TEXT_HTML),
    ("/bytearray_body", 200, b"mutable", TEXT_HTML),
    ("/empty", 200, b"", TEXT_HTML),
    ("/own_type", 200, b"plain", "text/plain"),
])
async def test_response_forms(path: str, status: int, body: bytes, content_type: str) -> None:
    reply = await get(Returns(), path)
    assert (reply.status, reply.body, reply.header("content-type")) == (status, body, content_type)
    assert reply.complete


async def test_dict_and_list_are_json() -> None:
    reply = await get(Returns(), "/mapping")
    assert reply.header("content-type") == "application/json"
    assert reply.json() == {"a": 1, "nested": {"b": [True, None]}, "text": "\u00e9"}
    assert (await get(Returns(), "/sequence")).json() == [1, 2, 3]


async def test_integers_beyond_64_bits_are_serialised_exactly() -> None:
    assert (await get(Returns(), "/big_int")).json() == {"n": 2**70}


async def test_handler_content_type_replaces_the_default_never_two() -> None:
    reply = await get(Returns(), "/typed_json")
    assert reply.header_values("content-type") == ["application/vnd.api+json"]
    assert reply.json() == {"a": 1}


async def test_extra_headers_are_sent() -> None:
    reply = await get(Returns(), "/triple")
    assert reply.status == 202
    assert reply.header("x-custom") == "yes"
    assert reply.header("cache-control") == "no-store"


@pytest.mark.parametrize("path", ["/text", "/raw", "/mapping", "/triple", "/empty", "/large"])
async def test_complete_bodies_carry_their_content_length(path: str) -> None:
    reply = await get(Returns(), path)
    assert reply.header("content-length") == str(len(reply.body))


async def test_the_body_is_sent_in_one_message() -> None:
    reply = await get(Returns(), "/large")
    assert [message["type"] for message in reply.messages] == ["http.response.start", "http.response.body"]


async def test_a_handler_content_length_is_replaced_by_the_true_one() -> None:
    class Lying(App):
        async def index(self) -> tuple[int, str, list[tuple[str, str]]]:
            return 200, "four", [("Content-Length", "999")]

    reply = await get(Lying(), "/")
    assert reply.header_values("content-length") == ["4"]


@pytest.mark.parametrize("name,value", [
    ("X-Injected", "a\r\nSet-Cookie: evil=1"),
    ("X-Newline", "a\nb"),
    ("X-Null", "a\x00b"),
    ("Bad Name", "spaces in the name"),
    ("X-Colon:", "colon in the name"),
    ("X-Bad\r\nName", "value"),
    ("X-Unicode", "snow \u2603"),
    ("", "empty name"),
])
async def test_unsafe_headers_are_dropped_and_logged(
    name: str, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    class Unsafe(App):
        async def index(self) -> tuple[int, str, list[tuple[str, str]]]:
            return 200, "body", [(name, value), ("X-Kept", "1")]

    with caplog.at_level(logging.WARNING, logger="micropie"):
        reply = await get(Unsafe(), "/")
    assert reply.status == 200
    assert reply.header("x-kept") == "1"
    assert all(b"evil" not in v and b"\n" not in v for _, v in reply.headers)
    sent_names = {key for key, _ in reply.headers}
    assert sent_names == {b"x-kept", b"content-type", b"content-length"}
    assert any("Rejected response header" in record.getMessage() for record in caplog.records)


async def test_latin1_header_values_are_allowed() -> None:
    class Latin(App):
        async def index(self) -> tuple[int, str, list[tuple[str, str]]]:
            return 200, "", [("X-Name", "Jos\u00e9")]

    reply = await get(Latin(), "/")
    assert (b"x-name", "Jos\u00e9".encode("latin-1")) in reply.headers


async def test_the_handlers_header_list_is_never_modified() -> None:
    headers = [("X-One", "1")]

    class Shared(App):
        async def index(self) -> tuple[int, dict[str, int], list[tuple[str, str]]]:
            self.request.session["visited"] = 1
            return 200, {"a": 1}, headers

    app = Shared()
    for _ in range(3):
        reply = await get(app, "/")
        assert reply.header("set-cookie") is not None
        assert reply.header("content-type") == "application/json"
    assert headers == [("X-One", "1")]


@pytest.mark.parametrize("result", [
    ("only one",), (200, "a", [], "extra"), ("200", "body"), (True, "body"), (99, "body"),
    (600, "body"), (200.0, "body"), (None, "body"), (200, "body", "X-Not: a list"),
    (200, "body", [("only-name",)]), (200, "body", [42]), (200, "body", {"X": "1"}),
])
async def test_malformed_results_are_500_never_an_exception(
    result: tuple[Any, ...], caplog: pytest.LogCaptureFixture
) -> None:
    class Malformed(App):
        async def index(self) -> tuple[Any, ...]:
            return result

    with caplog.at_level(logging.ERROR, logger="micropie"):
        reply = await get(Malformed(), "/")
    assert (reply.status, reply.text) == (500, "500 Internal Server Error")
    assert caplog.records


async def test_a_tuple_of_pairs_is_accepted_as_headers() -> None:
    class TupleHeaders(App):
        async def index(self) -> tuple[int, str, tuple[tuple[str, str], ...]]:
            return 200, "ok", (("X-A", "1"),)

    assert (await get(TupleHeaders(), "/")).header("x-a") == "1"


async def test_non_string_header_values_are_sent_as_text() -> None:
    class Numbers(App):
        async def index(self) -> tuple[int, str, list[tuple[str, int]]]:
            return 200, "ok", [("X-Count", 5)]

    assert (await get(Numbers(), "/")).header("x-count") == "5"


async def test_handler_exception_is_500_without_its_text_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Failing(App):
        async def index(self) -> str:
            raise ValueError("database password is hunter2")

        def sync(self) -> str:
            raise KeyError("secret key")

    for path in ("/", "/sync"):
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="micropie"):
            reply = await get(Failing(), path)
        assert (reply.status, reply.text) == (500, "500 Internal Server Error")
        assert b"hunter2" not in reply.body and b"secret" not in reply.body
        assert any(record.exc_info for record in caplog.records)


async def test_unserialisable_json_is_500() -> None:
    class BadJson(App):
        async def index(self) -> dict[str, object]:
            return {"when": object()}

    assert (await get(BadJson(), "/")).status == 500


async def test_a_sync_handler_returning_a_coroutine_is_awaited() -> None:
    class Wrapped(App):
        async def _real(self) -> str:
            return "awaited"

        def index(self) -> Any:
            return self._real()

    assert (await get(Wrapped(), "/")).text == "awaited"


async def test_redirect() -> None:
    class Redirects(App):
        async def index(self) -> tuple[int, str, list[tuple[str, str]]]:
            return self._redirect("/caf\u00e9 page?q=\u00fc&x=%20#fr\u00e4g", [("X-Extra", "1")])

        async def away(self) -> tuple[int, str, list[tuple[str, str]]]:
            return self._redirect("https://b\u00fccher.example/a%2Fb?x=1")

    reply = await get(Redirects(), "/")
    assert reply.status == 302
    assert reply.header("location") == "/caf%C3%A9%20page?q=%C3%BC&x=%20#fr%C3%A4g"
    assert reply.header("x-extra") == "1"
    assert reply.body == b""
    away = await get(Redirects(), "/away")
    assert away.header("location") == "https://xn--bcher-kva.example/a%2Fb?x=1"


async def test_redirect_cannot_inject_headers() -> None:
    class Redirects(App):
        async def index(self) -> tuple[int, str, list[tuple[str, str]]]:
            return self._redirect("/next\r\nSet-Cookie: evil=1")

    reply = await get(Redirects(), "/")
    assert reply.header("set-cookie") is None
    location = reply.header("location")
    assert location is not None and location.startswith("/next")
    assert "\r" not in location and "\n" not in location


# --- HEAD ------------------------------------------------------------------------------------

class Headed(App):
    def __init__(self) -> None:
        super().__init__(session_cookie_secure=False)
        self.streamed: list[str] = []

    async def index(self) -> str:
        return "Hello, HEAD"

    async def data(self) -> dict[str, int]:
        return {"answer": 42}

    async def custom(self) -> tuple[int, bytes, list[tuple[str, str]]]:
        return 201, b"made", [("X-Made", "yes"), ("Content-Type", "text/plain")]

    async def moved(self) -> tuple[int, str, list[tuple[str, str]]]:
        return self._redirect("/elsewhere")

    async def needs(self, value: int) -> str:
        return str(value)

    async def broken(self) -> str:
        raise RuntimeError("not for the client")

    async def stream(self) -> Any:
        async def chunks() -> Any:
            self.streamed.append("started")
            yield "never sent for HEAD"

        return 200, chunks(), [("Content-Type", "text/event-stream")]


@pytest.mark.parametrize("path", ["/", "/data", "/custom", "/moved", "/needs", "/needs/x", "/broken", "/missing"])
async def test_head_gets_the_status_and_headers_of_get_and_no_body(path: str) -> None:
    got = await get(Headed(), path)
    app = Headed()
    headed = await call(app, "HEAD", path)
    assert (headed.status, headed.headers) == (got.status, got.headers)
    assert (headed.body, headed.complete) == (b"", True)
    if got.header("content-length") is not None:
        assert got.header("content-length") == str(len(got.body))


async def test_head_of_a_stream_sends_its_headers_and_never_runs_it() -> None:
    app = Headed()
    headed = await call(app, "HEAD", "/stream")
    assert (headed.status, headed.header("content-type"), headed.body, headed.complete) == (
        200, "text/event-stream", b"", True)
    assert app.streamed == []


def test_head_through_a_real_server_has_the_length_of_get_and_no_body() -> None:
    with serving("uploads:app") as server, httpx.Client(base_url=server.url) as client:
        got = client.get("/ping")
        headed = client.head("/ping")
    assert (headed.status_code, headed.headers["content-length"], headed.content) == (200, str(len(got.content)), b"")


async def test_the_request_is_no_longer_current_when_a_complete_response_is_sent() -> None:
    # A server that schedules work while sending (uvicorn's keep-alive timer) copies the
    # context; the request must not ride along and outlive its response there.
    from micropie import current_request

    class Site(App):
        async def index(self) -> str:
            assert current_request.get() is self.request
            return "ok"

        async def broken(self) -> str:
            raise RuntimeError("for the 500")

    seen: list[object] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        context = contextvars.copy_context()
        seen.append(context[current_request] if current_request in context else None)

    for path in ("/", "/broken", "/missing"):
        seen.clear()
        await Site()(http_scope("GET", path), receive, send)
        assert seen == [None, None], path


# --- models as results -------------------------------------------------------------------------


@dataclasses.dataclass
class Item:
    name: str
    price: float
    tags: list[str] = dataclasses.field(default_factory=list)


class Order(msgspec.Struct):
    id: int
    items: list[Item]
    note: str | None = None


class Totals(TypedDict):
    count: int
    sum: float


class Shop(App):
    async def item(self) -> Item:
        return Item("tea", 2.5, ["hot"])

    async def order(self) -> WithStatus[Order]:
        return 201, Order(7, [Item("tea", 2.5), Item("cake", 3.0)])

    async def orders(self) -> list[Order]:
        return [Order(1, []), Order(2, [Item("jam", 4.0)], "gift")]

    async def by_name(self) -> dict[str, Item]:
        return {"tea": Item("tea", 2.5)}

    async def totals(self) -> Totals:
        return {"count": 2, "sum": 5.5}

    async def created(self) -> WithHeaders[Item]:
        headers: Headers = [("Location", "/item")]
        return 201, Item("tea", 2.5), headers

    async def model_class(self) -> type:
        return Item  # the class itself is not a body: sent as text


@pytest.mark.parametrize("path,status,document", [
    ("/item", 200, {"name": "tea", "price": 2.5, "tags": ["hot"]}),
    ("/order", 201, {"id": 7, "items": [{"name": "tea", "price": 2.5, "tags": []},
                                        {"name": "cake", "price": 3.0, "tags": []}], "note": None}),
    ("/orders", 200, [{"id": 1, "items": [], "note": None},
                      {"id": 2, "items": [{"name": "jam", "price": 4.0, "tags": []}], "note": "gift"}]),
    ("/by_name", 200, {"tea": {"name": "tea", "price": 2.5, "tags": []}}),
    ("/totals", 200, {"count": 2, "sum": 5.5}),
    ("/created", 201, {"name": "tea", "price": 2.5, "tags": []}),
])
async def test_models_are_answered_as_json(path: str, status: int, document: object) -> None:
    reply = await get(Shop(), path)
    assert (reply.status, reply.header("content-type"), json.loads(reply.body)) == (status, "application/json", document)
    assert reply.header("content-length") == str(len(reply.body))


async def test_a_model_s_headers_and_a_head_request() -> None:
    reply = await get(Shop(), "/created")
    assert reply.header("location") == "/item"
    head = await call(Shop(), "HEAD", "/item")
    get_reply = await get(Shop(), "/item")
    assert (head.status, head.body, head.header("content-length")) == (200, b"", get_reply.header("content-length"))


async def test_a_model_class_is_not_a_body() -> None:
    reply = await get(Shop(), "/model_class")
    assert (reply.status, reply.header("content-type")) == (200, "text/html; charset=utf-8")
    assert "Item" in reply.text


async def test_after_request_sees_a_model_as_json_text() -> None:
    seen: list[object] = []

    class Watch(PassThrough):
        async def after_request(self, request: Request, status_code: int, response_body: object,
                                extra_headers: list[tuple[str, str]]) -> None:
            seen.append(response_body)
            seen.append(list(extra_headers))

    app = Shop()
    app.middlewares.append(Watch())
    reply = await get(app, "/item")
    assert json.loads(reply.body) == {"name": "tea", "price": 2.5, "tags": ["hot"]}
    assert seen == ['{"name":"tea","price":2.5,"tags":["hot"]}', [("Content-Type", "application/json")]]
