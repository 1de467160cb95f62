"""The per-request object handlers and middleware see, and the context variable that holds it.

Rules:
- ``Request`` is a native class: the fields below are typed slots the compiled pipeline reads
  directly. Any other attribute set on a request (middleware's ``request.user``, the routing
  hints ``_route_handler``, ``_subapp``…) goes to a per-request dictionary and reads back as a
  normal attribute at run time. Type checkers see no catch-all ``__getattr__``, so a misspelt
  field is an error; typed code reads extras with ``attribute(name)``, which never raises.
- Every public attribute may be assigned, as in MicroPie, and the assignment is checked: a
  value of the documented type is kept as it is (the same object, so later changes reach the
  request); a value MicroPie also works with is converted (a tuple or other sequence of path
  segments becomes a list, a mapping a dict, ``bytearray`` bytes, anything truthy or not a
  ``body_parsed`` bool; ``None`` resets ``path_params``, ``body_params``, ``session``,
  ``files``, ``headers`` and ``query_params`` to what the request had not yet made); anything
  else raises ``TypeError`` naming the attribute, which makes the request a logged 500. The
  pipeline reads only the private fields the setters fill, so what it reads has its type, in
  both modes: compiled code never holds a value of the wrong type (it would not be checked, and
  could crash the process). Items of ``path_params`` may be any objects: they are bound as
  they are, converted as a JSON value would be for an annotated parameter.
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
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, Final, TypedDict, cast

from micropie.asgi import RawHeaders, Scope
from micropie.urlencoded import parse_urlencoded
from micropie.headers import decode_headers

_NO_HEADERS: Final[RawHeaders] = ()

class _NoJson:
    def __repr__(self) -> str:
        return "<no JSON body>"


# ``Request._json`` when the body was not JSON.
NO_JSON: Final = _NoJson()

# The scope keys under which an outer layer passes what it already has (MicroPie's names; see
# the rules), and the one under which a mounting micropie app passes every file by name.
BODY_PARAMS_KEY: Final = "body_params"
JSON_BODY_KEY: Final = "json_body"
FILES_KEY: Final = "files"
SESSION_KEY: Final = "session"
BODY_PARSED_KEY: Final = "body_parsed"
ALL_FILES_KEY: Final = "micropie.all_files"

def first_filled(values: list[str] | None) -> str | None:
    """The first value that is not blank, or None: a blank value (``?n=``) counts as absent."""
    if values:
        for value in values:
            if value:
                return value
    return None


def all_filled(values: list[str] | None) -> list[str] | None:
    """The values that are not blank, or None if there are none (see ``first_filled``)."""
    if values:
        filled = [value for value in values if value]
        if filled:
            return filled
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


def _unusable(name: str, expected: str, value: object) -> TypeError:
    return TypeError(f"request.{name} must be {expected}, not {type(value).__name__}")


def _as_dict(name: str, expected: str, value: object) -> dict[Any, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, Mapping):
        return dict(value)
    raise _unusable(name, expected, value)


def checked_scope(value: object) -> dict[str, Any]:
    return _as_dict("scope", "a dict (an ASGI scope)", value)


def checked_method(value: object) -> str:
    if isinstance(value, str):
        return value
    raise _unusable("method", "a str", value)


def checked_body(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise _unusable("body", "bytes", value)


def checked_segments(value: object) -> list[Any] | None:
    """Path segments as binding reads them: a list of any objects, or None (none set)."""
    if value is None or isinstance(value, list):
        return value
    if isinstance(value, Sequence):
        return list(value)
    raise _unusable("path_params", "a list (or another sequence) of path segments", value)


def checked_fields(name: str, value: object) -> dict[str, list[str]] | None:
    """Query or form fields: every name a str, every value a list of str (a tuple is copied)."""
    if value is None:
        return None
    expected = "a dict of lists of str"
    fields = _as_dict(name, expected, value)
    copy = False
    for key, values in fields.items():
        if not isinstance(key, str) or not isinstance(values, (list, tuple)):
            raise _unusable(name, expected, value)
        for item in values:
            if not isinstance(item, str):
                raise _unusable(name, expected, value)
        copy = copy or isinstance(values, tuple)
    return {key: list(values) for key, values in fields.items()} if copy else fields


def checked_session(value: object) -> dict[str, Any] | None:
    return None if value is None else _as_dict("session", "a dict", value)


def checked_files(value: object) -> dict[str, UploadedFile] | None:
    if value is None:
        return None
    expected = "a dict of uploaded files (dicts) by field name"
    files = _as_dict("files", expected, value)
    for key, upload in files.items():
        if not isinstance(key, str) or not isinstance(upload, dict):
            raise _unusable("files", expected, value)
    return files


def checked_headers(value: object) -> dict[str, str] | None:
    if value is None:
        return None
    expected = "a dict of str to str"
    headers = _as_dict("headers", expected, value)
    for key, text in headers.items():
        if not isinstance(key, str) or not isinstance(text, str):
            raise _unusable("headers", expected, value)
    return headers


def _checked_query_params(value: object) -> object:
    return checked_fields("query_params", value)


def _checked_body_params(value: object) -> object:
    return checked_fields("body_params", value)


class Request:
    """An HTTP request as handlers and middleware see it.

    Fields: ``scope`` (the ASGI scope the server passed), ``method`` (``"GET"``…), ``body``
    (the raw bytes of a body read whole; empty for multipart, which streams), ``body_parsed``
    (the body has been read and parsed), and the properties below. Each may be assigned; a
    value the framework cannot use raises ``TypeError`` naming the attribute.
    """

    _scope: Scope
    _method: str
    # Everything else starts from a class default: the constructor does not pay to set it (as
    # plain Python, each assignment goes through __setattr__). The containers behind
    # ``path_params``, ``body_params``, ``session`` and ``files`` are made on first use, so a
    # request that never touches one allocates nothing for it; the pipeline reads the private
    # fields, where None means empty.
    _body_parsed: bool = False
    _body: bytes = b""
    _regenerate_session: bool = False
    # Segments from the path are str; a middleware may set any objects (see the rules). Any,
    # not object: the router stores its list[str] here without a copy.
    _path_params: list[Any] | None = None
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
        self._scope = scope
        self._method = scope.get("method", "")
        # Membership tests, the cheapest way to learn that a server's scope carries none.
        if (
            SESSION_KEY in scope
            or BODY_PARSED_KEY in scope
            or BODY_PARAMS_KEY in scope
            or JSON_BODY_KEY in scope
            or FILES_KEY in scope
        ):
            self._adopt(scope)

    def _adopt(self, scope: Scope) -> None:
        # What an outer layer already has comes in the scope under MicroPie's keys (see the
        # rules); its objects are shared, not copied, so changes reach their owner. They are
        # checked as an assignment would be: an outer layer is as untyped as a middleware.
        self._body_params = checked_fields("body_params", scope.get(BODY_PARAMS_KEY))
        self._session = checked_session(scope.get(SESSION_KEY))
        self._files = checked_files(scope.get(FILES_KEY))
        self._json = scope.get(JSON_BODY_KEY, NO_JSON)
        self._body_parsed = bool(scope.get(BODY_PARSED_KEY))
        all_files = scope.get(ALL_FILES_KEY)
        if isinstance(all_files, dict):
            self._all_files = all_files

    @property
    def scope(self) -> Scope:
        """The ASGI scope the server passed."""
        return self._scope

    @scope.setter
    def scope(self, value: Scope) -> None:
        self._scope = value

    @property
    def method(self) -> str:
        """The request method, e.g. ``"GET"``."""
        return self._method

    @method.setter
    def method(self, value: str) -> None:
        self._method = value

    @property
    def body(self) -> bytes:
        """The raw bytes of a body read whole; empty for multipart, which streams."""
        return self._body

    @body.setter
    def body(self, value: bytes) -> None:
        self._body = value

    @property
    def body_parsed(self) -> bool:
        """Whether the body has been read and parsed."""
        return self._body_parsed

    @body_parsed.setter
    def body_parsed(self, value: bool) -> None:
        self._body_parsed = value

    @property
    def path_params(self) -> list[str]:
        """The path segments after the handler's name, bound to positional parameters."""
        params = self._path_params
        if params is None:
            params = []
            self._path_params = params
        # Only an untyped middleware puts other objects here (see the rules).
        return cast("list[str]", params)

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
        # Every write from Python code comes here (compiled code sets fields directly): the one
        # place to check what an untyped app assigns before a typed field holds it.
        if name in _FIELDS:
            check = _FIELDS[name]
            object.__setattr__(self, name, value if check is None else check(value))
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
        if name in _FIELDS or extras is None or name not in extras:
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
            raw: RawHeaders = self._scope.get("headers", _NO_HEADERS)
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
            query_string: bytes = self._scope.get("query_string", b"")
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

    def _add_upload(self, name: str, upload: UploadedFile) -> None:
        """Keep a file uploaded under ``name``: the first is ``files[name]``, every one is kept."""
        all_files = self._all_files
        if all_files is None:
            all_files = {}
            self._all_files = all_files
        uploads = all_files.get(name)
        if uploads is None:
            self.files.setdefault(name, upload)
            all_files[name] = [upload]
        else:
            uploads.append(upload)

    def regenerate_session(self) -> None:
        """Give the session a new id when the request ends, keeping its data."""
        self._regenerate_session = True


# Every attribute the class defines, with the check a write from Python code gets (None: a
# private field, written by the pipeline, whose type compiled code checks on assignment).
# Every other name is an extra.
_FIELDS: Final[dict[str, Callable[[object], object] | None]] = {
    "scope": checked_scope,
    "method": checked_method,
    "body": checked_body,
    "body_parsed": bool,
    "path_params": checked_segments,
    "query_params": _checked_query_params,
    "body_params": _checked_body_params,
    "session": checked_session,
    "files": checked_files,
    "headers": checked_headers,
    "_scope": None,
    "_method": None,
    "_body": None,
    "_body_parsed": None,
    "_json": None,
    "_regenerate_session": None,
    "_headers": None,
    "_query_params": None,
    "_extras": None,
    "_all_files": None,
    "_path_params": None,
    "_body_params": None,
    "_session": None,
    "_files": None,
}


# Installed after the class body so that type checkers do not see a catch-all __getattr__ and
# still report misspelt reads (``request.sesion``); typed code reads extras with attribute().
setattr(Request, "__getattr__", Request._read_extra)


class WebSocketRequest(Request):
    """The request of a WebSocket connection."""


current_request: ContextVar[Request] = ContextVar("current_request")
