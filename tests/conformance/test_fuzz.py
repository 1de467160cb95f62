"""Property-based fuzzing of HTTP requests through the ASGI interface.

What is fuzzed (strategies in ``fuzz_strategies``): the method, the path (handler names, names
that are no routes, odd unicode, lone surrogates, raw bytes decoded as servers do) and
``raw_path``; query strings; header lists with odd Content-Type, Content-Length, Cookie and
Transfer-Encoding values, and a ``session_id`` cookie that is sometimes one a previous request
issued; urlencoded, JSON (huge integers, nesting up to 5000 deep, broken documents) and
multipart (well formed, truncated, garbage, odd boundaries, too many parts) bodies, split into
random ``http.request`` chunks, delivered at once or paced (the app runs between chunks, so a
handler is reading a file while the upload fails), by clients that finish, disconnect mid-body
or stall. Each example gets a fresh app and event loop, and runs under the interpreter's normal
recursion limit (Hypothesis raises it while a test runs).

Oracles, checked on every request:
- the ASGI call returns (within ``REQUEST_DEADLINE`` seconds) and never raises;
- the app sends exactly one ``http.response.start`` first, then ``http.response.body``
  messages, the last and only the last with ``more_body`` false (a client that disconnected may
  get nothing, or a response cut short);
- a 500 only from a handler that fails on purpose (it records that it ran);
- no exception text (traceback, exception class names, the deliberate error's message) in a
  body, unless the client itself sent that text;
- a valid JSON body echoes back exactly, huge integers included, whenever the standard library
  can parse it and it nests no deeper than ``jsoncodec.MAX_DEPTH``; a deeper one is a 400;
- ``ids: list[int]`` receives exactly the non-blank values sent (every query or form value, a
  JSON array), each converted by the int rule, or the 400 that rule calls for.

Boundary cases a property must always try are pinned with ``@example``.

The ``ci`` profile (tests/conftest.py) is the default: derandomised and bounded. For a long,
random run: ``HYPOTHESIS_PROFILE=long .ci/test pure tests/conformance/test_fuzz.py`` (several minutes).
"""

import asyncio
import json
import math
import re
import sys
import traceback
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from fuzz_strategies import (
    ISSUED_SESSION,
    Body,
    ListRequest,
    Ending,
    Exchange,
    body_methods,
    deep_json,
    exchanges,
    form_bodies,
    handler_paths,
    json_bodies,
    list_requests,
    multipart_bodies,
    random_bodies,
    tidy_exchanges,
    typed_exchanges,
    uploads,
)
from harness import Client, call, cookie_from, http_scope
from hypothesis import example, given, settings
from hypothesis import strategies as st

from micropie import App, MultipartFileError, UploadedFile, jsoncodec
from micropie.asgi import Message

# Small, so that a stalled body costs a fuzz run half a second rather than five.
BODY_TIMEOUT = 0.5
REQUEST_DEADLINE = 5.0
# The interpreter's limit as the module is imported, outside Hypothesis (1000 by default).
SERVER_RECURSION_LIMIT = sys.getrecursionlimit()

SECRET = "SECRET-TRACEBACK-TEXT"
# Text that only an exception's traceback, repr or message would put in a body.
LEAK = re.compile(
    r"Traceback \(most recent call last\)|" + SECRET + r'|File "[^"]*", line \d+|\b[A-Za-z_]\w*(?:Error|Exception)\b'
)


# A failing example that needs a big body (1001 multipart parts, 10000 form fields) prints long;
# the warning Hypothesis gives for that must not, with -W error, replace the example itself.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning")


def examples(share: float) -> settings:
    """The loaded profile's settings, with ``share`` times its ``max_examples``."""
    return settings(max_examples=max(1, round(settings().max_examples * share)))


# --- the application under test ----------------------------------------------------------------

async def drain(upload: UploadedFile) -> int:
    size = 0
    while (chunk := await upload["content"].get()) is not None:
        size += len(chunk)
    return size


class BrokenIterable:
    """A response body whose iteration fails before the first chunk."""

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError(SECRET)


