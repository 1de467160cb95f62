"""micropie: a small, fast, strictly typed ASGI framework with MicroPie's API.

This module re-exports the public names, reports whether the compiled build is in use, and
defines ``App``. It is the one module never compiled, which is why ``App`` lives here: an
interpreted subclass of the compiled ``AppCore`` has a ``__dict__``, so handlers can be attached
to any instance at run time, in both modes alike.
"""

import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Unpack

from micropie.asgi import MappingReceive, MappingScope, Send
from micropie.dispatch import AppCore
from micropie.middleware import CloseOverride, HttpMiddleware, ResponseOverride, WebSocketMiddleware
from micropie.multipart import MultipartFileError
from micropie.request import Request, UploadedFile, WebSocketRequest, current_request
from micropie.responses import Headers, WithHeaders, WithStatus
from micropie.sessions import SESSION_TIMEOUT, InMemorySessionBackend, SessionBackend
from micropie.settings import (
    APP_ATTRIBUTES,
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MAX_BODY_SIZE,
    DEFAULT_MAX_FORM_FIELD_SIZE,
    DEFAULT_MAX_FORM_FIELDS,
    OPTIONS,
    AppOptions,
)
from micropie.websocket import ConnectionClosed, WebSocket

__version__ = "1.0.0"
"""The version of this package."""

def _installed(name: str) -> bool:
    # Found without importing it: Jinja2 alone would add tens of milliseconds to start-up.
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # ValueError: blocked in sys.modules
        return False


MULTIPART_INSTALLED: bool = _installed("multipart")
"""Whether the optional ``multipart`` package (file uploads) is installed."""
JINJA_INSTALLED: bool = _installed("jinja2")
"""Whether the optional Jinja2 package (``_render_template``) is installed."""


class App(AppCore):
    """An ASGI application: subclass it and define handlers as methods.

    ``async def greet(self, name)`` serves ``/greet/<name>`` (and ``/greet?name=…``); ``index``
    serves ``/``; ``ws_chat`` serves WebSocket connections to ``/chat``. Names starting with
    ``_`` are never routes. An instance is an ASGI 3 callable: ``await app(scope, receive,
    send)`` serves ``http``, ``websocket`` and ``lifespan`` scopes and ignores any other.

    Attributes:

    - ``session_backend``: the ``SessionBackend`` given to the constructor (an
      ``InMemorySessionBackend`` by default).
    - ``middlewares``: the ``HttpMiddleware`` run around every HTTP request, in order.
    - ``ws_middlewares``: the ``WebSocketMiddleware`` run around every WebSocket connection.
    - ``startup_handlers``, ``shutdown_handlers``: zero-argument async callables run, in order,
      at lifespan startup and shutdown; the first that raises stops the rest and fails that
      phase. After the shutdown handlers, the session backend's ``close()`` runs.
    - ``request``: the request being handled (see ``current_request``).
    - every option (see ``AppOptions``), read back and assignable.

    Assigning any of these is checked: a tuple of middleware becomes a list, and a value the
    application cannot use raises ``TypeError`` (``ValueError`` for an option) naming it.
    """

    # The options (micropie.settings.AppOptions) are attributes too: reading one gives its
    # value, assigning one checks it and applies it from the next request.
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

    if TYPE_CHECKING:
        # For type checkers only: ASGI middleware and clients type the scope and messages as
        # MutableMapping (Starlette, httpx), which this accepts. At run time the compiled
        # AppCore.__call__ serves, and servers pass dicts.
        async def __call__(self, scope: MappingScope, receive: MappingReceive, send: Send) -> None: ...

    def __init__(self, session_backend: SessionBackend | None = None, **options: Unpack[AppOptions]) -> None:
        """Options are checked here; a bad value raises ``ValueError`` naming the option.

        - ``body_timeout`` (5.0): the longest wait, in seconds, between two chunks of a body.
        - ``max_body_size`` (16 MiB), ``max_form_field_size`` (1 MiB): sizes in bytes.
        - ``max_form_fields`` (1000): the most fields, text and files together, in one form.
        - ``session_timeout`` (8 hours): how long, in seconds, an idle session lives.
        - ``session_cookie_secure`` (True): send the session cookie over HTTPS only.
        - ``session_id_factory``, ``session_id_validator``: make and check session ids (UUIDv4
          by default). The validator must depend on the id's text alone: ids it accepted are
          remembered, so a returning cookie is not checked again (revoke sessions in the
          backend).
        - ``allowed_origins`` (None): the origins (``"https://example.com"``) whose pages may
          open WebSocket connections; None allows any.
        - ``templates_dir`` ("templates"): the directory ``_render_template`` loads from; a
          relative path is looked up from the working directory, as in MicroPie.
        - ``problem_details`` (False): answer the requests the framework refuses or fails
          (400, 404, 408, 413, 500, 503) with RFC 9457 ``application/problem+json`` documents
          instead of MicroPie's plain text. ``_error_response`` shapes them in any other way.

        ``None`` turns a size or time limit off.
        """
        super().__init__(session_backend, dict(options))


def _read_option(app: App, name: str) -> Any:
    if name in OPTIONS:
        return app._settings.read(name)
    raise AttributeError(f"{type(app).__name__!r} object has no attribute {name!r}")


def _assign(app: App, name: str, value: object) -> None:
    if name in OPTIONS:
        app._settings.assign(name, value)
    else:
        check = APP_ATTRIBUTES.get(name)
        AppCore.__setattr__(app, name, value if check is None else check(name, value))


# Installed after the class body, so that type checkers still report misspelt attributes.
setattr(App, "__getattr__", _read_option)
setattr(App, "__setattr__", _assign)


def _compiled() -> bool:
    """Whether the compiled build is in use, told by the conductor of every request: a wheel
    holds every module build.py compiles or none (tests/builds/test_mode.py checks each one)."""
    file = getattr(sys.modules["micropie.dispatch"], "__file__", None) or ""
    return file.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


COMPILED: bool = _compiled()
"""True when micropie's modules are the mypyc-compiled extensions (all but the few build.py
leaves interpreted, such as ``micropie.testing``), False when they run as plain Python. Nothing
else differs between the two."""

__all__ = [
    "COMPILED",
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_MAX_BODY_SIZE",
    "DEFAULT_MAX_FORM_FIELDS",
    "DEFAULT_MAX_FORM_FIELD_SIZE",
    "JINJA_INSTALLED",
    "MULTIPART_INSTALLED",
    "SESSION_TIMEOUT",
    "App",
    "CloseOverride",
    "ConnectionClosed",
    "Headers",
    "HttpMiddleware",
    "InMemorySessionBackend",
    "MultipartFileError",
    "Request",
    "ResponseOverride",
    "SessionBackend",
    "UploadedFile",
    "WebSocket",
    "WebSocketMiddleware",
    "WebSocketRequest",
    "WithHeaders",
    "WithStatus",
    "__version__",
    "current_request",
]
