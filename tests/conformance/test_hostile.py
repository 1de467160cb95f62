"""Hostile input the probe found (issue 8), each hole kept closed.

Every request here must end with a clear 4xx (or the documented 500 for the handler's own
failure), never an exception out of the ASGI call and never a hang.
"""

import asyncio
import gc
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from harness import CONTENT_TYPE, Client, WebSocketSession, call, end, form, get, http_scope, part, post_form, post_json
from harness import read_all

from micropie import App, MultipartFileError, UploadedFile, jsoncodec
from micropie.asgi import Message

BIG = 18446744073709551616  # 2**64: past every 64-bit integer type
MAX_DEPTH = jsoncodec.MAX_DEPTH


def nested(depth: int, inner: bytes = str(BIG).encode()) -> bytes:
    return b"[" * depth + inner + b"]" * depth


class Hostile(App):
    async def innermost(self) -> str:
        value = self.request.json()
        while isinstance(value, list):
            value = value[0] if value else None
        return repr(value)

    async def echo(self) -> Any:
        return self.request.json()

    async def form(self) -> dict[str, list[str]]:
        return self.request.body_params

    async def upload(self, document: UploadedFile) -> str:
        return str(len(await read_all(document)))

    async def maybe_upload(self, document: UploadedFile | None = None) -> str:
        return "none" if document is None else document["filename"]

    async def numbers(self, n: int = 0, x: float = 0.0, flag: bool = False) -> dict[str, Any]:
        return {"n": n, "x": x, "flag": flag}

    async def ws_json(self, socket: Any) -> None:
        await socket.accept()
        try:
            value = await socket.receive_json()
        except ValueError:
            await socket.send_text("not JSON")
        else:
            await socket.send_text(f"got {type(value).__name__}")


# 1. JSON the codec cannot take is a 400, never a 500; integers keep their exact value.

@pytest.mark.parametrize("depth", [1, 500, MAX_DEPTH, MAX_DEPTH + 1, 980, 1000, 1024, 1025, 5000, 100_000])
async def test_json_nested_up_to_the_stated_depth_is_exact_and_deeper_is_400(depth: int) -> None:
    reply = await call(Hostile(), "POST", "/innermost", body=nested(depth), content_type="application/json")
    if depth <= MAX_DEPTH:
        assert (reply.status, reply.text) == (200, repr(BIG))
    else:
        assert (reply.status, reply.text) == (400, "400 Bad Request: Bad JSON")


async def test_integers_of_any_size_round_trip_exactly() -> None:
    document = {"big": BIG, "negative": -(2**200), "list": [2**70, 1, -1], "float": 1.5}
    reply = await post_json(Hostile(), "/echo", document)
    assert (reply.status, json.loads(reply.body)) == (200, document)


@pytest.mark.parametrize("text,status", [
    ("9" * 4300, 200), ("-" + "9" * 4299, 200), ("-" + "9" * 4300, 400), ("9" * 4301, 400),
])
async def test_json_integers_keep_their_value_up_to_4300_characters(text: str, status: int) -> None:
    reply = await call(Hostile(), "POST", "/echo", body=f"[{text}]".encode(), content_type="application/json")
    assert reply.status == status
    if status == 200:
        assert json.loads(reply.body) == [int(text)]


async def test_a_json_integer_too_big_for_a_float_parameter_is_400() -> None:
    reply = await post_json(Hostile(), "/numbers", {"x": 2**1024})
    assert (reply.status, reply.text) == (400, "400 Bad Request: Parameter 'x' must be float")
    assert (await post_json(Hostile(), "/numbers", {"x": 2**1023})).json()["x"] == float(2**1023)


async def test_a_big_json_body_is_exact_and_a_bad_one_is_400() -> None:
    document = {"values": list(range(2**64, 2**64 + 20_000))}
    body = json.dumps(document).encode()
    assert len(body) > 64 * 1024
    reply = await call(Hostile(), "POST", "/echo", body=body, content_type="application/json")
    assert json.loads(reply.body) == document
    reply = await call(Hostile(), "POST", "/echo", body=body[:-1], content_type="application/json")
    assert (reply.status, reply.text) == (400, "400 Bad Request: Bad JSON")


@pytest.mark.parametrize("enabled", [True, False])
async def test_decoding_a_big_json_body_leaves_the_garbage_collector_as_it_was(enabled: bool) -> None:
    body = json.dumps([{"n": index} for index in range(20_000)]).encode()
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        for document in (body, body[:-1]):  # a good body and a bad one
            await call(Hostile(), "POST", "/echo", body=document, content_type="application/json")
            assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