class FuzzApp(App):
    def __init__(self) -> None:
        super().__init__(body_timeout=BODY_TIMEOUT)
        # Names of the handlers that failed on purpose; a leading "_" keeps it off the routes.
        self._deliberate: list[str] = []

    def typed(self, n: int, x: float = 1.0, flag: bool = False, name: str | None = None) -> dict[str, object]:
        return {"n": n, "x": x, "flag": flag, "name_length": None if name is None else len(name)}

    async def listed(
        self, ids: list[int], tags: list[str] | None = None, docs: list[UploadedFile] | None = None
    ) -> dict[str, object]:
        sizes = [await drain(upload) for upload in docs or []]
        return {"ids": ids, "tags": tags, "docs": sizes}

    def positional(self, *parts: str) -> dict[str, int]:
        return {"parts": len(parts)}

    def keywords(self, **fields: object) -> dict[str, int]:
        # Files bound here are never drained: the request must not wait for them.
        return {"fields": len(fields)}

    def index(self, *segments: str) -> str:
        return f"index with {len(segments)} segments"

    async def upload(self, document: UploadedFile) -> dict[str, int] | tuple[int, str]:
        try:
            return {"bytes": await drain(document)}
        except MultipartFileError:
            return 400, "upload did not complete"

    async def upload_strict(self, document: UploadedFile) -> dict[str, int]:
        return {"bytes": await drain(document)}

    def counter(self) -> str:
        session = self.request.session
        count = session.get("count")
        session["count"] = count + 1 if isinstance(count, int) else 1
        return f"count {session['count']}"

    def echo_json(self) -> object:
        document = self.request.json()
        # A scalar returned bare would be sent as str(value); wrapped, it stays JSON.
        return document if isinstance(document, (dict, list)) else {"scalar": document}

    def stream_sync(self) -> Iterator[str]:
        yield "first;"
        # Runs in a worker thread, where self.request works too.
        yield f"method of {len(self.request.method)} characters;"
        yield "last"

    async def stream_async(self) -> AsyncIterator[str]:
        for index in range(3):
            await asyncio.sleep(0)
            yield f"chunk {index} of a {len(self.request.method)}-character method;"

    def boom(self) -> str:
        self._deliberate.append("boom")
        raise RuntimeError(SECRET)

    def broken_iterable(self) -> BrokenIterable:
        self._deliberate.append("broken_iterable")
        return BrokenIterable()


# --- serving one exchange ----------------------------------------------------------------------

class FuzzClient(Client):
    """The harness client, except that it can end without finishing the body."""

    def __init__(self, chunks: tuple[bytes, ...], ending: Ending, paced: bool) -> None:
        super().__init__(chunks)
        self.ending = ending
        self.paced = paced

    async def receive(self) -> Message:
        if self.paced and self.chunks:
            await asyncio.sleep(0)
        if self.ending == "complete":
            return await super().receive()
        if self.chunks:
            return {"type": "http.request", "body": self.chunks.pop(0), "more_body": True}
        if self.ending == "disconnect":
            return {"type": "http.disconnect"}
        # Stalled: silent, but connected until the response is over (what the harness does).
        return await super().receive()


@dataclass
class Served:
    sent: list[Message]
    raised: BaseException | None
    timed_out: bool
    deliberate: list[str]


async def issue_session(app: FuzzApp) -> bytes:
    """The id of a session ``app`` really issued, from a request that starts one."""
    reply = await call(app, "GET", "/counter")
    issued = cookie_from(reply)
    assert issued is not None, f"GET /counter issued no session cookie: {reply.headers}"
    return issued.encode("ascii")


async def with_session(app: FuzzApp, headers: tuple[tuple[bytes, bytes], ...]) -> list[tuple[bytes, bytes]]:
    """``headers`` with the issued-session placeholder replaced by a real session id."""
    if not any(ISSUED_SESSION in value or ISSUED_SESSION.upper() in value for _, value in headers):
        return list(headers)
    issued = await issue_session(app)
    return [
        (name, value.replace(ISSUED_SESSION, issued).replace(ISSUED_SESSION.upper(), issued.upper()))
        for name, value in headers
    ]


