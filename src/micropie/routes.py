"""Which callable serves a name, and the cache that makes finding it cheap.

Rules:
- A route is a callable attached to the app instance, or a function (plain, static or class
  method, or another callable object) defined on the app's class. Classes, properties, other
  descriptors and non-callable attributes (``middlewares``, ``request``…) are ``NOT_A_ROUTE``: the caller
  answers 404 and never falls back to ``index``. A name found nowhere is ``None``.
- Names are looked up without running descriptors: the instance's ``__dict__``, then the
  dictionaries along the class's MRO; attributes that exist only on the metaclass are not routes.
- Resolutions are cached per class, with their ``HandlerInfo``, under the identity of the
  attribute they were computed from; a replaced handler has a new identity and is resolved
  afresh on the next request. Names that resolve to nothing are never cached, so clients cannot
  grow the cache.
"""

import types
from collections.abc import Callable
from typing import Any, Final

from micropie.binding import HandlerInfo, handler_info

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
    def __init__(self, identity: object, resolution: Route | _NotARoute) -> None:
        self.identity = identity
        self.resolution = resolution


_class_entries: Final[dict[type, dict[str, _Entry]]] = {}
_attached_entries: Final[dict[type, dict[str, _Entry]]] = {}


def _static_lookup(cls: type, name: str) -> object:
    for klass in cls.__mro__:
        namespace = klass.__dict__
        if name in namespace:
            return namespace[name]
    return _MISSING


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
    bound = getattr(cls, name, _MISSING)
    if bound is _MISSING:
        return None
    # A class method is bound anew on every read from the class; its function is stable.
    identity = bound.__func__ if isinstance(bound, types.MethodType) else bound
    entries = _class_entries.get(cls)
    if entries is not None:
        entry = entries.get(name)
        if entry is not None and entry.identity is identity:
            return entry.resolution
    return _resolve_class_attribute(cls, name, bound, identity)
