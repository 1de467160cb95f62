"""Sessions: the backend interface, the in-memory backend, and the session life cycle of a
request or WebSocket connection (``SessionCycle``).

Rules:
- The session id travels in the ``session_id`` cookie. Without a cookie the backend is not
  called at all; an id the validator rejects is treated as absent.
- Session values never bind to handler parameters (``binding`` does not read them).
- A request's session is loaded before the body is read (``SessionCycle.load``) and finished
  after ``after_request`` middleware (``SessionCycle.finish``), which saves what needs saving and
  returns the ``Set-Cookie`` header to send, if any. A WebSocket connection takes its id before
  the handler runs (its cookie goes out with ``accept()``) and is finished after
  ``after_websocket``. A mounted micropie app leaves its session to the parent's cycle.
- A session that was empty when the request started and is non-empty at its end gets a fresh
  server-made id, so a client can never choose its own (fixation); ``regenerate_session()`` asks
  for the same, and then the old id is deleted. An id whose session was empty holds nothing,
  so nothing is deleted for it.
- A non-empty session is saved with ``session_timeout``. A backend whose ``load_and_renew``
  renews the expiry itself (``renews_on_load``) is not asked to save a session that did not
  change (compared by its JSON encoding, which also sees changes inside nested values); every
  other backend saves it on every request, as MicroPie does. A session emptied during a request
  that brought one is deleted (``save(id, {}, 0)``) and its cookie expired.
- The cookie: ``session_id=<id>; Path=/; HttpOnly; SameSite=Lax``, plus ``Secure`` unless
  ``session_cookie_secure=False``; an expired one adds ``Max-Age=0``.
- A backend's ``load`` may return None or an empty dict for no session; anything else that is
  not a dict is a ``TypeError`` naming the backend (a logged 500).
- ``SessionBackend`` is abstract (see ``abstract``): a subclass must implement ``load`` and
  ``save``, and one that calls ``super().__init__()`` cannot be made without them. The optional
  ``load_and_renew`` and ``close`` have defaults, so a MicroPie backend works unchanged.
- ``InMemorySessionBackend`` honours each save's timeout, expires idle sessions, removes expired
  entries in amortised sweeps (at most one full sweep per ``cleanup_interval``), and holds at
  most ``max_sessions``, evicting the least recently used beyond that. What it stores shares
  nothing mutable with a request's session, either way (``load`` and ``save`` copy lists, dicts
  and other containers deeply), so changes reach the store only through ``save``, as with any
  real store: a request that appends to a list and then fails leaves the stored list as it was.
"""

import time
import uuid
from abc import abstractmethod
from copy import deepcopy
from collections.abc import Awaitable, Callable
from typing import Any, Final

from mypy_extensions import mypyc_attr

from micropie import jsoncodec
from micropie.abstract import require_overrides
from micropie.request import Request

SESSION_TIMEOUT: Final = 8 * 3600
"""The default ``session_timeout``: 8 hours, in seconds."""
SESSION_COOKIE: Final = "session_id"
_ACCEPTED_IDS_KEPT: Final = 4096

_VARIANTS: Final = frozenset("89ab")


def new_session_id() -> str:
    """A random session id: a UUIDv4 in canonical text form."""
    return str(uuid.uuid4())


def validate_session_id(value: str) -> str | None:
    """The canonical form of a UUIDv4 session id, or None if ``value`` is not one."""
    if len(value) != 36:
        return None
    canonical = value.lower()
    if (
        canonical[8] != "-"
        or canonical[13] != "-"
        or canonical[18] != "-"
        or canonical[23] != "-"
        or canonical[14] != "4"
        or canonical[19] not in _VARIANTS
    ):
        return None
    digits = canonical.replace("-", "")
    # isascii and isalnum rule out signs, "_" and other scripts, which int() would accept.
    if len(digits) != 32 or not digits.isascii() or not digits.isalnum():
        return None
    try:
        int(digits, 16)
    except ValueError:
        return None
    return canonical


@mypyc_attr(allow_interpreted_subclasses=True)
class SessionBackend:
    """Where session data lives between requests. Subclasses implement ``load`` and ``save``."""

    # True when ``load_and_renew`` renews the session's expiry, so that an unchanged session
    # need not be saved again. Set by the subclass's constructor.
    renews_on_load: bool = False

    def __init__(self) -> None:
        require_overrides(self, SessionBackend, ("load", "save"))

    async def load_and_renew(self, session_id: str, timeout: int) -> dict[str, Any]:
        """``load``, for a request that uses the session for another ``timeout`` seconds.

        Called instead of ``load`` only when ``renews_on_load`` is set: a backend that can renew
        the expiry in the same step overrides both. The default is ``load`` alone.
        """
        return await self.load(session_id)

    async def close(self) -> None:
        """Release connections; called at lifespan shutdown. The default does nothing."""

    @abstractmethod
    async def load(self, session_id: str) -> dict[str, Any]:
        """The data saved under ``session_id``, or an empty dict."""

    @abstractmethod
    async def save(self, session_id: str, data: dict[str, Any], timeout: int) -> None:
        """Keep ``data`` under ``session_id`` for ``timeout`` idle seconds; empty data or a
        timeout of 0 or less deletes the session."""