@pytest.mark.parametrize("text,answers", [
    ("[" * 100_000, {"not JSON"}),
    (nested(5000).decode(), {"not JSON"}),
    (nested(MAX_DEPTH + 1).decode(), {"not JSON"}),
    (nested(MAX_DEPTH).decode(), {"got list"}),
    ('{"a": NaN}', {"not JSON"}),
    ("[1e999]", {"not JSON"}),
])
async def test_websocket_receive_json_raises_value_error_for_what_it_cannot_take(text: str, answers: set[str]) -> None:
    session = WebSocketSession(Hostile(), "/json")
    session.start()
    assert (await session.next_message())["type"] == "websocket.accept"
    session.send_text(text)
    assert (await session.next_message())["text"] in answers
    await session.finish()


# 2. A handler streaming a file lets MultipartFileError propagate: the answer follows the cause.

class Propagates(App):
    """Reads its file chunk by chunk and lets a failed upload's error propagate."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.reading = asyncio.Event()
        self.causes: list[str] = []

    async def upload(self, document: UploadedFile) -> str:
        try:
            while await document["content"].get() is not None:
                self.reading.set()
        except MultipartFileError as error:
            self.causes.append(str(error.cause))
            raise
        return "complete"


async def upload_failing_while_read(app: Propagates, rest: list[bytes], then: str) -> Client:
    """POST a file to /upload; once the handler is reading it, send ``rest`` and then end the
    body (``then="end"``), stall, or disconnect."""
    client = Client([])
    pending = [part("document", b"A" * 100, "f.bin")[:-2], *rest]
    calls = 0

    async def receive() -> Message:
        nonlocal calls
        calls += 1
        if calls > 1:
            await app.reading.wait()
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending) or then != "end"}
        if then == "stall":
            await asyncio.sleep(60)
        return {"type": "http.disconnect"}

    scope = http_scope("POST", "/upload", headers=[(b"content-type", CONTENT_TYPE.encode())])
    await asyncio.wait_for(app(scope, receive, client.send), 5)
    return client


MALFORMED = "400 Bad Request: Malformed multipart body"


async def test_malformed_multipart_under_a_reading_handler_is_400() -> None:
    app = Propagates()
    client = await upload_failing_while_read(app, [b"B" * 100], "end")  # never terminated
    assert (client.reply().status, client.reply().text) == (400, MALFORMED)
    assert app.causes == [MALFORMED]


async def test_an_oversized_body_under_a_reading_handler_is_413() -> None:
    app = Propagates(max_body_size=2000)
    client = await upload_failing_while_read(app, [b"A" * 5000], "end")
    assert (client.reply().status, client.reply().text) == (413, "413 Payload Too Large")
    assert app.causes == ["413 Payload Too Large"]


async def test_a_stalled_body_under_a_reading_handler_is_408() -> None:
    app = Propagates(body_timeout=0.05)
    client = await upload_failing_while_read(app, [], "stall")
    assert (client.reply().status, client.reply().text) == (408, "408 Request Timeout: Failed to receive body")
    assert len(app.causes) == 1


async def test_a_disconnect_under_a_reading_handler_sends_nothing() -> None:
    app = Propagates()
    client = await upload_failing_while_read(app, [], "disconnect")
    assert client.sent == []
    assert len(app.causes) == 1


# 3. max_form_fields: one field more is a 413 found while parsing.

async def test_urlencoded_fields_up_to_the_default_limit_pass_and_one_more_is_413() -> None:
    fields = "&".join(f"f{index}=v" for index in range(1000))
    assert len((await post_form(Hostile(), "/form", fields)).json()) == 1000
    reply = await post_form(Hostile(), "/form", fields + "&last=v")
    assert (reply.status, reply.text) == (413, "413 Payload Too Large: Too many form fields")


async def test_repeated_names_count_as_fields_and_empty_items_do_not() -> None:
    app = Hostile(max_form_fields=3)
    assert (await post_form(app, "/form", "a=1&&&a=2&&b=3&")).json() == {"a": ["1", "2"], "b": ["3"]}
    assert (await post_form(app, "/form", "a=1&a=2&a=3&a=4")).status == 413


async def test_a_long_run_of_separators_is_not_a_field() -> None:
    reply = await post_form(Hostile(max_form_fields=2), "/form", "&" * 1_000_000 + "a=1" + "&" * 1000 + "b=2")
    assert reply.json() == {"a": ["1"], "b": ["2"]}


async def test_a_million_tiny_urlencoded_fields_are_413() -> None:
    reply = await post_form(Hostile(), "/form", "a&" * 1_800_000)
    assert (reply.status, reply.text) == (413, "413 Payload Too Large: Too many form fields")


async def test_the_field_count_stops_the_parse_before_later_fields_are_decoded() -> None:
    # The fourth field would be too large; the count is exceeded first, so it is never decoded.
    app = Hostile(max_form_fields=2, max_form_field_size=100)
    reply = await post_form(app, "/form", "a=1&b=2&c=" + "%41" * 1000)
    assert reply.text == "413 Payload Too Large: Too many form fields"


async def test_multipart_parts_text_and_file_together_count_against_the_limit() -> None:
    app = Hostile(max_form_fields=3)
    three = form(part("a", b"1"), part("f", b"x", "f.txt"), part("b", b"2"))
    assert (await call(app, "POST", "/form", body=three, content_type=CONTENT_TYPE)).status == 200
    four = form(part("a", b"1"), part("f", b"x", "f.txt"), part("b", b"2"), part("g", b"y", "g.txt"))
    reply = await call(app, "POST", "/form", body=four, content_type=CONTENT_TYPE)
    assert (reply.status, reply.text) == (413, "413 Payload Too Large: Too many form fields")


async def test_many_empty_file_parts_are_refused_before_the_rest_of_the_body_is_read() -> None:
    empty_file = part("f", b"", "e.bin")
    chunks = [empty_file * 100 for _ in range(50)] + [end()]
    client = Client(chunks)
    scope = http_scope("POST", "/form", headers=[(b"content-type", CONTENT_TYPE.encode())])
    await Hostile()(scope, client.receive, client.send)
    assert (client.reply().status, client.reply().text) == (413, "413 Payload Too Large: Too many form fields")
    assert client.receive_calls <= 12, "the parse went on reading after the limit was passed"


async def test_none_turns_the_field_limit_off() -> None:
    fields = "&".join(f"f{index}=v" for index in range(3000))
    assert len((await post_form(Hostile(max_form_fields=None), "/form", fields)).json()) == 3000


@pytest.mark.parametrize("value", [0, -1, True, "10", 2.5])
def test_a_bad_field_limit_is_a_value_error_naming_it(value: object) -> None:
    with pytest.raises(ValueError, match="max_form_fields"):
        Hostile(max_form_fields=value)  # type: ignore[arg-type]


# 4. max_form_field_size applies to urlencoded fields, counted in bytes after decoding.

async def test_an_urlencoded_field_over_the_size_limit_is_413() -> None:
    limit = 1024 * 1024
    reply = await post_form(Hostile(), "/form", "big=" + "x" * (limit + 10))
    assert (reply.status, reply.text) == (413, "413 Payload Too Large: Form field too large")
    assert (await post_form(Hostile(), "/form", "big=" + "x" * limit)).json() == {"big": ["x" * limit]}


@pytest.mark.parametrize("body,status", [
    ("v=" + "%41" * 10, 200),           # 30 characters sent, 10 bytes once decoded
    ("v=" + "%41" * 11, 413),
    ("v=" + "\u00e9" * 5, 200),         # 10 bytes of UTF-8
    ("v=" + "\u00e9" * 6, 413),         # 6 characters, 12 bytes
    ("v=" + "%C3%A9" * 6, 413),
    ("n" * 11 + "=1", 413),             # names are fields' text too
    ("v=" + "+" * 11, 413),
])
async def test_the_field_size_counts_decoded_utf8_bytes(body: str, status: int) -> None:
    assert (await post_form(Hostile(max_form_field_size=10), "/form", body)).status == status


async def test_a_concurrent_request_is_answered_while_a_large_form_is_decoded() -> None:
    # Three megabytes of percent-escapes take the standard decoder a noticeable time; parsed on
    # the event loop, they would hold up every other request until done.
    body = ("big=" + "%41" * (1024 * 1024)).encode()
    app = Hostile(max_form_field_size=None)
    posting = asyncio.ensure_future(call(app, "POST", "/form", body=body,
                                         content_type="application/x-www-form-urlencoded"))
    for _ in range(5):
        await asyncio.sleep(0)
    quick = await get(app, "/numbers")
    assert quick.status == 200
    assert not posting.done(), "the form was decoded on the event loop"
    assert (await posting).json() == {"big": ["A" * 1024 * 1024]}


# 5. A sync generator runs in the request's context.

async def test_a_sync_generator_reads_the_request_in_its_worker_thread() -> None:
    class Stream(App):
        def index(self) -> Iterator[str]:
            yield self.request.method
            yield self.request.query("q") or "-"

        async def returned(self) -> Iterator[str]:
            def lines() -> Iterator[str]:
                yield self.request.query("q") or "-"

            return lines()

    reply = await get(Stream(), "/", query="q=seen")
    assert (reply.body, reply.complete) == (b"GETseen", True)
    assert (await get(Stream(), "/returned", query="q=too")).body == b"too"


# 6. Iteration that fails before the first chunk is a 500; nothing escapes the ASGI call.

def fail_before_the_first_chunk() -> list[str]:
    raise RuntimeError("before the first chunk")


class RaisesOnIter:
    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("no iterator for you")


class RaisesOnAiter:
    def __aiter__(self) -> AsyncIterator[str]:
        raise RuntimeError("no async iterator for you")


class Failing(App):
    async def iterable(self) -> RaisesOnIter:
        return RaisesOnIter()

    async def async_iterable(self) -> RaisesOnAiter:
        return RaisesOnAiter()

    def generator(self) -> Iterator[str]:
        yield from fail_before_the_first_chunk()

    async def async_generator(self) -> AsyncIterator[str]:
        async def chunks() -> AsyncIterator[str]:
            for chunk in fail_before_the_first_chunk():
                yield chunk

        return chunks()


@pytest.mark.parametrize("path", ["/iterable", "/async_iterable", "/generator", "/async_generator"])
async def test_iteration_failing_before_the_first_chunk_is_a_500(
    path: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="micropie"):
        reply = await get(Failing(), path)
    starts = [message for message in reply.messages if message["type"] == "http.response.start"]
    assert len(starts) == 1
    assert (reply.status, reply.text, reply.complete) == (500, "500 Internal Server Error", True)
    assert any(record.exc_info for record in caplog.records)


# 7. A string bound to a file parameter is a 400 naming the parameter.

@pytest.mark.parametrize("path,query,document", [
    ("/upload/foo", "", None),
    ("/upload", "document=x", None),
    ("/upload", "", {"document": {"filename": "x", "content_type": "y", "content": "z"}}),
    ("/upload", "", {"document": "x"}),
])
async def test_a_file_parameter_given_anything_but_a_file_is_400(
    path: str, query: str, document: dict[str, Any] | None
) -> None:
    if document is None:
        reply = await get(Hostile(), path, query=query)
    else:
        reply = await post_json(Hostile(), path, document, query=query)
    assert (reply.status, reply.text) == (400, "400 Bad Request: Parameter 'document' must be an uploaded file")


async def test_a_form_string_for_a_file_parameter_is_400_and_a_real_file_binds() -> None:
    assert (await post_form(Hostile(), "/upload", "document=x")).status == 400
    body = form(part("document", b"12345", "f.bin"))
    assert (await call(Hostile(), "POST", "/upload", body=body, content_type=CONTENT_TYPE)).text == "5"


async def test_an_optional_file_parameter() -> None:
    assert (await get(Hostile(), "/maybe_upload")).text == "none"
    assert (await get(Hostile(), "/maybe_upload", query="document=")).text == "none"  # blank: absent
    assert (await get(Hostile(), "/maybe_upload", query="document=x")).status == 400
    body = form(part("document", b"x", "f.bin"))
    assert (await call(Hostile(), "POST", "/maybe_upload", body=body, content_type=CONTENT_TYPE)).text == "f.bin"


# 8. Typed conversion accepts exactly the text conversion.py states.

@pytest.mark.parametrize("query", [
    "n=%2012", "n=12%20", "n=%097%0A", "n=%2B5", "n=1_000", "n=0x10", "n=%EF%BC%91", "n=-", "n=--1",
    "n=" + "9" * 4301,
    "x=%201.5", "x=%2B1.5", "x=1_0.5", "x=infinity", "x=nan", "x=1e999", "x=1e", "x=.", "x=0x1p3",
    "flag=%20true", "flag=true%20", "flag=tru",
])
async def test_text_that_the_rules_do_not_accept_is_400(query: str) -> None:
    assert (await get(Hostile(), "/numbers", query=query)).status == 400


@pytest.mark.parametrize("query,expected", [
    ("n=-12", {"n": -12}), ("n=007", {"n": 7}), ("n=" + "9" * 4300, {"n": int("9" * 4300)}),
    ("x=-1.5e-3", {"x": -0.0015}), ("x=.5", {"x": 0.5}), ("x=5.", {"x": 5.0}), ("x=1E%2B2", {"x": 100.0}),
    ("flag=TRUE", {"flag": True}), ("flag=Off", {"flag": False}),
])
async def test_text_that_the_rules_accept_converts(query: str, expected: dict[str, Any]) -> None:
    reply = await get(Hostile(), "/numbers", query=query)
    assert reply.status == 200
    values = json.loads(reply.body)
    for name, value in expected.items():
        assert values[name] == value
