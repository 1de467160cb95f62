"""All routing policy: which handler serves a request or a WebSocket connection, and the cache
that makes finding it cheap.

Rules:
- HTTP (``route_http``): the first path segment names the handler, ``/`` is ``index``; names
  starting with ``_`` or ``ws_`` are never reachable (404). An unknown name falls back to
  ``index`` only when ``index`` takes positional parameters (it then gets every segment).
  Middleware may name the handler with ``request._route_handler`` (no ``_``/``ws_`` check, no
  fallback) and preset ``request.path_params``. A name that is not a str is a ``TypeError``
  naming the attribute (a logged 500), never looked up.
- WebSocket (``route_websocket``): ``/chat`` is ``ws_chat``, ``/`` is ``ws_index``; a first
  segment starting with ``_`` is refused; ``request._ws_route_handler`` names the handler.
  A refusal is ``RouteRefused`` with the close reason.
- A route is a callable attached to the app instance, or one defined on the app's class: a
  function, a static or class method, a callable object, or a method-like descriptor
  (``functools.partialmethod``, ``functools.singledispatchmethod``), which is bound to the app
  on each call. Classes, properties and every other descriptor (``cached_property``…), and
  non-callable attributes (``middlewares``, ``request``…) are ``NOT_A_ROUTE``: the caller answers
  404 and never falls back to ``index``. A descriptor is never run to find out what it is. A
  name found nowhere is ``None``.
- Names are looked up without running descriptors: the instance's ``__dict__``, then the
  dictionaries along the class's MRO; attributes that exist only on the metaclass are not routes.
- Resolutions are cached per class, with their ``HandlerInfo``, under the identity of the
  attribute they were computed from; a replaced handler has a new identity and is resolved
  afresh on the next request. Names that resolve to nothing are never cached, so clients cannot
  grow the cache.
"""

import functools
import types
from collections.abc import Callable
from typing import Any, Final

from micropie.binding import HandlerInfo, handler_info
from micropie.errors import HTTPError
from micropie.request import Request

_MISSING: Final = object()


class Route:
    """A resolved handler: call ``function(app, *args)`` if ``takes_app``, else ``function(*args)``."""

    def __init__(self, function: Callable[..., Any], takes_app: bool, info: HandlerInfo) -> None:
        self.function = function
        self.takes_app = takes_app
        self.info = info


class _NotARoute:
    def __repr__(self) -> str:
        return "NOT_A_ROUTE"


NOT_A_ROUTE: Final = _NotARoute()

Resolution = Route | _NotARoute | None


class _Entry:
    def __init__(self, identity: object, resolution: Route | _NotARoute, descriptor: bool = False) -> None:
        # What the resolution was computed from: the value read from the class, or for a
        # method-like descriptor (a new bound object on every read) the descriptor itself.
        self.identity = identity
        self.resolution = resolution
        self.descriptor = descriptor


class _BindOnCall:
    """Calls a method-like descriptor bound to the app it is given first."""

    def __init__(self, descriptor: Any) -> None:
        self.descriptor = descriptor

    def __call__(self, app: object, *args: object, **kwargs: object) -> Any:
        return self.descriptor.__get__(app, type(app))(*args, **kwargs)


_class_entries: Final[dict[type, dict[str, _Entry]]] = {}
_attached_entries: Final[dict[type, dict[str, _Entry]]] = {}


def _static_lookup(cls: type, name: str) -> object:
    for klass in cls.__mro__:
        namespace = klass.__dict__
        if name in namespace:
            return namespace[name]
    return _MISSING


def _method_like(raw: object) -> bool:
    return isinstance(raw, (functools.partialmethod, functools.singledispatchmethod))


def _classify_descriptor(raw: object, bound: object) -> Route:
    """The route for a ``partialmethod`` or ``singledispatchmethod`` (``bound``: read from the class)."""
    if isinstance(raw, functools.singledispatchmethod):
        # Its parameters are those of the function it dispatches on (after ``self``).
        info = handler_info(raw.func, skip_first=True)
    else:
        # Read from the class, a partialmethod is a function inspect knows the signature of.
        info = handler_info(bound, skip_first=True)
    return Route(_BindOnCall(raw), True, info)


def _classify(raw: object, bound: object) -> Route | _NotARoute:
    """The route for class attribute ``raw`` (``bound`` is what reading it from the class gives)."""
    if isinstance(raw, types.FunctionType):
        return Route(raw, True, handler_info(raw, skip_first=True))
    if isinstance(raw, staticmethod):
        return Route(raw.__func__, False, handler_info(raw.__func__, skip_first=False))
    if isinstance(raw, classmethod) and callable(bound):
        return Route(bound, False, handler_info(bound, skip_first=False))
    if isinstance(raw, type) or hasattr(type(raw), "__get__") or not callable(raw):
        return NOT_A_ROUTE
    return Route(raw, False, handler_info(raw, skip_first=False))


