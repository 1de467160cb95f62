"""The per-request object handlers and middleware see, and the context variable that holds it.

Rules:
- ``Request`` is a native class: the fields below are typed slots the compiled pipeline reads
  directly. Any other attribute set on a request (middleware's ``request.user``, the routing
  hints ``_route_handler``, ``_subapp``…) goes to a per-request dictionary and reads back as a
  normal attribute at run time. Type checkers see no catch-all ``__getattr__``, so a misspelt
  field is an error; typed code reads extras with ``attribute(name)``, which never raises.
- Work a request may never need is done lazily: ``headers`` and ``query_params`` are computed on
  first read, and the containers ``path_params``, ``body_params``, ``session`` and ``files``
  are made on first read; all may also be replaced. Framework code reads the private fields
  behind them (None: empty), so it never makes a container just to find it empty.
- ``body_params`` holds form fields only; a JSON body lives in ``_json`` and is read through
  ``json()``; the raw bytes of a buffered body are ``body``.
- ``query_params`` and ``body_params`` keep every value as sent, blank ones (``?n=``) included.
  Reading a value (``query()``, ``form()``, and binding handler parameters) takes the first one
  that is not blank: as in MicroPie, a blank value counts as absent.
- ``files`` maps each field name to its first file, MicroPie's shape; ``all_files(name)`` gives
  every file uploaded under the name, in order (a list parameter binds from it). Nothing
  uploaded is dropped.
- A request starts from what an outer layer put in the scope, as in MicroPie: ``body_params``,
  ``json_body``, ``files``, ``session`` and ``body_parsed`` (a micropie app mounting this one
  passes its parsed body and session that way, and every file under ``ALL_FILES_KEY``; a
  session middleware passes ``session``).
- ``current_request`` is a context variable, so concurrent requests never see each other.
"""

import asyncio
from contextvars import ContextVar
from typing import Any, Final, TypedDict

from micropie.asgi import RawHeaders, Scope
from micropie.body import parse_urlencoded
from micropie.headers import decode_headers

_NO_HEADERS: Final[RawHeaders] = ()

class _NoJson:
    def __repr__(self) -> str:
        return "<no JSON body>"


# ``Request._json`` when the body was not JSON.
NO_JSON: Final = _NoJson()

# The scope key under which a mounting micropie app passes every uploaded file by name.
ALL_FILES_KEY: Final = "micropie.all_files"

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
        "_all_files",
        "_path_params",
        "_body_params",
        "_session",
        "_files",
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
    """A multipart file field.

    ``filename`` is the name the client gave, ``content_type`` its type
    (``application/octet-stream`` if none was given), and ``content`` a queue that yields
    ``bytes`` chunks and then ``None``. Reading it raises ``MultipartFileError`` if the upload
    failed before the end.
    """

    filename: str
    content_type: str
    content: "asyncio.Queue[bytes | None]"


class Request:
    """An HTTP request as handlers and middleware see it.

    Fields: ``scope`` (the ASGI scope the server passed), ``method`` (``"GET"``…), ``body``
    (the raw bytes of a body read whole; empty for multipart, which streams), ``body_parsed``
    (the body has been read and parsed), and the properties below.
    """

    scope: Scope
    method: str
    # Everything else starts from a class default: the constructor does not pay to set it (as
    # plain Python, each assignment goes through __setattr__). The containers behind
    # ``path_params``, ``body_params``, ``session`` and ``files`` are made on first use, so a
    # request that never touches one allocates nothing for it; the pipeline reads the private
    # fields, where None means empty.
    body_parsed: bool = False
    body: bytes = b""
    _regenerate_session: bool = False
    _path_params: list[str] | None = None
    _body_params: dict[str, list[str]] | None = None
    _session: dict[str, Any] | None = None
    _files: dict[str, UploadedFile] | None = None
    # The parsed JSON body, or NO_JSON (a body may be JSON ``null``).
    _json: object = NO_JSON
    _headers: dict[str, str] | None = None
    _query_params: dict[str, list[str]] | None = None
    _extras: dict[str, object] | None = None
    # Every file by field name, once a name has received one (files[name] is the first).
    _all_files: dict[str, list[UploadedFile]] | None = None

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.method = scope.get("method", "")
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
        self._body_params = _dict_in(scope, "body_params")
        self._session = _dict_in(scope, "session")
        self._files = _dict_in(scope, "files")
        self._json = scope.get("json_body", NO_JSON)
        self.body_parsed = bool(scope.get("body_parsed"))
        all_files = scope.get(ALL_FILES_KEY)
        if isinstance(all_files, dict):
            self._all_files = all_files

    @property
    def path_params(self) -> list[str]:
        """The path segments after the handler's name, bound to positional parameters."""
        params = self._path_params
        if params is None:
            params = []
            self._path_params = params
        return params

    @path_params.setter
    def path_params(self, value: list[str]) -> None:
        self._path_params = value

    @property
    def body_params(self) -> dict[str, list[str]]:
        """Form fields of an urlencoded or multipart body: name → every value, in order."""
        params = self._body_params
        if params is None:
            params = {}
            self._body_params = params
        return params

    @body_params.setter
    def body_params(self, value: dict[str, list[str]]) -> None:
        self._body_params = value

    @property
    def session(self) -> dict[str, Any]:
        """The session's data; saved when the request ends (see ``sessions``)."""
        session = self._session
        if session is None:
            session = {}
            self._session = session
        return session

    @session.setter
    def session(self, value: dict[str, Any]) -> None:
        self._session = value

    @property
    def files(self) -> dict[str, UploadedFile]:
        """Uploaded files by field name: the first file sent under each name."""
        files = self._files
        if files is None:
            files = {}
            self._files = files
        return files

    @files.setter
    def files(self, value: dict[str, UploadedFile]) -> None:
        self._files = value

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
        document = self._json
        if document is NO_JSON:
            document = {}
            self._json = document
        if name is None:
            return document
        if isinstance(document, dict):
            return document.get(name, default)
        return default

    def all_files(self, name: str) -> list[UploadedFile]:
        """Every file uploaded under field ``name``, in order (``[]`` if none).

        ``files[name]`` is the first of them. The list is a new one each call.
        """
        all_files = self._all_files
        if all_files is not None:
            uploads = all_files.get(name)
            if uploads is not None:
                return list(uploads)
        files = self._files
        upload = None if files is None else files.get(name)
        return [] if upload is None else [upload]

    def regenerate_session(self) -> None:
        """Give the session a new id when the request ends, keeping its data."""
        self._regenerate_session = True


# Installed after the class body so that type checkers do not see a catch-all __getattr__ and
# still report misspelt reads (``request.sesion``); typed code reads extras with attribute().
setattr(Request, "__getattr__", Request._read_extra)


class WebSocketRequest(Request):
    """The request of a WebSocket connection."""


current_request: ContextVar[Request] = ContextVar("current_request")
