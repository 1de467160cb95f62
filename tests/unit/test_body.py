"""Buffered bodies and options: limits, timeouts, JSON, forms, bad input."""

import asyncio
import time
from typing import Any

import pytest
from harness import Client, call, get, http_scope, post_form, post_json

from micropie import App
from micropie.asgi import Message


class Echo(App):
    async def form(self) -> dict[str, Any]:
        return {"form": self.request.body_params, "raw": self.request.body.decode("latin-1"),
                "parsed": self.request.body_parsed}

    async def document(self) -> Any:
        return {"json": self.request.json(), "key": self.request.json("key", "missing"),
                "form": self.request.body_params}

    async def helpers(self) -> dict[str, Any]:
        request = self.request
        return {"q": request.query("q"), "q2": request.query("none", "dflt"),
                "f": request.form("f"), "f2": request.form("none", "dflt")}


async def test_urlencoded_body_is_parsed_once_into_body_params() -> None:
    reply = await post_form(Echo(), "/form", "a=1&b=two+words&a=3&blank=&c=%E2%9C%93")
    assert reply.json() == {"form": {"a": ["1", "3"], "b": ["two words"], "blank": [""], "c": ["\u2713"]},
                            "raw": "a=1&b=two+words&a=3&blank=&c=%E2%9C%93", "parsed": True}


async def test_body_without_a_content_type_is_form_data() -> None:
    reply = await call(Echo(), "POST", "/form", body=b"x=1")
    assert reply.json()["form"] == {"x": ["1"]}


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
async def test_body_methods(method: str) -> None:
    reply = await call(Echo(), method, "/form", body=b"m=1", content_type="application/x-www-form-urlencoded")
    assert reply.json()["form"] == {"m": ["1"]}


async def test_get_bodies_are_not_read() -> None:
    client = Client([b"x=1"])
    await Echo()(http_scope("GET", "/form", headers=[(b"content-length", b"3")]), client.receive, client.send)
    assert client.reply().json()["form"] == {}
    assert client.receive_calls == 0


async def test_delete_body_is_read_only_when_one_is_sent() -> None:
    with_body = await call(Echo(), "DELETE", "/form", body=b"id=7",
                           headers=[(b"content-length", b"4")])
    assert with_body.json()["form"] == {"id": ["7"]}
    client = Client([b""])
    await Echo()(http_scope("DELETE", "/form"), client.receive, client.send)
    assert client.reply().json()["form"] == {}
    assert client.receive_calls == 0


async def test_json_body_and_request_json_helpers() -> None:
    reply = await post_json(Echo(), "/document", {"key": "value", "n": [1]})
    assert reply.json() == {"json": {"key": "value", "n": [1]}, "key": "value", "form": {}}
    listed = await post_json(Echo(), "/document", [1, 2])
    assert listed.json() == {"json": [1, 2], "key": "missing", "form": {}}
    none = await get(Echo(), "/document")
    assert none.json() == {"json": {}, "key": "missing", "form": {}}


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "Application/JSON", "application/merge-patch+json"])
async def test_json_content_types(content_type: str) -> None:
    reply = await call(Echo(), "POST", "/document", body=b'{"key": 1}', content_type=content_type)
    assert reply.json()["key"] == 1


@pytest.mark.parametrize("body", [b"{bad", b"", b"   ", b"\xff\xfe", b'{"a": 1} trailing', b"NaN-ish",
                                  b'{"a": "\xed\xa0\x80"}', b"[" * 100_000])
async def test_bad_json_is_400(body: bytes) -> None:
    reply = await call(Echo(), "POST", "/document", body=body, content_type="application/json")
    assert (reply.status, reply.text) == (400, "400 Bad Request: Bad JSON")


async def test_large_json_integers_survive_exactly() -> None:
    big = 123456789012345678901234567890
    reply = await call(Echo(), "POST", "/document", body=b'{"key": %d}' % big, content_type="application/json")
    assert reply.json()["key"] == big


async def test_query_and_form_helpers() -> None:
    reply = await call(Echo(), "POST", "/helpers", query="q=1&q=2", body=b"f=x",
                       content_type="application/x-www-form-urlencoded")
    assert reply.json() == {"q": "1", "q2": "dflt", "f": "x", "f2": "dflt"}
    blank = await call(Echo(), "POST", "/helpers", query="q=&q=2&none=", body=b"f=&none=",
                       content_type="application/x-www-form-urlencoded")
    # A blank value counts as absent, as in MicroPie; the raw dicts still hold it.
    assert blank.json() == {"q": "2", "q2": "dflt", "f": None, "f2": "dflt"}


async def test_non_utf8_bytes_in_query_form_and_headers_do_not_crash() -> None:
    class Inspect(App):
        async def index(self, q: str = "", f: str = "") -> dict[str, Any]:
            return {"q": q, "f": f, "agent": self.request.headers.get("user-agent")}

    reply = await call(Inspect(), "POST", "/", query=b"q=%ff\xfe&x", body=b"f=\xff%fe",
                       headers=[(b"user-agent", b"\xff\xfebot"), (b"\xff-weird", b"\x00")])
    assert reply.status == 200
    assert reply.json()["agent"] == "\ufffd\ufffdbot"
    assert "\ufffd" in reply.json()["q"] and "\ufffd" in reply.json()["f"]