async def serve(exchange: Exchange) -> Served:
    app = FuzzApp()
    headers = await with_session(app, exchange.headers)
    client = FuzzClient(exchange.chunks, exchange.ending, exchange.paced)
    scope = http_scope(exchange.method, "/", exchange.query, headers)
    # Set here, not by http_scope: it derives raw_path from the path, and not every generated
    # path (lone surrogates) encodes.
    scope["path"] = exchange.path
    scope["raw_path"] = exchange.raw_path
    task = asyncio.ensure_future(app(scope, client.receive, client.send))
    # asyncio.wait, not wait_for: a TimeoutError the app itself raised must not pass for ours.
    done, _ = await asyncio.wait({task}, timeout=REQUEST_DEADLINE)
    timed_out = not done
    if timed_out:
        task.cancel()
        await asyncio.wait({task})
    raised = None if timed_out or task.cancelled() else task.exception()
    if not timed_out and task.cancelled():
        raised = asyncio.CancelledError()
    return Served(client.sent, raised, timed_out, app._deliberate)


def run(exchange: Exchange) -> Served:
    # Hypothesis raises the recursion limit while a test runs; the app must meet the limit a
    # server has, which decides how deep a JSON document can be parsed.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(SERVER_RECURSION_LIMIT)
    try:
        # One event loop per example: nothing a request leaves behind reaches the next one.
        return asyncio.run(serve(exchange))
    finally:
        sys.setrecursionlimit(limit)


# --- oracles -----------------------------------------------------------------------------------

def formatted(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)).rstrip()


def response_body(sent: list[Message]) -> bytes:
    return b"".join(bytes(message.get("body", b"")) for message in sent if message["type"] == "http.response.body")


def check_finished(exchange: Exchange, served: Served) -> None:
    assert not served.timed_out, f"no answer within {REQUEST_DEADLINE} s to\n{exchange.describe()}"
    assert served.raised is None, (
        f"the ASGI call raised for\n{exchange.describe()}\n{formatted(served.raised)}"
    )


def check_messages(exchange: Exchange, sent: list[Message]) -> None:
    where = exchange.describe()
    kinds = [message["type"] for message in sent]
    client_left = exchange.ending == "disconnect"
    if not sent:
        assert client_left, f"nothing was sent in answer to\n{where}"
        return
    assert kinds.count("http.response.start") == 1, f"{kinds.count('http.response.start')} starts: {kinds}\n{where}"
    assert kinds[0] == "http.response.start", f"the first message is {kinds[0]}: {kinds}\n{where}"
    assert all(kind == "http.response.body" for kind in kinds[1:]), f"unexpected messages {kinds}\n{where}"
    finals = [index for index, message in enumerate(sent)
              if message["type"] == "http.response.body" and not message.get("more_body", False)]
    if client_left and not finals:
        return  # a response cut short because its client went away
    assert finals == [len(sent) - 1], (
        f"the body must end with exactly one more_body=False message, the last; got finals at {finals} of "
        f"{[(kind, message.get('more_body', False)) for kind, message in zip(kinds, sent)]}\n{where}"
    )


def check_status(exchange: Exchange, served: Served) -> None:
    if not served.sent:
        return
    status = served.sent[0].get("status")
    assert isinstance(status, int) and 100 <= status <= 599, f"status {status!r}\n{exchange.describe()}"
    assert status != 500 or served.deliberate, (
        f"500 without a deliberate failure; body {response_body(served.sent)[:200]!r}\n{exchange.describe()}"
    )


def check_no_leak(exchange: Exchange, served: Served) -> None:
    body = response_body(served.sent).decode("utf-8", "replace")
    sent_by_client = "\n".join(
        [exchange.path, exchange.query.decode("utf-8", "replace"), exchange.body.decode("utf-8", "replace")]
    )
    leaked = [text for text in LEAK.findall(body) if text not in sent_by_client]
    assert not leaked, f"exception text {leaked} in the body {body[:300]!r}\n{exchange.describe()}"


def check_exchange(exchange: Exchange, served: Served) -> None:
    check_finished(exchange, served)
    check_messages(exchange, served.sent)
    check_status(exchange, served)
    check_no_leak(exchange, served)


