"""Turning what a handler returns into a response, and sending a complete one.

Rules:
- A handler returns ``str`` (UTF-8, lone surrogates replaced), ``bytes``, JSON (a ``dict``, a
  ``list``, or a model: a dataclass or ``msgspec.Struct`` instance, models nested at any depth
  included), ``(status, body)`` or ``(status, body, headers)`` (typed as ``WithStatus[Body]``
  and ``WithHeaders[Body]``), or a sync or async iterator (streamed, see ``streaming``).
  Anything else is sent as ``str(value)``. A ``TypedDict`` is a ``dict``.
- A status is an ``int`` (not a ``bool``) from 100 to 599 and headers are a list or tuple of
  (name, value) pairs; any other shape is ``MalformedResult``, which the caller answers with a
  500. Nothing about a result may raise out of the ASGI call.
- The handler's header list is never modified: ``Outcome.add_header`` copies it first.
- A HEAD request gets the status and headers the same GET would get, Content-Length included,
  and an empty body, sent by this package rather than left for the server to strip.
- Redirect locations have non-ASCII and unsafe characters percent-encoded, without encoding an
  existing escape twice.
- A complete body is sent with its Content-Length; the default Content-Type is HTML, or JSON
  for a JSON body, unless the handler supplied its own. A 1xx, 204 or 304
  response is sent without a body or a Content-Length, whatever the handler returned.
"""

import dataclasses
from typing import Final, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import msgspec

from micropie import jsoncodec
from micropie.asgi import ResponseHeaders, Send
from micropie.headers import HTML_TYPE, JSON_TYPE, NO_BODY, STREAMED, response_headers

_Body = TypeVar("_Body")

Headers = list[tuple[str, str]]
"""Response headers as a handler returns them: (name, value) pairs."""
WithStatus = tuple[int, _Body]
"""A handler's result with its status: ``WithStatus[str]`` is ``(404, "Not here")``."""
WithHeaders = tuple[int, _Body, Headers]
"""A handler's result with its status and headers: ``WithHeaders[str]`` is ``(302, "", [...])``."""


def is_json_body(body: object) -> bool:
    """Whether a handler's ``body`` is sent as JSON: a dict, a list, or a model instance."""
    if isinstance(body, (dict, list)) or isinstance(body, msgspec.Struct):
        return True
    # A dataclass instance; the class itself is not a body.
    return dataclasses.is_dataclass(body) and not isinstance(body, type)


class MalformedResult(Exception):
    """A handler or middleware produced something that is not a response."""


class Outcome:
    """A response before encoding: status, body object, and the handler's extra headers."""

    def __init__(self, status: int, body: object, headers: list[tuple[str, str]] | None) -> None:
        self.status = status
        self.body = body
        self.headers = headers
        self._headers_owned = False

    def owned_headers(self) -> list[tuple[str, str]]:
        """The header list, copied first if it is still the handler's own."""
        headers = self.headers
        if headers is None:
            headers = []
        elif not self._headers_owned:
            headers = list(headers)
        self.headers = headers
        self._headers_owned = True
        return headers

    def add_header(self, pair: tuple[str, str]) -> None:
        self.owned_headers().append(pair)

    def replace_headers(self, headers: list[tuple[str, str]]) -> None:
        self.headers = headers
        self._headers_owned = False


def checked_status(status: object) -> int:
    if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599:
        return status
    raise MalformedResult(f"status must be an int from 100 to 599, not {status!r}")


def checked_headers(headers: object) -> list[tuple[str, str]] | None:
    """``headers`` as a handler may give them: None, or a list/tuple (checked when encoded)."""
    if headers is None:
        return None
    if isinstance(headers, list):
        return headers
    if isinstance(headers, tuple):
        return list(headers)
    raise MalformedResult(f"headers must be a list of (name, value) pairs, not {type(headers).__name__}")


def outcome_of(result: object) -> Outcome:
    """The response a handler's return value describes; raises ``MalformedResult``."""
    if not isinstance(result, tuple):
        return Outcome(200, result, None)
    size = len(result)
    if size == 2:
        return Outcome(checked_status(result[0]), result[1], None)
    if size == 3:
        return Outcome(checked_status(result[0]), result[1], checked_headers(result[2]))
    raise MalformedResult(f"a response tuple has 2 or 3 items, not {size}")


def encode_text(text: str) -> bytes:
    """UTF-8; a lone surrogate (which some servers put in decoded paths) becomes U+FFFD."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def encode(outcome: Outcome) -> tuple[bytes | None, ResponseHeaders]:
    """The body bytes of ``outcome`` (None for a body to stream) and its encoded headers.

    Raises ``MalformedResult`` for header entries that are not pairs.
    """
    body = outcome.body
    default_type = HTML_TYPE
    data: bytes | None
    if isinstance(body, str):
        data = encode_text(body)
    elif isinstance(body, bytes):
        data = body
    elif isinstance(body, (dict, list)):
        data = jsoncodec.dumps(body)
        default_type = JSON_TYPE
    elif isinstance(body, (bytearray, memoryview)):
        data = bytes(body)
    elif is_json_body(body):
        data = jsoncodec.dumps(body)
        default_type = JSON_TYPE
    elif hasattr(body, "__aiter__") or hasattr(body, "__iter__"):
        data = None
    else:
        data = encode_text(str(body))
    status = outcome.status
    if status < 200 or status == 204 or status == 304:
        data = b""
        length = NO_BODY
    else:
        length = STREAMED if data is None else len(data)
    try:
        headers = response_headers(outcome.headers, default_type, length)
    except ValueError as error:
        raise MalformedResult(str(error)) from None
    return data, headers


async def send_complete(send: Send, status: int, headers: ResponseHeaders, data: bytes, head: bool) -> None:
    """A response whose whole body is ``data``; for a HEAD request, its headers alone."""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else data})


async def send_text(send: Send, status: int, text: str, head: bool = False) -> None:
    """A plain response the framework itself makes (errors, 404)."""
    data = encode_text(text)
    await send_complete(send, status, response_headers(None, HTML_TYPE, len(data)), data, head)


_URL_SAFE: Final = "/%:@!$&'()*+,;=~"


def encode_location(location: str) -> str:
    """``location`` with non-ASCII and unsafe characters percent-encoded, existing escapes kept."""
    parts = urlsplit(location)
    netloc = parts.netloc
    if not netloc.isascii():
        try:
            netloc = netloc.encode("idna").decode("ascii")
        except UnicodeError:
            netloc = quote(netloc, safe=_URL_SAFE)
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            quote(parts.path, safe=_URL_SAFE),
            quote(parts.query, safe=_URL_SAFE + "?"),
            quote(parts.fragment, safe=_URL_SAFE + "?"),
        )
    )


def redirect(location: str, extra_headers: Headers | None = None) -> WithHeaders[str]:
    """A 302 response to ``location``, as a handler returns one."""
    headers = [("Location", encode_location(location))]
    if extra_headers:
        headers.extend(extra_headers)
    return 302, "", headers
