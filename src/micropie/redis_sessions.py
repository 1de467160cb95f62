"""Sessions kept in Redis, so that every worker process on every machine serves every client.

Rules:
- Built on ``redis.asyncio`` (the ``redis`` extra). One key per session,
  ``<prefix><session id>``, holding the session as a JSON object; never pickle, so a store an
  attacker can write to cannot make the application run code.
- Only JSON's own types are stored: ``dict`` with ``str`` keys, ``list``, ``str``, ``int``,
  finite ``float``, ``bool`` and ``None``, nested no deeper than jsoncodec reads back. A
  session holding anything else (a ``set``, a ``tuple``, a ``datetime``: JSON would change or
  refuse it) is not saved: ``save`` raises ``TypeError`` naming the top-level key, and that
  request is a 500.
- Data under a key that is not a JSON object (corrupted, or written by something else) loads as
  an empty session and is logged; it never fails the request.
- Expiry is Redis's own TTL, sliding: a request that uses its session reads it with
  ``GETEX … EX <timeout>``, renewing it in the same command, and an unchanged session is not
  written back. So a request that only reads its session costs one command, one that changes it
  two (``GETEX``, ``SET … EX``), one that empties it two (``GETEX``, ``DEL``); regenerating
  a session's id costs one more (the old key's ``DEL``). No cookie, no command.
- Every command is bounded by ``timeout`` seconds, connecting included. Redis unreachable, too
  slow or failing makes that request a 503 ("Session store unavailable"), logged; the client
  reconnects by itself on a later request once Redis is back.
- The client is made on first use, not at construction (so an app can be built before any event
  loop runs) and closed by ``close()``, which the application calls at lifespan shutdown. A
  client passed in is the caller's: ``close()`` leaves it open.
"""

import asyncio
import logging
import math
from collections.abc import Awaitable
from typing import Any, Final, TypeVar

from micropie import jsoncodec
from micropie.errors import HTTPError
from micropie.sessions import SessionBackend

try:
    import redis.asyncio as redis
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover - exercised in a fresh interpreter by the tests
    raise ImportError(
        "RedisSessionBackend needs the redis package: pip install redis"
    ) from None

logger: Final = logging.getLogger("micropie")

DEFAULT_URL: Final = "redis://127.0.0.1:6379/0"
DEFAULT_PREFIX: Final = "micropie:session:"
DEFAULT_TIMEOUT: Final = 3.0

# A little under 4300 decimal digits' worth, the longest integer jsoncodec reads back.
_MOST_INTEGER_BITS: Final = 14_000

_Result = TypeVar("_Result")


def _unsupported(value: object) -> str | None:
    """What inside ``value`` JSON cannot store exactly, or None if nothing.

    ``value`` sits one level inside the session's object, so its containers may nest one level
    less deep than jsoncodec reads back.
    """
    pending: list[tuple[object, int]] = [(value, 2)]
    while pending:
        item, depth = pending.pop()
        if item is None or isinstance(item, (str, bool)):
            continue
        if isinstance(item, int):
            # JSON readers refuse integers past 4300 characters (see jsoncodec).
            if item.bit_length() > _MOST_INTEGER_BITS:
                return "an int too long for JSON readers"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"the float {item!r}, which JSON cannot store"
        elif isinstance(item, (list, dict)) and depth > jsoncodec.MAX_DEPTH:
            return f"lists or dicts nested more than {jsoncodec.MAX_DEPTH} deep"
        elif isinstance(item, list):
            pending.extend((nested, depth + 1) for nested in item)
        elif isinstance(item, dict):
            for key, nested in item.items():
                if not isinstance(key, str):
                    return f"a dict with a {type(key).__name__} key; JSON object keys are strings"
                pending.append((nested, depth + 1))
        else:
            return f"a {type(item).__name__} value JSON cannot store exactly"
    return None


def encode_session(data: dict[str, Any]) -> bytes:
    """``data`` as a JSON object; ``TypeError`` naming the key whose value JSON cannot hold."""
    for key, value in data.items():
        if not isinstance(key, str):
            raise TypeError(f"session key {key!r} is not a string; JSON object keys are strings")
        problem = _unsupported(value)
        if problem is not None:
            raise TypeError(
                f"session key {key!r} holds {problem}; keep dicts, lists, strings, numbers, "
                "booleans and None in sessions"
            )
    return jsoncodec.dumps(data)


class RedisSessionBackend(SessionBackend):
    """Sessions in Redis: shared by every worker and machine that uses the same Redis."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        prefix: str = DEFAULT_PREFIX,
        timeout: float = DEFAULT_TIMEOUT,
        client: "redis.Redis | None" = None,
    ) -> None:
        """``url`` names the Redis server and database (``redis://host:port/db``, ``rediss://``
        for TLS, credentials as in ``redis://user:password@host``); ``prefix`` starts every key;
        ``timeout`` bounds each command, connecting included, in seconds. ``client``, a
        ``redis.asyncio.Redis`` of your own, replaces ``url``."""
        super().__init__()
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        self.renews_on_load = True
        self.url = url
        self.prefix = prefix
        self.timeout = float(timeout)
        self._client = client
        self._owns_client = client is None

    def _redis(self) -> "redis.Redis":
        client = self._client
        if client is None:
            client = redis.Redis.from_url(
                self.url, socket_connect_timeout=self.timeout, socket_timeout=self.timeout
            )
            self._client = client
        return client

    async def _run(self, command: Awaitable[_Result]) -> _Result:
        try:
            async with asyncio.timeout(self.timeout):
                return await command
        except (RedisError, OSError, TimeoutError) as error:
            logger.error("Session store unavailable (%s): %s", self.url, error or type(error).__name__)
            raise HTTPError(503, "Session store unavailable") from None

    def _decoded(self, session_id: str, raw: object) -> dict[str, Any]:
        if raw is None:
            return {}
        try:
            document = jsoncodec.loads(bytes(raw)) if isinstance(raw, (bytes, bytearray)) else None
        except ValueError:
            document = None
        if isinstance(document, dict):
            return document
        logger.warning("Session %s… in Redis is not a JSON object; it is treated as empty", session_id[:8])
        return {}

    async def load(self, session_id: str) -> dict[str, Any]:
        raw: object = await self._run(self._redis().get(self.prefix + session_id))
        return self._decoded(session_id, raw)

    async def load_and_renew(self, session_id: str, timeout: int) -> dict[str, Any]:
        raw: object = await self._run(self._redis().getex(self.prefix + session_id, ex=timeout))
        return self._decoded(session_id, raw)

    async def save(self, session_id: str, data: dict[str, Any], timeout: int) -> None:
        key = self.prefix + session_id
        if not data or timeout <= 0:
            await self._run(self._redis().delete(key))
            return
        payload = encode_session(data)
        await self._run(self._redis().set(key, payload, ex=timeout))

    async def close(self) -> None:
        client = self._client
        if client is not None and self._owns_client:
            self._client = None
            await client.aclose()