# --- the JSON echo oracle ----------------------------------------------------------------------

@dataclass(frozen=True)
class Parsed:
    value: object


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is beyond a float's range")
    return value


def _integer_within_limit(text: str) -> int:
    # jsoncodec's rule: an integer of more than 4300 characters, sign included, is refused.
    if len(text) > 4300:
        raise ValueError("an integer longer than 4300 characters")
    return int(text)


def reference_json(data: bytes) -> Parsed | None:
    """The document the standard library reads from ``data``, taken strictly: UTF-8 only, no
    NaN or Infinity, no number that overflows a float, no integer past jsoncodec's limit, no
    lone surrogate; None if it cannot."""
    try:
        document = json.loads(
            data.decode("utf-8"),
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_integer_within_limit,
        )
        # Lone surrogates (from \\ud800 escapes) are not text any UTF-8 reply can carry.
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):
        return None
    return Parsed(document)


def nesting_depth(document: object) -> int:
    deepest = 0
    pending = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            deepest = max(deepest, depth)
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            deepest = max(deepest, depth)
            pending.extend((item, depth + 1) for item in value)
    return deepest


def same_json(left: object, right: object) -> bool:
    """Equal, with types compared too (``1`` is not ``1.0``); iterative, for deep documents."""
    pending = [(left, right)]
    while pending:
        one, other = pending.pop()
        if type(one) is not type(other):
            return False
        if isinstance(one, dict) and isinstance(other, dict):
            if one.keys() != other.keys():
                return False
            pending.extend((one[key], other[key]) for key in one)
        elif isinstance(one, list) and isinstance(other, list):
            if len(one) != len(other):
                return False
            pending.extend(zip(one, other))
        elif one != other:
            return False
    return True


def check_json_echo(exchange: Exchange, served: Served) -> None:
    expected = reference_json(exchange.body)
    if expected is None:
        return  # not valid JSON (or not parseable by the standard library): no 500 is all we ask
    status = served.sent[0]["status"]
    body = response_body(served.sent)
    depth = nesting_depth(expected.value)
    if depth > jsoncodec.MAX_DEPTH:
        assert (status, body) == (400, b"400 Bad Request: Bad JSON"), f"JSON {depth} deep answered {status}"
        return
    assert status == 200, f"valid JSON (depth {depth}) answered {status} {body[:200]!r}\n{exchange.describe()}"
    document = expected.value
    wanted = document if isinstance(document, (dict, list)) else {"scalar": document}
    echoed = json.loads(body)
    assert same_json(echoed, wanted), (
        f"JSON did not come back exactly: sent {exchange.body[:300]!r}, got {body[:300]!r}\n{exchange.describe()}"
    )


# --- properties --------------------------------------------------------------------------------

def json_post(path: str, data: bytes) -> Exchange:
    """A plain JSON POST, for examples every run tries whatever Hypothesis generates."""
    headers = ((b"content-type", b"application/json"), (b"content-length", str(len(data)).encode("ascii")))
    return Exchange("POST", path, path.encode("ascii"), b"", headers, (data,), "complete")


@examples(3)
@given(exchanges())
def test_any_request_gets_one_clean_answer(exchange: Exchange) -> None:
    check_exchange(exchange, run(exchange))


@examples(2)
@given(tidy_exchanges(["echo_json"], json_bodies(), queries=st.just(b"")))
# The longest integer jsoncodec keeps exactly: 4300 characters, the sign included.
@example(json_post("/echo_json", b"-" + b"9" * 4299))
def test_valid_json_echoes_exactly(exchange: Exchange) -> None:
    served = run(exchange)
    check_exchange(exchange, served)
    check_json_echo(exchange, served)


@examples(2)
@given(tidy_exchanges(["echo_json"], json_bodies(deep_json()), queries=st.just(b"")))
@example(json_post("/echo_json", b"[" * 1000 + b"18446744073709551616" + b"]" * 1000))
def test_deep_json_echoes_exactly_or_is_refused(exchange: Exchange) -> None:
    served = run(exchange)
    check_exchange(exchange, served)
    check_json_echo(exchange, served)


