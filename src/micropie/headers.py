"""Header decoding on the way in, header assembly and sanitising on the way out.

Rules:
- Request header names compare case-insensitively. Values decode so that no byte sequence a
  client sends can raise: UTF-8 with replacement for the ``headers`` handlers read, latin-1 (one
  character per byte, and fast) for the few the pipeline reads itself, whose meaningful values
  are ASCII. Repeated headers join with ", ", except ``cookie`` headers, which join with "; "
  (HTTP/2 clients split cookies into several headers).
- A response header is sent only if its name is an RFC 9110 token and its value has no control
  character other than tab and encodes as latin-1; anything else is dropped and logged, never
  sent and never raised, so a handler cannot inject headers or crash the server's encoder.
- A handler-supplied Content-Type replaces the default (never two); the framework computes
  Content-Length itself for a non-streamed body, so a handler's own is dropped there. A 1xx,
  204 or 304 response has no body and no Content-Length (RFC 9110 forbids one on 1xx and 204).
- The caller's header list is never modified.
"""

import logging
import re
from collections.abc import Sequence
from typing import Final

from micropie.asgi import RawHeaders, ResponseHeaders

logger: Final = logging.getLogger("micropie")

CONTENT_TYPE: Final = b"content-type"
CONTENT_LENGTH: Final = b"content-length"
HTML_TYPE: Final = (CONTENT_TYPE, b"text/html; charset=utf-8")
JSON_TYPE: Final = (CONTENT_TYPE, b"application/json")

_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FORBIDDEN_IN_VALUE: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

# body_length values of response_headers for responses without a complete body.
STREAMED: Final = -1
NO_BODY: Final = -2

_LENGTH_CACHE_SIZE: Final = 4096
_length_headers: Final[list[tuple[bytes, bytes]]] = [
    (CONTENT_LENGTH, str(n).encode("ascii")) for n in range(_LENGTH_CACHE_SIZE)
]


def content_length(size: int) -> tuple[bytes, bytes]:
    """The Content-Length pair for a body of ``size`` bytes (small sizes are prebuilt)."""
    if size < _LENGTH_CACHE_SIZE:
        return _length_headers[size]
    return (CONTENT_LENGTH, str(size).encode("ascii"))


class RequestHead:
    """The request headers the pipeline itself reads, found in one pass (``scan_head``)."""

    def __init__(self) -> None:
        self.cookie: str | None = None
        self.content_length: str | None = None
        self.content_type: str | None = None
        self.transfer_encoding: str | None = None


def _joined(previous: str | None, value: bytes | bytearray, separator: str) -> str:
    text = value.decode("latin-1")
    return text if previous is None else previous + separator + text


def scan_head(raw: RawHeaders) -> RequestHead:
    """Cookie, Content-Length, Content-Type and Transfer-Encoding, in one pass over ``raw``."""
    head = RequestHead()
    for pair in raw:
        key = pair[0]
        size = len(key)
        if size == 6:
            if key == b"cookie" or key.lower() == b"cookie":
                head.cookie = _joined(head.cookie, pair[1], "; ")
        elif size == 14:
            if key == b"content-length" or key.lower() == b"content-length":
                head.content_length = _joined(head.content_length, pair[1], ", ")
        elif size == 12:
            if key == b"content-type" or key.lower() == b"content-type":
                head.content_type = _joined(head.content_type, pair[1], ", ")
        elif size == 17:
            if key == b"transfer-encoding" or key.lower() == b"transfer-encoding":
                head.transfer_encoding = _joined(head.transfer_encoding, pair[1], ", ")
    return head


def header_value(raw: RawHeaders, name: bytes, separator: str = ", ") -> str | None:
    """The value of request header ``name`` (lower-case), repeated values joined, or None."""
    found: str | None = None
    width = len(name)
    for pair in raw:
        key = pair[0]
        if len(key) == width and (key == name or key.lower() == name):
            found = _joined(found, pair[1], separator)
    return found


def decode_headers(raw: RawHeaders) -> dict[str, str]:
    """All request headers by lower-case name, repeated values joined."""
    headers: dict[str, str] = {}
    for pair in raw:
        name = bytes(pair[0]).decode("latin-1").lower()
        value = bytes(pair[1]).decode("utf-8", "replace")
        previous = headers.get(name)
        if previous is None:
            headers[name] = value
        else:
            headers[name] = previous + ("; " if name == "cookie" else ", ") + value
    return headers


def parse_cookies(header: str) -> dict[str, str]:
    """Cookie name → value from a Cookie header; the first occurrence of a name wins."""
    cookies: dict[str, str] = {}
    for item in header.split(";"):
        name, sep, value = item.partition("=")
        if sep:
            name = name.strip()
            if name and name not in cookies:
                cookies[name] = value.strip()
    return cookies


def encode_header(name: object, value: object) -> tuple[bytes, bytes] | None:
    """One header as ASGI sends it (lower-case name, latin-1), or None if it is unsafe (logged)."""
    if not isinstance(name, str) or _TOKEN.fullmatch(name) is None:
        logger.warning("Rejected response header with an invalid name: %r", name)
        return None
    text = value if isinstance(value, str) else str(value)
    if _FORBIDDEN_IN_VALUE.search(text) is not None:
        logger.warning("Rejected response header %r: its value contains CR, LF or a control character", name)
        return None
    try:
        return (name.lower().encode("ascii"), text.encode("latin-1"))
    except UnicodeEncodeError:
        logger.warning("Rejected response header %r: its value is not latin-1 encodable", name)
        return None


def response_headers(
    extra: Sequence[object] | None,
    default_type: tuple[bytes, bytes],
    body_length: int,
) -> ResponseHeaders:
    """Encoded response headers: sanitised ``extra``, the content type, and the length.

    ``body_length`` is the size of a complete body, ``STREAMED`` for a streamed one (no length)
    or ``NO_BODY`` for a status that has none (no length, and a handler's own is dropped).
    Raises ``ValueError`` for an entry that is not a (name, value) pair: that is a malformed
    handler result, not a header to drop.
    """
    if not extra:
        if body_length < 0:
            return [default_type]
        return [default_type, content_length(body_length)]
    encoded: ResponseHeaders = []
    content_type: tuple[bytes, bytes] | None = None
    for entry in extra:
        if not isinstance(entry, (tuple, list)) or len(entry) != 2:
            raise ValueError(f"response header entry is not a (name, value) pair: {entry!r}")
        pair = encode_header(entry[0], entry[1])
        if pair is None:
            continue
        if pair[0] == CONTENT_TYPE:
            content_type = pair
        elif pair[0] == CONTENT_LENGTH and body_length != STREAMED:
            continue
        else:
            encoded.append(pair)
    encoded.append(default_type if content_type is None else content_type)
    if body_length >= 0:
        encoded.append(content_length(body_length))
    return encoded