class _StoredSession:
    def __init__(self, data: dict[str, Any], timeout: float, expires_at: float) -> None:
        self.data = data
        self.timeout = timeout
        self.expires_at = expires_at


def _detached(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` that shares nothing mutable with it, so that a change to one (a list
    appended to by a request that then fails) never reaches the other. Scalars, which most
    sessions hold and nothing can change in place, are shared, not copied."""
    copy = dict(data)
    for key, value in data.items():
        # One check per type, each a pointer comparison when compiled.
        if not (isinstance(value, str) or isinstance(value, int) or isinstance(value, float) or value is None):
            copy[key] = deepcopy(value)
    return copy


@mypyc_attr(allow_interpreted_subclasses=True)
class InMemorySessionBackend(SessionBackend):
    """Sessions in this process's memory: for development and single-process servers."""

    def __init__(
        self,
        *,
        max_sessions: int = 100_000,
        cleanup_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``max_sessions``: the most sessions kept; beyond it the least recently used is
        dropped. ``cleanup_interval``: the least time, in seconds, between two sweeps that remove
        expired sessions. ``clock``: the time source, in seconds (tests pass their own)."""
        super().__init__()
        if max_sessions <= 0:
            raise ValueError("max_sessions must be positive")
        self.max_sessions = max_sessions
        self.cleanup_interval = cleanup_interval
        self._clock = clock
        self._sessions: dict[str, _StoredSession] = {}
        self._next_sweep = clock() + cleanup_interval

    def __len__(self) -> int:
        return len(self._sessions)

    @property
    def sessions(self) -> dict[str, dict[str, Any]]:
        """The data of every stored session by id, expired ones included until swept: a
        snapshot for inspection (as MicroPie's ``sessions``), not a way to change them."""
        return {session_id: stored.data for session_id, stored in self._sessions.items()}

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.cleanup_interval
        expired = [key for key, stored in self._sessions.items() if stored.expires_at <= now]
        for key in expired:
            del self._sessions[key]

    async def load(self, session_id: str) -> dict[str, Any]:
        now = self._clock()
        self._sweep(now)
        stored = self._sessions.pop(session_id, None)
        if stored is None:
            return {}
        if stored.expires_at <= now:
            return {}
        stored.expires_at = now + stored.timeout
        self._sessions[session_id] = stored  # most recently used last
        return _detached(stored.data)

    async def save(self, session_id: str, data: dict[str, Any], timeout: int) -> None:
        now = self._clock()
        self._sweep(now)
        sessions = self._sessions
        stored = sessions.pop(session_id, None)
        if not data or timeout <= 0:
            return
        data = _detached(data)
        if stored is None:
            stored = _StoredSession(data, timeout, now + timeout)
        else:
            stored.data = data
            stored.timeout = float(timeout)
            stored.expires_at = now + timeout
        sessions[session_id] = stored  # most recently used last
        while len(sessions) > self.max_sessions:
            del sessions[next(iter(sessions))]


class SessionSettings:
    """How an application issues and checks session ids."""

    def __init__(
        self,
        timeout: int,
        cookie_secure: bool,
        id_factory: Callable[[], str],
        id_validator: Callable[[str], str | None] | None,
    ) -> None:
        self.timeout = timeout
        self.cookie_secure = cookie_secure
        self.id_factory = id_factory
        self.id_validator = id_validator
        # Ids this application accepted recently, by the text that came in: a returning
        # client's cookie is checked once, not on every request. Cleared when full.
        self._accepted: dict[str, str] = {}

    def checked_id(self, value: str | None) -> str | None:
        """``value`` as a session id this application accepts, or None."""
        if not value:
            return None
        accepted = self._accepted.get(value)
        if accepted is not None:
            return accepted
        validator = self.id_validator
        if validator is None:
            return value
        checked = validator(value)
        if not isinstance(checked, str) or not checked:
            return None
        if len(self._accepted) >= _ACCEPTED_IDS_KEPT:
            self._accepted.clear()
        self._accepted[value] = checked
        return checked

    def fresh_id(self) -> str:
        session_id = self.checked_id(self.id_factory())
        if session_id is None:
            raise RuntimeError("session_id_factory made an id that session_id_validator rejects")
        return session_id


def default_session_settings() -> SessionSettings:
    """The settings an application has when none of its session options is given."""
    return SessionSettings(SESSION_TIMEOUT, True, new_session_id, validate_session_id)


def session_cookie(session_id: str, secure: bool) -> tuple[str, str]:
    """The Set-Cookie header that gives the client ``session_id``."""
    cookie = f"{SESSION_COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Lax"
    return ("Set-Cookie", cookie + "; Secure" if secure else cookie)


def expired_session_cookie(secure: bool) -> tuple[str, str]:
    """The Set-Cookie header that makes the client drop its session cookie."""
    cookie = f"{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
    return ("Set-Cookie", cookie + "; Secure" if secure else cookie)


class SessionCycle:
    """The session of one request or WebSocket connection, from load to save."""

    def __init__(self, backend: SessionBackend, settings: SessionSettings) -> None:
        self.backend = backend
        # Typed as what a MicroPie backend may return (anything; it is ignored): a call of the
        # typed method would have compiled code reject anything but None.
        self.save: Callable[[str, dict[str, Any], int], Awaitable[object]] = backend.save
        self.settings = settings
        # The id the client's cookie named, if this application accepts it.
        self.id: str | None = None
        self.was_empty = True
        # The loaded session's JSON encoding, kept only for a backend that renews on load.
        self.snapshot: bytes | None = None

    async def load(self, request: Request, cookies: dict[str, str]) -> None:
        """Fill ``request.session`` from the session the cookies name, if any."""
        session_id = self.settings.checked_id(cookies.get(SESSION_COOKIE))
        if session_id is None:
            return
        self.id = session_id
        backend = self.backend
        # Through references typed as what a backend may really return (see save): here None,
        # the usual "no session", must be looked at, not rejected.
        data: object
        if backend.renews_on_load:
            load_and_renew: Callable[[str, int], Awaitable[object]] = backend.load_and_renew
            data = await load_and_renew(session_id, self.settings.timeout)
        else:
            # The default load_and_renew is load: one coroutine fewer.
            load: Callable[[str], Awaitable[object]] = backend.load
            data = await load(session_id)
        if not data:
            return
        if not isinstance(data, dict):
            raise TypeError(f"{type(backend).__name__}.load returned a {type(data).__name__}, not a dict")
        if backend.renews_on_load:
            self.snapshot = jsoncodec.dumps(data)
        request._session = data
        self.was_empty = False

    def _changed(self, data: dict[str, Any]) -> bool:
        snapshot = self.snapshot
        if snapshot is None:
            return True
        try:
            return jsoncodec.dumps(data) != snapshot
        except TypeError:
            return True  # not JSON any more: the backend's save says why

    async def _save_fresh(self, data: dict[str, Any]) -> str:
        """Save ``data`` under a new id, deleting the old one if it held a session."""
        fresh = self.settings.fresh_id()
        await self.save(fresh, data, self.settings.timeout)
        old = self.id
        if old is not None and not self.was_empty:
            await self.save(old, {}, 0)
        return fresh

    async def finish(self, request: Request) -> tuple[str, str] | None:
        """Save what the request left in its session; the Set-Cookie header to send, if any."""
        data = request._session
        session_id = self.id
        if data:
            if session_id is None or self.was_empty or request._regenerate_session:
                fresh = await self._save_fresh(data)
                return session_cookie(fresh, self.settings.cookie_secure)
            if self._changed(data):
                await self.save(session_id, data, self.settings.timeout)
            return None
        if session_id is not None and not self.was_empty:
            await self.save(session_id, {}, 0)
            return expired_session_cookie(self.settings.cookie_secure)
        return None

    def connection_id(self) -> str:
        """The id a WebSocket connection's session will have: its own, or a fresh one for a new
        session (whose cookie ``accept()`` then sends)."""
        session_id = self.id
        if session_id is None or self.was_empty:
            return self.settings.fresh_id()
        return session_id

    async def finish_connection(self, request: Request, session_id: str, cookie_delivered: bool) -> None:
        """Save a WebSocket connection's session under ``session_id`` (the connection's, which
        ``accept(session_id=...)`` may have changed). A new session is kept only if its cookie
        reached the client."""
        data = request._session
        if data:
            if cookie_delivered and (session_id != self.id or self._changed(data)):
                await self.save(session_id, data, self.settings.timeout)
        elif self.id is not None and not self.was_empty:
            await self.save(self.id, {}, 0)