async def test_header_pairs_may_be_lists_or_bytearrays() -> None:
    class Inspect(App):
        async def index(self) -> dict[str, str]:
            return self.request.headers

    headers: list[Any] = [[b"x-list", b"1"], (bytearray(b"x-bytearray"), bytearray(b"2")),
                          (b"X-Upper", b"3"), (b"x-twice", b"a"), (b"x-twice", b"b")]
    reply = await call(Inspect(), "POST", "/", body=b"a=1", headers=headers,
                       content_type="application/x-www-form-urlencoded")
    assert reply.json() == {"x-list": "1", "x-bytearray": "2", "x-upper": "3", "x-twice": "a, b",
                            "content-type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("value", [b"abc", b"-1", b"1.5", b"", b" ", b"1e3", b"\xd9\xa3", b"0x10"])
async def test_invalid_content_length_is_400(value: bytes) -> None:
    reply = await call(Echo(), "POST", "/form", body=b"a=1", headers=[(b"content-length", value)])
    assert (reply.status, reply.text) == (400, "400 Bad Request: Invalid Content-Length")


async def test_declared_length_over_the_limit_is_413_before_reading() -> None:
    client = Client([b"x" * 10])
    scope = http_scope("POST", "/form", headers=[(b"content-length", b"1000")])
    await Echo(max_body_size=100)(scope, client.receive, client.send)
    assert client.reply().status == 413
    assert client.receive_calls == 0


async def test_streamed_body_over_the_limit_is_413_without_reading_the_rest() -> None:
    client = Client([b"x" * 60, b"x" * 60, b"x" * 60, b"x" * 60])
    await Echo(max_body_size=100)(http_scope("POST", "/form"), client.receive, client.send)
    assert (client.reply().status, client.reply().text) == (413, "413 Payload Too Large")
    assert client.receive_calls == 2


async def test_a_lying_content_length_does_not_let_a_body_past_the_limit() -> None:
    client = Client([b"x" * 80, b"x" * 80])
    scope = http_scope("POST", "/form", headers=[(b"content-length", b"10")])
    await Echo(max_body_size=100)(scope, client.receive, client.send)
    assert client.reply().status == 413


async def test_body_at_the_limit_is_accepted_and_none_turns_the_limit_off() -> None:
    assert (await post_form(Echo(max_body_size=5), "/form", "a=123")).status == 200
    big = "a=" + "x" * (17 * 1024 * 1024)
    assert (await post_form(Echo(), "/form", big)).status == 413
    assert (await post_form(Echo(max_body_size=None, max_form_field_size=None), "/form", big)).status == 200


async def test_chunked_body_is_reassembled() -> None:
    reply = await call(Echo(), "POST", "/document", chunks=[b'{"ke', b'y": ', b'"v"}'],
                       content_type="application/json")
    assert reply.json()["key"] == "v"


async def test_slow_body_is_408() -> None:
    started = time.monotonic()
    reply = await call(Echo(body_timeout=0.05), "POST", "/form", chunks=[b"a=1", b"&b=2"], pause=0.5)
    assert (reply.status, reply.text) == (408, "408 Request Timeout: Failed to receive body")
    assert time.monotonic() - started < 0.4


async def test_a_body_that_never_starts_is_408() -> None:
    async def never() -> Message:
        await asyncio.sleep(10)
        raise AssertionError("unreachable")

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await asyncio.wait_for(Echo(body_timeout=0.05)(http_scope("POST", "/form"), never, send), 2)
    assert sent[0]["status"] == 408


async def test_chunks_arriving_within_the_timeout_are_accepted() -> None:
    reply = await call(Echo(body_timeout=0.5), "POST", "/form", chunks=[b"a=1", b"&b=2"], pause=0.02)
    assert reply.json()["form"] == {"a": ["1"], "b": ["2"]}


async def test_a_client_gone_before_its_body_arrives_gets_no_response() -> None:
    messages: list[Message] = [{"type": "http.disconnect"}]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await Echo()(http_scope("POST", "/form"), receive, send)
    assert sent == []


async def test_a_receive_that_is_not_a_coroutine_works() -> None:
    loop = asyncio.get_running_loop()
    sent: list[Message] = []

    def receive() -> "asyncio.Future[Message]":
        future: asyncio.Future[Message] = loop.create_future()
        loop.call_soon(future.set_result, {"type": "http.request", "body": b"a=1", "more_body": False})
        return future

    async def send(message: Message) -> None:
        sent.append(message)

    await Echo()(http_scope("POST", "/form"), receive, send)
    assert sent[1]["body"] == b'{"form":{"a":["1"]},"raw":"a=1","parsed":true}'


@pytest.mark.parametrize("option,value", [
    ("body_timeout", 0), ("body_timeout", -1), ("body_timeout", "5"), ("body_timeout", True),
    ("max_body_size", 0), ("max_body_size", -5), ("max_body_size", 1.5), ("max_body_size", "1"),
    ("max_form_field_size", -1), ("max_form_field_size", False), ("session_timeout", 0),
    ("session_timeout", None), ("session_cookie_secure", "yes"), ("session_id_factory", "uuid"),
    ("session_id_validator", 3), ("allowed_origins", "https://example.com"),
    ("allowed_origins", [1, 2]), ("session_backend", {}),
])
def test_bad_options_raise_value_error_naming_the_option(option: str, value: object) -> None:
    options: dict[str, Any] = {option: value}
    with pytest.raises(ValueError, match=option):
        App(**options)


def test_good_options_are_accepted() -> None:
    App(body_timeout=None, max_body_size=None, max_form_field_size=None)
    App(body_timeout=1, max_body_size=1, max_form_field_size=1, session_timeout=1,
        session_cookie_secure=False, allowed_origins=["https://example.com"])
