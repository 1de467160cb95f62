"""The ASGI vocabulary every other module speaks.

Rules:
- A scope or message is an open dictionary: servers add keys the spec does not list (``state``,
  ``extensions``) and each key has its own value type, so the mapping is typed by key at the
  point of use, where the value is read into a typed local.
- Be tolerant of what real servers send: header pairs arrive as tuples or lists, and their
  items as ``bytes`` or ``bytearray``.
"""

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

RawHeaders = Iterable[Sequence[bytes | bytearray]]
"""Request headers as a server sends them: (name, value) pairs of bytes."""

ResponseHeaders = list[tuple[bytes, bytes]]
"""Response headers as this package sends them: encoded, sanitised pairs."""
