"""The ASGI vocabulary every other module speaks.

Rules:
- A scope or message is an open dictionary: servers add keys the spec does not list (``state``,
  ``extensions``) and each key has its own value type, so the mapping is typed by key at the
  point of use, where the value is read into a typed local.
- Be tolerant of what real servers send: header pairs arrive as tuples or lists, and their
  items as ``bytes`` or ``bytearray``.
- The ``Mapping*`` names spell the same vocabulary as other ASGI libraries do (Starlette, httpx,
  asgi-lifespan): mutable mappings, which dicts satisfy. Whatever this package takes from or
  hands to them is typed with these, so an app wrapped in their middleware still type-checks.
- This is the one spelling of the vocabulary: the test clients and the benchmarks use it too.
"""

from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
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

MappingScope = MutableMapping[str, Any]
MappingMessage = MutableMapping[str, Any]
MappingReceive = Callable[[], Awaitable[MappingMessage]]
MappingSend = Callable[[MappingMessage], Awaitable[None]]
ASGIApplication = Callable[[MappingScope, MappingReceive, MappingSend], Awaitable[None]]
"""An ASGI application as the ecosystem types it: a micropie ``App``, or one wrapped in ASGI
middleware."""
