"""WebSocket connections: the ``WebSocket`` object handlers use, and routing a connection.

Rules:
- Which handler serves a connection is ``routes.route_websocket``'s decision; a refusal
  (a private name, no such handler) closes with 1008 and its reason.
- With ``allowed_origins`` set, a handshake whose ``Origin`` is not listed closes with 1008
  before middleware or handler run (cross-site WebSocket hijacking of cookie sessions).
  Handshakes without ``Origin`` (non-browser clients) are allowed.
- The handler's first parameter receives the ``WebSocket`` whatever its name; the others bind
  as an HTTP handler's do (``binding``): a WebSocket request has no body, so from path
  segments, the query string (with typed conversion) and defaults, never the session.
  A handler without parameters closes with 1011; a missing or unconvertible value with 1008.
- A session store that is unavailable closes with 1013 "Session store unavailable" (try again
  later); the store logs why.
- A handler or middleware exception is logged and closes with 1011 "Internal server error"
  (no exception text); ``ConnectionClosed`` out of a handler is a normal end. Nothing raises
  out of the ASGI call.
- A new session (no valid cookie, or a cookie naming an empty session) gets a fresh id; the
  cookie is sent with ``accept()``. The session is saved after ``after_websocket``, unless an
  outer layer put it in the scope (it then keeps it, and no cookie is sent).
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol, cast

from micropie import jsoncodec
from micropie.asgi import Receive, Scope, Send
from micropie.binding import KEYWORD_ONLY, VAR_KEYWORD, Arguments, HandlerInfo, bind
from micropie.errors import HTTPError
from micropie.headers import encode_header, header_value, parse_cookies
from micropie.middleware import WebSocketMiddleware, websocket_middleware
from micropie.request import SESSION_KEY, WebSocketRequest, current_request
from micropie.routes import RouteRefused, route_websocket
from micropie.sessions import SessionBackend, SessionCycle, SessionSettings, default_session_settings, session_cookie
from micropie.settings import Settings

logger: Final = logging.getLogger("micropie")


class ConnectionClosed(Exception):
    """The client closed the WebSocket connection: raised by ``receive_*`` and ``accept()``.
    Raised out of a handler, it ends the connection normally."""


class _Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class WebSocket:
    """One WebSocket connection, as its handler sees it.

    ``session_id`` is the id of the connection's session; ``receive`` and ``send`` are the
    connection's raw ASGI callables; ``accepted`` and ``closed`` tell how far it has gone.
    """

    def __init__(
        self,
        receive: Receive,
        send: Send,
        session_id: str = "",
        settings: SessionSettings | None = None,
    ) -> None:
        """``receive`` and ``send`` are the connection's ASGI callables, public as in MicroPie
        (for raw messages); ``session_id`` (empty: none) and ``settings`` come from the
        application."""
        self.receive = receive
        self.send = send
        self.session_id = session_id
        self._settings = settings if settings is not None else default_session_settings()
        self._cookie_pending = False
        self._connected = False
        self.accepted = False
        self.closed = False

    async def accept(self, subprotocol: str | None = None, session_id: str | None = None) -> None:
        """Complete the handshake, sending the session cookie when the session is new."""
        if self.accepted:
            raise RuntimeError("WebSocket connection already accepted")
        if not self._connected:
            message = await self.receive()
            if message.get("type") == "websocket.disconnect":
                raise ConnectionClosed()
            self._connected = True
        if session_id is not None:
            checked = self._settings.checked_id(session_id)
            if checked is None:
                raise ValueError("session_id was rejected by the session id validator")
            self.session_id = checked
            self._cookie_pending = True
        headers: list[tuple[bytes, bytes]] = []
        if self._cookie_pending and self.session_id:
            name, value = session_cookie(self.session_id, self._settings.cookie_secure)
            encoded = encode_header(name, value)
            if encoded is not None:
                headers.append(encoded)
            self._cookie_pending = False
        await self.send({"type": "websocket.accept", "subprotocol": subprotocol, "headers": headers})
        self.accepted = True

    async def _next_data(self) -> dict[str, Any]:
        while True:
            message = await self.receive()
            kind = message.get("type")
            if kind == "websocket.receive":
                return message
            if kind == "websocket.disconnect":
                self.closed = True
                raise ConnectionClosed()
            if kind != "websocket.connect":
                raise RuntimeError(f"unexpected ASGI message {kind!r}")

    async def receive_text(self) -> str:
        """The next message as text (binary messages decode as UTF-8)."""
        message = await self._next_data()
        text = message.get("text")
        if text is not None:
            return str(text)
        return bytes(message.get("bytes") or b"").decode("utf-8", "replace")

    async def receive_bytes(self) -> bytes:
        """The next message as bytes (text messages encode as UTF-8)."""
        message = await self._next_data()
        data = message.get("bytes")
        if data is not None:
            return bytes(data)
        return str(message.get("text") or "").encode("utf-8")

    async def receive_json(self) -> Any:
        """The next message parsed as JSON; ``ValueError`` if it is not JSON."""
        message = await self._next_data()
        data = message.get("bytes")
        if data is None:
            data = str(message.get("text") or "").encode("utf-8")
        return jsoncodec.loads(bytes(data))

    def _check_open(self) -> None:
        if not self.accepted:
            raise RuntimeError("WebSocket connection not accepted")

    async def send_text(self, data: str) -> None:
        """Send a text message; ``RuntimeError`` before ``accept()``."""
        self._check_open()
        await self.send({"type": "websocket.send", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message; ``RuntimeError`` before ``accept()``."""
        self._check_open()
        await self.send({"type": "websocket.send", "bytes": data})

    async def send_json(self, value: object) -> None:
        """Send ``value`` as a JSON text message."""
        self._check_open()
        await self.send({"type": "websocket.send", "text": jsoncodec.dumps(value).decode("utf-8")})

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the connection (once; later calls do nothing). Before ``accept()``, this refuses
        the handshake with ``code`` and ``reason``."""
        if self.closed:
            return
        self.closed = True
        await self.send({"type": "websocket.close", "code": code, "reason": reason or ""})


async def _refuse(send: Send, code: int, reason: str) -> None:
    try:
        await send({"type": "websocket.close", "code": code, "reason": reason})
    except Exception:
        logger.debug("Closing a WebSocket connection failed", exc_info=True)


def _bind(info: HandlerInfo, request: WebSocketRequest, websocket: WebSocket) -> Arguments:
    """The handler's arguments: the WebSocket first, the rest bound like an HTTP handler's."""
    if not info.params:
        raise _Refused(1011, "WebSocket handler must accept a connection argument")
    try:
        arguments = bind(info, request, False, skip=1)
    except HTTPError as rejected:
        raise _Refused(1008, rejected.detail) from None
    first = info.params[0]
    if first.kind == KEYWORD_ONLY:
        arguments.kwargs[first.name] = websocket
    elif first.kind == VAR_KEYWORD:
        arguments.kwargs["ws"] = websocket
    else:
        arguments.args.insert(0, websocket)
    return arguments


class WebSocketHost(Protocol):
    """What serving a connection needs from the application (``dispatch.AppCore``)."""

    session_backend: SessionBackend
    ws_middlewares: list[WebSocketMiddleware]
    _settings: Settings
    _namespace: dict[str, object] | None


async def serve_websocket(app: WebSocketHost, scope: Scope, receive: Receive, send: Send) -> None:
    try:
        request = WebSocketRequest(scope)
    except TypeError:  # what an outer layer left in the scope (see request)
        logger.exception("Unusable scope for WebSocket connection to %s", scope.get("path", ""))
        await _refuse(send, 1011, "Internal server error")
        return
    token = current_request.set(request)
    settings = app._settings
    middlewares = app.ws_middlewares
    try:
        raw_headers = scope.get("headers", ())
        allowed_origins = settings.allowed_origins
        if allowed_origins is not None:
            origin = header_value(raw_headers, b"origin")
            if origin is not None and origin not in allowed_origins:
                raise _Refused(1008, "Origin not allowed")
        # An outer layer that put the session in the scope loads and saves it (as for HTTP).
        session_outside = SESSION_KEY in scope
        session = SessionCycle(app.session_backend, settings.sessions)
        cookie = header_value(raw_headers, b"cookie", "; ")
        if cookie is not None and not session_outside:
            await session.load(request, parse_cookies(cookie))
        # Each hook through a reference typed as what an untyped hook may return (see dispatch).
        for item in cast("list[object]", middlewares):
            before: Callable[[WebSocketRequest], Awaitable[object]] = websocket_middleware(item).before_websocket
            refusal = await before(request)
            if refusal:
                if not isinstance(refusal, dict):
                    raise TypeError(f"before_websocket must return a dict or None, not {type(refusal).__name__}")
                code = refusal.get("code", 1008)
                reason = refusal.get("reason", "Middleware rejected")
                raise _Refused(code if isinstance(code, int) else 1008, str(reason))
        try:
            route = route_websocket(app, app._namespace, request, scope.get("path", "/"))
        except RouteRefused as refused_route:
            raise _Refused(1008, refused_route.reason) from None
        session_id = session.connection_id()
        websocket = WebSocket(receive, send, session_id, settings.sessions)
        websocket._cookie_pending = session_id != session.id and not session_outside
        arguments = _bind(route.info, request, websocket)
        if route.takes_app:
            arguments.args.insert(0, app)
        try:
            await route.function(*arguments.args, **arguments.kwargs)
        except ConnectionClosed:
            pass
        for item in cast("list[object]", middlewares):
            after: Callable[[WebSocketRequest], Awaitable[object]] = websocket_middleware(item).after_websocket
            await after(request)
        if not session_outside:
            cookie_delivered = websocket.accepted or session_id == session.id
            await session.finish_connection(request, websocket.session_id, cookie_delivered)
    except _Refused as refused:
        await _refuse(send, refused.code, refused.reason)
    except HTTPError as failed:
        # Only the session store raises one here: unavailable (503) is worth a retry later.
        await _refuse(send, 1013 if failed.status == 503 else 1011, failed.detail)
    except Exception:
        logger.exception("Unhandled exception in WebSocket handler for %s", scope.get("path", ""))
        await _refuse(send, 1011, "Internal server error")
    finally:
        current_request.reset(token)
