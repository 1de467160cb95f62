"""micropie: a small, fast, strictly typed ASGI framework with MicroPie's API.

This module re-exports the public names, reports whether the compiled build is in use, and
defines ``App``. It is the one module never compiled, which is why ``App`` lives here: an
interpreted subclass of the compiled ``AppCore`` has a ``__dict__``, so handlers can be attached
to any instance at run time, in both modes alike.
"""

import importlib.machinery
import sys

from collections.abc import Callable, Iterable

from micropie.dispatch import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MAX_BODY_SIZE,
    DEFAULT_MAX_FORM_FIELD_SIZE,
    DEFAULT_MAX_FORM_FIELDS,
    AppCore,
)
from micropie.middleware import CloseOverride, HttpMiddleware, ResponseOverride, WebSocketMiddleware
from micropie.multipart import MultipartFileError
from micropie.request import Request, UploadedFile, WebSocketRequest, current_request
from micropie.sessions import (
    SESSION_TIMEOUT,
    InMemorySessionBackend,
    SessionBackend,
    new_session_id,
    validate_session_id,
)
from micropie.websocket import ConnectionClosed, WebSocket

__version__ = "0.1.0"


class App(AppCore):
    """An ASGI application: subclass it and define handlers as methods.

    ``async def greet(self, name)`` serves ``/greet/<name>`` (and ``/greet?name=…``); ``index``
    serves ``/``; ``ws_chat`` serves WebSocket connections to ``/chat``.
    """

    def __init__(
        self,
        session_backend: SessionBackend | None = None,
        *,
        body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
        max_body_size: int | None = DEFAULT_MAX_BODY_SIZE,
        max_form_field_size: int | None = DEFAULT_MAX_FORM_FIELD_SIZE,
        max_form_fields: int | None = DEFAULT_MAX_FORM_FIELDS,
        session_timeout: int = SESSION_TIMEOUT,
        session_cookie_secure: bool = True,
        session_id_factory: Callable[[], str] = new_session_id,
        session_id_validator: Callable[[str], str | None] | None = validate_session_id,
        allowed_origins: Iterable[str] | None = None,
    ) -> None:
        """Options are checked here; a bad value raises ``ValueError`` naming the option.

        Sizes are bytes and ``None`` turns a limit off; ``max_form_fields`` is the most fields
        (text and file parts together) one form body may carry; ``body_timeout`` is the longest wait, in
        seconds, between two chunks of a request body; ``session_timeout`` is how long, in
        seconds, an idle session lives; ``allowed_origins`` lists the origins (e.g.
        ``"https://example.com"``) whose pages may open WebSocket connections.
        ``session_id_validator`` must depend on the id's text alone: ids it accepted are
        remembered, so a returning cookie is not checked again (revoke sessions in the backend).
        """
        super().__init__(
            session_backend,
            body_timeout=body_timeout,
            max_body_size=max_body_size,
            max_form_field_size=max_form_field_size,
            max_form_fields=max_form_fields,
            session_timeout=session_timeout,
            session_cookie_secure=session_cookie_secure,
            session_id_factory=session_id_factory,
            session_id_validator=session_id_validator,
            allowed_origins=allowed_origins,
        )


def _compiled() -> bool:
    """True only when every loaded micropie submodule is an extension module."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    modules = [
        module
        for name, module in sys.modules.items()
        if name.startswith("micropie.") and module is not None
    ]
    return bool(modules) and all(str(getattr(module, "__file__", "")).endswith(suffixes) for module in modules)


COMPILED: bool = _compiled()

__all__ = [
    "COMPILED",
    "SESSION_TIMEOUT",
    "App",
    "CloseOverride",
    "ConnectionClosed",
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
    "__version__",
    "current_request",
]
