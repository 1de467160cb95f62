"""The application's options: their names, types, defaults and checks, in one table.

Rules:
- ``AppOptions`` names every option with its type (the keyword arguments of ``App``), and
  ``OPTIONS`` gives each its default and its check; a test keeps the two, and ``App``'s
  attribute declarations, the same list.
- A value is checked when the application is made and whenever it is assigned later
  (``app.max_body_size = 4``); a bad value raises ``ValueError`` naming the option, and leaves
  the settings as they were. ``None`` turns a size or time limit off.
- An assignment takes effect from the next request: the objects a request reads
  (``body_limits``, ``sessions``, ``templates``) are replaced, never changed in place, so a
  request in flight keeps the settings it started with. ``templates`` is replaced only when
  ``templates_dir`` changes, so the templates Jinja2 has loaded stay loaded.
- Values read back as they were given (after checking): sizes as ints, times as floats,
  origins as a frozenset, the templates directory as the str or path given.
- The application's other public attributes (``APP_ATTRIBUTES``: its middleware and lifespan
  handler lists and its session backend) are checked when assigned, as MicroPie apps assign
  them: a list is kept as it is, a tuple becomes a list, and anything the application cannot
  use raises ``TypeError`` naming the attribute. The lists' items are checked again where they
  are used (``middleware``), since code may append to them.
"""

import os
from collections.abc import Callable, Iterable
from typing import Final, TypedDict, cast

from micropie.body import BodyLimits
from micropie.middleware import http_middleware, websocket_middleware
from micropie.sessions import SESSION_TIMEOUT, SessionBackend, SessionSettings, new_session_id, validate_session_id
from micropie.templates import DEFAULT_TEMPLATES_DIR, TemplateRenderer

DEFAULT_BODY_TIMEOUT: Final = 5.0
"""The default ``body_timeout``: seconds to wait for the next part of a request body."""
DEFAULT_MAX_BODY_SIZE: Final = 16 * 1024 * 1024
"""The default ``max_body_size``: 16 MiB."""
DEFAULT_MAX_FORM_FIELD_SIZE: Final = 1024 * 1024
"""The default ``max_form_field_size``: 1 MiB."""
DEFAULT_MAX_FORM_FIELDS: Final = 1000
"""The default ``max_form_fields``."""


class AppOptions(TypedDict, total=False):
    """The keyword options of ``App``, each also an attribute of the application.

    Their defaults, checks and meanings are listed on the Options page of the documentation;
    ``OPTIONS`` holds each one's default and check.
    """

    body_timeout: float | None
    max_body_size: int | None
    max_form_field_size: int | None
    max_form_fields: int | None
    session_timeout: int
    session_cookie_secure: bool
    session_id_factory: Callable[[], str]
    session_id_validator: Callable[[str], str | None] | None
    allowed_origins: Iterable[str] | None
    templates_dir: str | os.PathLike[str]
    problem_details: bool


def _size(name: str, value: object) -> object:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise ValueError(f"{name} must be a positive int or None, not {value!r}")


def _seconds(name: str, value: object) -> object:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    raise ValueError(f"{name} must be a positive number of seconds or None, not {value!r}")


