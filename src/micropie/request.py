"""The per-request object handlers and middleware see, and the context variable that holds it.

Rules:
- ``Request`` is a native class: the fields below are typed slots the compiled pipeline reads
  directly. Any other attribute set on a request (middleware's ``request.user``, the routing
  hints ``_route_handler``, ``_subapp``…) goes to a per-request dictionary and reads back as a
  normal attribute at run time. Type checkers see no catch-all ``__getattr__``, so a misspelt
  field is an error; typed code reads extras with ``attribute(name)``, which never raises.
- Work a request may never need is done lazily: ``headers`` and ``query_params`` are computed on
  first read and may also be replaced.
- ``body_params`` holds form fields only; a JSON body lives in ``_json`` and is read through
  ``json()``; the raw bytes of a buffered body are ``body``.
- ``query_params`` and ``body_params`` keep every value as sent, blank ones (``?n=``) included.
  Reading a value (``query()``, ``form()``, and binding handler parameters) takes the first one
  that is not blank: as in MicroPie, a blank value counts as absent.
- A request starts from what an outer layer put in the scope, as in MicroPie: ``body_params``,
  ``json_body``, ``files``, ``session`` and ``body_parsed`` (a micropie app mounting this one
  passes its parsed body and session that way; a session middleware passes ``session``).
- ``current_request`` is a context variable, so concurrent requests never see each other.
"""

import asyncio
from contextvars import ContextVar
from typing import Any, Final, TypedDict

from micropie.asgi import RawHeaders, Scope
from micropie.body import parse_urlencoded
from micropie.headers import decode_headers

_NO_HEADERS: Final[RawHeaders] = ()

# Attributes with a slot (or a property) on the class; every other name is an extra.
_OWN_ATTRIBUTES: Final = frozenset(
    {
        "scope",
        "method",
        "path_params",
        "body_params",
        "session",
        "files",
        "body_parsed",
        "body",
        "headers",
        "query_params",
        "_json",
        "_regenerate_session",
        "_headers",
        "_query_params",
        "_extras",
    }
)


def _dict_in(scope: Scope, key: str) -> dict[Any, Any]:
    value = scope.get(key)
    return value if isinstance(value, dict) else {}


def first_filled(values: list[str] | None) -> str | None:
    """The first value that is not blank, or None: a blank value (``?n=``) counts as absent."""
    if values:
        for value in values:
            if value:
                return value
    return None


class UploadedFile(TypedDict):
    """A multipart file field: its queue yields ``bytes`` chunks and then ``None``."""

    filename: str
    content_type: str
    content: "asyncio.Queue[bytes | None]"


class Request:
    """An HTTP request as handlers and middleware see it."""

    scope: Scope
    method: str
    path_params: list[str]
    body_params: dict[str, list[str]]
    session: dict[str, Any]
    files: dict[str, UploadedFile]
    _json: object
    # Immutable fields start from class defaults: the constructor does not pay to set them
    # (as plain Python, each assignment here would go through __setattr__).
    body_parsed: bool = False
    body: bytes = b""
    _regenerate_session: bool = False
    _headers: dict[str, str] | None = None
    _query_params: dict[str, list[str]] | None = None
    _extras: dict[str, object] | None = None

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.method = scope.get("method", "")
        self.path_params = []
        self.body_params = {}
        self.session = {}
        self.files = {}
        self._json = {}
        # Membership tests, the cheapest way to learn that a server's scope carries none.
        if (
            "session" in scope
            or "body_parsed" in scope
            or "body_params" in scope
            or "json_body" in scope
            or "files" in scope
        ):
            self._adopt(scope)

    def _adopt(self, scope: Scope) -> None:
        # What an outer layer already has comes in the scope under MicroPie's keys (see the
        # rules); its objects are shared, not copied, so changes reach their owner.
        self.body_params = _dict_in(scope, "body_params")
        self.session = _dict_in(scope, "session")
        self.files = _dict_in(scope, "files")
        self._json = scope.get("json_body", {})
        self.body_parsed = bool(scope.get("body_parsed"))

    def __setattr__(self, name: str, value: object) -> None:
        if name in _OWN_ATTRIBUTES:
            object.__setattr__(self, name, value)
            return
        extras = self._extras
        if extras is None:
            extras = {}
            self._extras = extras
        extras[name] = value

    def _read_extra(self, name: str) -> object:
        # Installed as __getattr__ below: only reached for names the class does not define.
        extras = self._extras
        if extras is not None and name in extras:
            return extras[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        extras = self._extras
        if name in _OWN_ATTRIBUTES or extras is None or name not in extras:
            raise AttributeError(f"cannot delete attribute {name!r}")
        del extras[name]

    def attribute(self, name: str) -> object | None:
        """An attribute set on this request beyond its fields (e.g. by middleware), or None."""
        extras = self._extras
        return None if extras is None else extras.get(name)

    @property
    def headers(self) -> dict[str, str]:
        """Request headers by lower-case name; repeated headers joined."""
        headers = self._headers
        if headers is None:
            raw: RawHeaders = self.scope.get("headers", _NO_HEADERS)
            headers = decode_headers(raw)
            self._headers = headers
        return headers

    @headers.setter
    def headers(self, value: dict[str, str]) -> None:
        self._headers = value

    @property
    def query_params(self) -> dict[str, list[str]]:
        """Query string parameters: name → every value, in order."""
        query = self._query_params
        if query is None:
            query_string: bytes = self.scope.get("query_string", b"")
            query = parse_urlencoded(query_string) if query_string else {}
            self._query_params = query
        return query

    @query_params.setter
    def query_params(self, value: dict[str, list[str]]) -> None:
        self._query_params = value

    def query(self, name: str, default: str | None = None) -> str | None:
        """The first non-blank value of query parameter ``name``, or ``default``."""
        value = first_filled(self.query_params.get(name))
        return default if value is None else value

    def form(self, name: str, default: str | None = None) -> str | None:
        """The first non-blank value of form field ``name``, or ``default``."""
        value = first_filled(self.body_params.get(name))
        return default if value is None else value

    def json(self, name: str | None = None, default: Any = None) -> Any:
        """The parsed JSON body (``{}`` without one), or its top-level key ``name``.

        With ``name``, ``default`` is returned when the key is missing or the body is not an
        object.
        """
        if name is None:
            return self._json
        document = self._json
        if isinstance(document, dict):
            return document.get(name, default)
        return default

    def regenerate_session(self) -> None:
        """Give the session a new id when the request ends, keeping its data."""
        self._regenerate_session = True


# Installed after the class body so that type checkers do not see a catch-all __getattr__ and
# still report misspelt reads (``request.sesion``); typed code reads extras with attribute().
setattr(Request, "__getattr__", Request._read_extra)


class WebSocketRequest(Request):
    """The request of a WebSocket connection."""


current_request: ContextVar[Request] = ContextVar("current_request")
