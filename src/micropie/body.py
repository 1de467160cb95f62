"""Reading a request body under size and idle-time limits, and parsing a buffered one into the
request (``read_buffered_body``); a multipart body streams instead (``multipart``).

Rules:
- A body is read once, before middleware, for POST, PUT and PATCH, and for DELETE when the
  client says it sends one (Content-Length above zero, or Transfer-Encoding).
- A Content-Length that is not a non-negative integer is a 400; one above ``max_body_size`` is a
  413 before any byte is read; a body that grows past the limit is a 413 as soon as it does.
- No message for ``body_timeout`` seconds between chunks is a 408. The common case, the whole
  body already waiting in the server, pays for no timer: ``receive()`` is first stepped directly
  and a timer starts only if it actually has to wait.
- JSON (``application/json`` and ``+json`` types) parses from bytes; invalid, empty or too
  deeply nested JSON is a 400. Any other non-multipart body is urlencoded form data, blank
  values kept as "".
- A form body is decoded by ``urlencoded`` under ``max_form_fields`` and
  ``max_form_field_size``; its rules are there.
- A form body of ``PARSE_IN_WORKER_SIZE`` bytes or more is parsed in a worker thread: its
  percent-escapes are decoded by interpreted code, which would stall every other request for
  seconds, and in a thread lets the event loop run between its steps. JSON is decoded where it
  is, on the event loop: the decoder holds the interpreter lock for the whole document anyway,
  so a thread would only add the hop (see ``jsoncodec`` for how large documents are decoded).
"""

import asyncio
import functools
from collections.abc import Awaitable, Callable, Generator
from typing import Any, Final, TypeVar, cast

from micropie import jsoncodec
from micropie.asgi import Message, Receive
from micropie.errors import HTTPError
from micropie.request import Request
from micropie.urlencoded import LARGE_FORM, parse_urlencoded

BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})
PARSE_IN_WORKER_SIZE: Final = LARGE_FORM

_Parsed = TypeVar("_Parsed")


class BodyLimits:
    """The body limits of one application (``None`` turns a limit off)."""

    def __init__(
        self,
        max_body_size: int | None,
        max_form_field_size: int | None,
        body_timeout: float | None,
        max_form_fields: int | None,
    ) -> None:
        self.max_body_size = max_body_size
        self.max_form_field_size = max_form_field_size
        self.body_timeout = body_timeout
        self.max_form_fields = max_form_fields


def wants_body(method: str, content_length: str | None, transfer_encoding: str | None) -> bool:
    if method in BODY_METHODS:
        return True
    if method != "DELETE":
        return False
    if transfer_encoding is not None:
        return True
    return content_length is not None and content_length.strip() not in ("", "0")


async def in_worker(parse: Callable[[], _Parsed]) -> _Parsed:
    """Run ``parse`` in a worker thread, leaving the event loop free for other requests."""
    return await asyncio.get_running_loop().run_in_executor(None, parse)


def parse_json(data: bytes) -> object:
    try:
        return jsoncodec.loads(data)
    except ValueError:
        raise HTTPError(400, "Bad JSON") from None


def is_json_type(content_type: str) -> bool:
    if content_type.startswith("application/json"):
        rest = content_type[16:]
        return not rest or rest[0] in "; "
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def check_declared_length(value: str | None, limits: BodyLimits) -> None:
    """Reject a Content-Length that is not a non-negative integer (400) or over the limit (413)."""
    if value is None:
        return
    text = value.strip()
    if not text or not text.isascii() or not text.isdigit():
        raise HTTPError(400, "Invalid Content-Length")
    limit = limits.max_body_size
    if limit is not None and int(text) > limit:
        raise HTTPError(413)


class _Received:
    """Where ``_take`` leaves the message ``receive()`` returned."""

    def __init__(self) -> None:
        self.message: Message | None = None


async def _take(receive: Receive, received: _Received) -> None:
    received.message = await receive()


