"""Sessions: the backend interface, the in-memory backend, and a request's session life cycle.

Rules:
- The session id travels in the ``session_id`` cookie. Without a cookie the backend is not
  called at all; an id the validator rejects is treated as absent.
- Session values never bind to handler parameters (``binding`` does not read them).
- A session that was empty when the request started and is non-empty at its end gets a fresh
  server-made id, so a client can never choose its own (fixation); ``regenerate_session()`` asks
  for the same. The old id, if any, is deleted from the backend.
- The session is saved after ``after_request`` middleware, with ``session_timeout``; a session
  emptied during a request that came with a cookie is deleted (``save(id, {}, 0)``) and the
  cookie expired.
- ``SessionBackend`` is abstract (see ``abstract``): a subclass must implement ``load`` and
  ``save``, and one that calls ``super().__init__()`` cannot be made without them.
- ``InMemorySessionBackend`` honours each save's timeout, expires idle sessions, removes expired
  entries in amortised sweeps (at most one full sweep per ``cleanup_interval``), and holds at
  most ``max_sessions``, evicting the least recently used beyond that.
"""

import time
import uuid
from abc import abstractmethod
from collections.abc import Callable
from typing import Any, Final

from mypy_extensions import mypyc_attr

from micropie.abstract import require_overrides
from micropie.headers import set_cookie
from micropie.request import Request

SESSION_TIMEOUT: Final = 8 * 3600
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

    def __init__(self) -> None:
        require_overrides(self, SessionBackend, ("load", "save"))

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
        # A copy: changes reach the store only through save(), never by a failed request.
        return dict(stored.data)

    async def save(self, session_id: str, data: dict[str, Any], timeout: int) -> None:
        now = self._clock()
        self._sweep(now)
        sessions = self._sessions
        stored = sessions.pop(session_id, None)
        if not data or timeout <= 0:
            return
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


async def load_session(
    backend: SessionBackend, settings: SessionSettings, request: Request, cookies: dict[str, str]
) -> str | None:
    """Fill ``request.session`` from the backend; the accepted session id, or None."""
    session_id = settings.checked_id(cookies.get(SESSION_COOKIE))
    if session_id is not None:
        data = await backend.load(session_id)
        request.session = data if data else {}
    return session_id


async def save_session(
    backend: SessionBackend,
    settings: SessionSettings,
    request: Request,
    session_id: str | None,
    was_empty: bool,
) -> tuple[str, str] | None:
    """Persist ``request.session`` at the end of a request; the Set-Cookie header to send, if any."""
    data = request.session
    cookie: tuple[str, str] | None = None
    if data:
        if session_id is None or was_empty or request._regenerate_session:
            if session_id is not None:
                await backend.save(session_id, {}, 0)
            session_id = settings.fresh_id()
            cookie = set_cookie(SESSION_COOKIE, session_id, secure=settings.cookie_secure)
        await backend.save(session_id, data, settings.timeout)
    elif session_id is not None:
        await backend.save(session_id, {}, 0)
        if not was_empty:
            cookie = set_cookie(SESSION_COOKIE, "", secure=settings.cookie_secure, max_age=0)
    return cookie
