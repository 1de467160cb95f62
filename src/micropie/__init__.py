"""micropie: a small, fast, strictly typed ASGI framework with MicroPie's API.

This module re-exports the public names, reports whether the compiled build is in use, and
defines ``App``. It is the one module never compiled, which is why ``App`` lives here: an
interpreted subclass of the compiled ``AppCore`` has a ``__dict__``, so handlers can be attached
to any instance at run time, in both modes alike.
"""

import importlib.machinery
import sys

from micropie.dispatch import AppCore
from micropie.middleware import HttpMiddleware, WebSocketMiddleware
from micropie.multipart import MultipartFileError
from micropie.request import Request, WebSocketRequest, current_request
from micropie.sessions import SESSION_TIMEOUT, InMemorySessionBackend, SessionBackend
from micropie.websocket import ConnectionClosed, WebSocket

__version__ = "0.1.0"


class App(AppCore):
    """An ASGI application: subclass it and define handlers as methods.

    ``async def greet(self, name)`` serves ``/greet/<name>`` (and ``/greet?name=…``); ``index``
    serves ``/``; ``ws_chat`` serves WebSocket connections to ``/chat``.
    """


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
    "ConnectionClosed",
    "HttpMiddleware",
    "InMemorySessionBackend",
    "MultipartFileError",
    "Request",
    "SessionBackend",
    "WebSocket",
    "WebSocketMiddleware",
    "WebSocketRequest",
    "__version__",
    "current_request",
]