def _positive_int(name: str, value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise ValueError(f"{name} must be a positive int, not {value!r}")


def _flag(name: str, value: object) -> object:
    if isinstance(value, bool):
        return value
    raise ValueError(f"{name} must be a bool, not {value!r}")


def _function(name: str, value: object) -> object:
    if callable(value):
        return value
    raise ValueError(f"{name} must be callable")


def _function_or_none(name: str, value: object) -> object:
    if value is None or callable(value):
        return value
    raise ValueError(f"{name} must be callable or None")


def _origins(name: str, value: object) -> object:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValueError(f"{name} must be a collection of origin strings or None")
    origins = frozenset(value)
    if not all(isinstance(origin, str) for origin in origins):
        raise ValueError(f"{name} must contain only strings")
    return origins


def _directory(name: str, value: object) -> object:
    # Not checked for existence: an application that renders no template needs no directory.
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if isinstance(path, str) and path:
            return value
    raise ValueError(f"{name} must be a directory path (a non-empty str or os.PathLike), not {value!r}")


class Option:
    """One option's default and check (which returns the value to keep, or raises)."""

    def __init__(self, default: object, check: Callable[[str, object], object]) -> None:
        self.default = default
        self.check = check


OPTIONS: Final[dict[str, Option]] = {
    "body_timeout": Option(DEFAULT_BODY_TIMEOUT, _seconds),
    "max_body_size": Option(DEFAULT_MAX_BODY_SIZE, _size),
    "max_form_field_size": Option(DEFAULT_MAX_FORM_FIELD_SIZE, _size),
    "max_form_fields": Option(DEFAULT_MAX_FORM_FIELDS, _size),
    "session_timeout": Option(SESSION_TIMEOUT, _positive_int),
    "session_cookie_secure": Option(True, _flag),
    "session_id_factory": Option(new_session_id, _function),
    "session_id_validator": Option(validate_session_id, _function_or_none),
    "allowed_origins": Option(None, _origins),
    "templates_dir": Option(DEFAULT_TEMPLATES_DIR, _directory),
    "problem_details": Option(False, _flag),
}


class Settings:
    """One application's checked options, and the objects its requests read."""

    def __init__(self, given: dict[str, object]) -> None:
        unknown = sorted(set(given) - set(OPTIONS))
        if unknown:
            raise TypeError(f"unknown option {unknown[0]!r}; the options are {', '.join(OPTIONS)}")
        self._values: dict[str, object] = {
            name: option.check(name, given.get(name, option.default)) for name, option in OPTIONS.items()
        }
        self.body_limits = BodyLimits(None, None, None, None)
        self.sessions = SessionSettings(SESSION_TIMEOUT, True, new_session_id, None)
        self.allowed_origins: frozenset[str] | None = None
        self.problem_details = False
        self.templates = TemplateRenderer(DEFAULT_TEMPLATES_DIR)
        self._derive()

    def _derive(self) -> None:
        values = self._values
        self.body_limits = BodyLimits(
            cast(int | None, values["max_body_size"]),
            cast(int | None, values["max_form_field_size"]),
            cast(float | None, values["body_timeout"]),
            cast(int | None, values["max_form_fields"]),
        )
        self.sessions = SessionSettings(
            cast(int, values["session_timeout"]),
            cast(bool, values["session_cookie_secure"]),
            cast(Callable[[], str], values["session_id_factory"]),
            cast(Callable[[str], str | None] | None, values["session_id_validator"]),
        )
        self.allowed_origins = cast(frozenset[str] | None, values["allowed_origins"])
        self.problem_details = cast(bool, values["problem_details"])
        directory = os.fspath(cast(str | os.PathLike[str], values["templates_dir"]))
        if directory != self.templates.directory:
            self.templates = TemplateRenderer(directory)

    def read(self, name: str) -> object:
        return self._values[name]

    def assign(self, name: str, value: object) -> None:
        """Check ``value`` and make it ``name``'s value from the next request on."""
        self._values[name] = OPTIONS[name].check(name, value)
        self._derive()


def _items(name: str, value: object) -> list[object]:
    if isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"app.{name} must be a list, not {type(value).__name__}")


def _http_middlewares(name: str, value: object) -> object:
    items = _items(name, value)
    for item in items:
        http_middleware(item)
    return items


def _websocket_middlewares(name: str, value: object) -> object:
    items = _items(name, value)
    for item in items:
        websocket_middleware(item)
    return items


def _lifespan_handlers(name: str, value: object) -> object:
    items = _items(name, value)
    for item in items:
        if not callable(item):
            raise TypeError(f"app.{name} must hold async callables, not {type(item).__name__}")
    return items


def _session_backend(name: str, value: object) -> object:
    if isinstance(value, SessionBackend):
        return value
    raise TypeError(f"app.{name} must be a SessionBackend, not {type(value).__name__}")


APP_ATTRIBUTES: Final[dict[str, Callable[[str, object], object]]] = {
    "middlewares": _http_middlewares,
    "ws_middlewares": _websocket_middlewares,
    "startup_handlers": _lifespan_handlers,
    "shutdown_handlers": _lifespan_handlers,
    "session_backend": _session_backend,
}