UPLOADERS = ["upload", "upload_strict", "typed", "keywords", "positional", "index", "listed"]


@examples(2)
@given(st.one_of(
    tidy_exchanges(UPLOADERS, multipart_bodies()),
    exchanges(methods=body_methods, paths=handler_paths(UPLOADERS), bodies=multipart_bodies()),
))
def test_multipart_bodies_get_one_clean_answer(exchange: Exchange) -> None:
    check_exchange(exchange, run(exchange))


@examples(1)
@given(uploads())
def test_uploads_failing_while_read_get_one_clean_answer(exchange: Exchange) -> None:
    check_exchange(exchange, run(exchange))


@examples(2)
@given(typed_exchanges())
# A JSON integer no float can hold, for the float parameter.
@example(json_post("/typed", b'{"n": 1, "x": ' + str(2**1024).encode("ascii") + b"}"))
def test_typed_parameters_convert_or_reject(exchange: Exchange) -> None:
    check_exchange(exchange, run(exchange))


BINDERS = ["typed", "positional", "keywords", "index", "upload", "upload_strict", "listed"]
BINDING_BODIES = st.one_of(form_bodies(), json_bodies(), random_bodies())


@examples(2)
@given(st.one_of(
    tidy_exchanges(BINDERS, BINDING_BODIES),
    exchanges(paths=handler_paths(BINDERS), bodies=BINDING_BODIES),
))
def test_binding_from_any_source_gets_one_clean_answer(exchange: Exchange) -> None:
    check_exchange(exchange, run(exchange))


_INT_TEXT = re.compile(r"-?[0-9]+")


def reference_int(value: object) -> int | None:
    """``value`` as conversion.py's rules convert it to an int, or None if they refuse it."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str) or _INT_TEXT.fullmatch(value) is None:
        return None
    try:
        return int(value)
    except ValueError:  # more digits than Python converts
        return None


def expected_ids(request: ListRequest) -> tuple[int, object]:
    """The status and body (a parsed JSON value, or the text of a 400) ``listed`` must answer."""
    if request.source == "absent":
        return 400, "400 Bad Request: Missing required parameter 'ids'"
    if request.source == "json":
        sent: object = request.sent_json
    else:
        # A blank value counts as absent, as for a scalar parameter.
        sent = [text for text in request.sent_texts if text]
        if not sent:
            return 400, "400 Bad Request: Missing required parameter 'ids'"
    if not isinstance(sent, list):
        return 400, "400 Bad Request: Parameter 'ids' must be a list of int"
    converted = [reference_int(value) for value in sent]
    if any(value is None for value in converted):
        return 400, "400 Bad Request: Parameter 'ids' must be a list of int"
    return 200, {"ids": converted, "tags": None, "docs": []}


@examples(1)
@given(list_requests())
@example(ListRequest(json_post("/listed", b'{"ids": [1, true]}'), "json", (), [1, True]))
def test_list_parameters_receive_every_value_or_a_400(request: ListRequest) -> None:
    served = run(request.exchange)
    check_exchange(request.exchange, served)
    status = served.sent[0]["status"]
    body = response_body(served.sent).decode("utf-8")
    answer = (status, json.loads(body) if status == 200 else body)
    assert answer == expected_ids(request), request.exchange.describe()


@examples(1)
@given(exchanges(
    paths=handler_paths(["counter", "index", "boom", "typed"]),
    bodies=st.one_of(form_bodies(), st.just(Body(None, b""))),
    cookies=st.integers(1, 2),
))
def test_session_cookies_get_one_clean_answer(exchange: Exchange) -> None:
    check_exchange(exchange, run(exchange))


@examples(1)
@given(exchanges(
    paths=handler_paths(["stream_sync", "stream_async", "broken_iterable", "boom"]),
    endings=st.sampled_from(["complete", "disconnect"]),
))
def test_streamed_responses_get_one_clean_answer(exchange: Exchange) -> None:
    check_exchange(exchange, run(exchange))


@examples(1 / 30)
@given(exchanges(methods=body_methods, endings=st.just("stall")))
def test_stalled_bodies_end_in_time(exchange: Exchange) -> None:
    check_exchange(exchange, run(exchange))