class _Resume:
    """Awaits the rest of a ``_take`` that was stepped once and suspended.

    It first hands the event loop what the step is waiting on, then forwards every resumption,
    exception and close to the step, exactly like ``await`` would have.
    """

    def __init__(self, steps: Generator[Any, Any, None], waiting_on: object) -> None:
        self.steps = steps
        self.waiting_on: object = waiting_on
        self.started = False

    def __await__(self) -> "_Resume":
        return self

    def __iter__(self) -> "_Resume":
        return self

    def __next__(self) -> object:
        return self.send(None)

    def send(self, value: object) -> object:
        if not self.started:
            self.started = True
            return self.waiting_on
        return self.steps.send(value)

    def throw(self, kind: object, value: object = None, traceback: object = None) -> object:
        if isinstance(value, BaseException):
            return self.steps.throw(value)
        if isinstance(kind, BaseException):
            return self.steps.throw(kind)
        if isinstance(kind, type) and issubclass(kind, BaseException):
            return self.steps.throw(kind())
        raise TypeError("throw() expects an exception")

    def close(self) -> None:
        self.steps.close()


def _message_in(received: _Received) -> Message:
    message = received.message
    if message is None:
        raise RuntimeError("the server's receive() returned no message")
    return message


async def _bounded(rest: Awaitable[None], received: _Received, timeout: float) -> Message:
    try:
        async with asyncio.timeout(timeout):
            await rest
    except TimeoutError:
        raise HTTPError(408, "Failed to receive body") from None
    return _message_in(received)


_FINISHED: Final = object()


def _first_step(receive: Receive, timeout: float | None) -> Message | Awaitable[Message]:
    """What ``receive()`` returns: the message itself if it is already there, else an awaitable
    for it that raises ``HTTPError`` 408 after ``timeout`` seconds without one."""
    if timeout is None:
        return receive()
    received = _Received()
    steps = _take(receive, received).__await__()
    # A step that finishes ends with a bare StopIteration, which next() absorbs: catching one
    # here instead (send() and ``except StopIteration``) costs compiled code a traceback, more
    # than all the rest of reading a small body.
    waiting_on = next(steps, _FINISHED)
    if waiting_on is _FINISHED:
        return _message_in(received)
    # _Resume speaks the iterator protocol ``await`` uses; the cast names its result type.
    return _bounded(cast("Awaitable[None]", _Resume(steps, waiting_on)), received, timeout)


async def receive_within(receive: Receive, timeout: float | None) -> Message:
    """The next message from ``receive``; ``HTTPError`` 408 if none comes within ``timeout``."""
    ready = _first_step(receive, timeout)
    return ready if isinstance(ready, dict) else await ready


def checked_chunk(message: Message, size: int, limit: int | None) -> bytes:
    """The body bytes of ``message``, which brings the body to ``size`` bytes before it."""
    if message.get("type") == "http.disconnect":
        raise ClientDisconnected()
    chunk = bytes(message.get("body", b""))
    if limit is not None and size + len(chunk) > limit:
        raise HTTPError(413)
    return chunk


async def read_body(receive: Receive, limits: BodyLimits) -> bytes:
    """The whole request body, under ``limits``; raises ``HTTPError`` 408 or 413."""
    limit = limits.max_body_size
    timeout = limits.body_timeout
    # receive_within's two lines, inline: the common case, the whole body in one message
    # already waiting, then costs neither a timer nor another coroutine.
    ready = _first_step(receive, timeout)
    message = ready if isinstance(ready, dict) else await ready
    body = checked_chunk(message, 0, limit)
    if not message.get("more_body", False):
        return body
    chunks = [body]
    size = len(body)
    while True:
        message = await receive_within(receive, timeout)
        chunk = checked_chunk(message, size, limit)
        size += len(chunk)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class ClientDisconnected(Exception):
    """The client went away before its request body arrived: there is no one to answer."""


async def read_buffered_body(request: Request, content_type: str, receive: Receive, limits: BodyLimits) -> None:
    """Read a body that is not multipart and parse it into ``request``: JSON, else form fields."""
    data = await read_body(receive, limits)
    request._body = data
    if is_json_type(content_type):
        request._json = parse_json(data)
    elif len(data) < PARSE_IN_WORKER_SIZE:
        if data:
            request._body_params = parse_urlencoded(data, limits.max_form_fields, limits.max_form_field_size)
    else:
        request._body_params = await in_worker(
            functools.partial(parse_urlencoded, data, limits.max_form_fields, limits.max_form_field_size)
        )
    request._body_parsed = True