def _store(table: dict[type, dict[str, _Entry]], cls: type, name: str, entry: _Entry) -> None:
    entries = table.get(cls)
    if entries is None:
        entries = {}
        table[cls] = entries
    entries[name] = entry


def _cached(table: dict[type, dict[str, _Entry]], cls: type, name: str, identity: object) -> _Entry | None:
    entries = table.get(cls)
    if entries is None:
        return None
    entry = entries.get(name)
    if entry is None or entry.identity is not identity:
        return None
    return entry


def _resolve_attached(cls: type, name: str, attached: object) -> Resolution:
    entry = _cached(_attached_entries, cls, name, attached)
    if entry is None:
        resolution: Route | _NotARoute = NOT_A_ROUTE
        if callable(attached):
            resolution = Route(attached, False, handler_info(attached, skip_first=False))
        entry = _Entry(attached, resolution)
        _store(_attached_entries, cls, name, entry)
    return entry.resolution


def _resolve_class_attribute(cls: type, name: str, bound: object, identity: object) -> Resolution:
    raw = _static_lookup(cls, name)
    if raw is _MISSING:
        return None
    if _method_like(raw):
        entry = _Entry(raw, _classify_descriptor(raw, bound), descriptor=True)
    else:
        entry = _Entry(identity, _classify(raw, bound))
    _store(_class_entries, cls, name, entry)
    return entry.resolution


def split_path(path: str) -> list[str]:
    """The segments of a request path: ``/greet/Ada`` → ``["greet", "Ada"]``, ``/`` → ``[]``."""
    stripped = path.lstrip("/")
    return stripped.split("/") if stripped else []


def resolve(app: object, namespace: dict[str, object] | None, name: str) -> Resolution:
    """The route ``name`` names on ``app``: a ``Route``, ``NOT_A_ROUTE`` or ``None``.

    ``namespace`` is the app instance's ``__dict__`` (None if it has none), which its owner
    keeps at hand rather than looking it up on every request.
    """
    cls = type(app)
    if namespace is not None and name in namespace:
        return _resolve_attached(cls, name, namespace[name])
    entries = _class_entries.get(cls)
    entry = None if entries is None else entries.get(name)
    if entry is not None and entry.descriptor and _static_lookup(cls, name) is entry.identity:
        return entry.resolution
    bound = getattr(cls, name, _MISSING)
    if bound is _MISSING:
        return None
    # A class method is bound anew on every read from the class; its function is stable.
    identity = bound.__func__ if isinstance(bound, types.MethodType) else bound
    if entry is not None and entry.identity is identity:
        return entry.resolution
    return _resolve_class_attribute(cls, name, bound, identity)


class RouteRefused(Exception):
    """No WebSocket handler for the connection; the reason closes it (code 1008)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _explicit_name(attribute: str, value: object) -> str:
    if isinstance(value, str):
        return value
    raise TypeError(f"request.{attribute} must be a str (a handler's name), not {type(value).__name__}")


def route_http(app: object, namespace: dict[str, object] | None, request: Request, path: str) -> Route:
    """The handler for an HTTP request to ``path``, with ``request.path_params`` set; 404 if none."""
    segments = split_path(path)
    explicit = request.attribute("_route_handler")
    if explicit is not None:
        name = _explicit_name("_route_handler", explicit)
    else:
        name = segments[0] if segments else "index"
        if name.startswith("_") or name.startswith("ws_"):
            raise HTTPError(404)
    route = resolve(app, namespace, name)
    if isinstance(route, Route):
        # Only when there are segments to set: the request already holds an empty list.
        if len(segments) > 1 and not request._path_params:
            request._path_params = segments[1:]
        return route
    if route is NOT_A_ROUTE or explicit is not None:
        raise HTTPError(404)
    index = resolve(app, namespace, "index")
    if isinstance(index, Route) and index.info.accepts_positional:
        request._path_params = segments
        return index
    raise HTTPError(404)


def route_websocket(app: object, namespace: dict[str, object] | None, request: Request, path: str) -> Route:
    """The handler for a WebSocket connection to ``path``, with ``request.path_params`` set."""
    segments = split_path(path)
    explicit = request.attribute("_ws_route_handler")
    if explicit is not None:
        name = _explicit_name("_ws_route_handler", explicit)
    else:
        first = segments[0] if segments else "index"
        if first.startswith("_"):
            raise RouteRefused("Private handler not allowed")
        name = "ws_" + first
    route = resolve(app, namespace, name)
    if not isinstance(route, Route):
        raise RouteRefused("No matching WebSocket route")
    if len(segments) > 1 and not request._path_params:
        request._path_params = segments[1:]
    return route
