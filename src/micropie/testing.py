"""Test clients for users' apps: ``TestClient`` for plain tests, ``AsyncTestClient`` for async ones.

Rules:
- Built on well-kept libraries (the ``testing`` extra: httpx, httpx-ws, asgi-lifespan), none
  of whose work is redone here: requests go through an ``httpx`` client over
  ``httpx.ASGITransport``, WebSockets are ``httpx_ws`` sessions over
  ``httpx_ws.transport.ASGIWebSocketTransport``, the lifespan protocol is
  ``asgi_lifespan.LifespanManager``.
- Each client is an ``httpx`` client (``TestClient`` an ``httpx.Client``, ``AsyncTestClient`` an
  ``httpx.AsyncClient``) whose transport serves the app: ``request``, ``stream``, ``get``…,
  ``cookies``, ``headers`` and ``base_url`` are httpx's own, and responses are
  ``httpx.Response``.
- A client serves one ``with`` (``TestClient``) or ``async with`` (``AsyncTestClient``) block,
  as an ``httpx`` client does: entering runs lifespan startup, leaving runs shutdown, even when
  the block failed (not when it was cancelled). A request or WebSocket before the block raises
  ``RuntimeError`` naming the block; after it, httpx's "client has been closed". A startup or
  shutdown that the app reports failed, or that does not finish within ``lifespan_timeout``
  seconds, raises ``LifespanFailed`` (``LifespanManager`` alone waits for ``*.complete`` only,
  so a failure would look like a hang until its timeout).
- Bodies are read whole before the response is returned (``ASGITransport`` collects them), so
  an endless stream never returns: test those through a real server.
- Cookies live in the client's jar and persist across requests; the default base URL is
  ``https://testserver`` so that the ``Secure`` session cookie is kept and sent back. WebSocket
  handshakes carry the client's cookies and headers, and a cookie set by ``accept()`` lands in
  the same jar.
- ``TestClient`` runs the app on an event loop of its own, in a background thread (an ``anyio``
  blocking portal) that lives as long as the ``with`` block: lifespan, every request and every
  WebSocket run on that one loop, so whatever the app binds to its loop at startup (a Redis
  pool, a queue) works in every request. The test's thread blocks while a call runs there.
- A WebSocket refused by the app (closed before ``accept()``: no such handler, a disallowed
  origin, a middleware refusal) raises ``WebSocketDisconnect`` when connecting; one the app
  closes later raises it from the next ``receive_*``. Its ``code`` and ``reason`` are the app's;
  an app that returns without closing an accepted connection closes it with 1000 (a server
  would drop it), so that no ``receive_*`` waits forever.
  An exception raised inside ``websocket_connect``'s block propagates unchanged (never wrapped
  in an ``ExceptionGroup``) and the connection is closed normally (1000).
- Each WebSocket gets its own ``httpx`` client and ``ASGIWebSocketTransport``, entered and left
  with the connection, so no task group outlives a connection: an ``AsyncTestClient`` made in
  an async fixture (whose setup and teardown run in different tasks) works.
- This module is never compiled (build.py's ``INTERPRETED_MODULES``): it runs in tests, not on
  a request's path, and a compiled subclass of httpx's classes would check ``self`` by exact
  type, refusing users' own subclasses of the clients.
"""

import asyncio
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, AsyncExitStack, ExitStack
from http.cookiejar import CookieJar
from types import TracebackType
from typing import Any, ClassVar, Final, Self

from micropie.asgi import ASGIApplication, MappingMessage, MappingReceive, MappingScope, MappingSend

try:
    import httpx
    # httpx's names for what its clients take; public API, in a private module.
    from httpx._types import CookieTypes, HeaderTypes
    from anyio import BrokenResourceError, ClosedResourceError
    from anyio.from_thread import BlockingPortal, start_blocking_portal
    from asgi_lifespan import LifespanManager
    from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws
    from httpx_ws.transport import ASGIWebSocketTransport
    from wsproto.connection import ConnectionState
    from wsproto.events import CloseConnection
except ImportError:  # pragma: no cover - exercised in a fresh interpreter by the tests
    raise ImportError(
        "micropie.testing needs httpx, httpx-ws and asgi-lifespan: pip install httpx httpx-ws asgi-lifespan"
    ) from None

__all__ = [
    "ASGIApplication",
    "AsyncTestClient",
    "AsyncWebSocketConnection",
    "LifespanFailed",
    "TestClient",
    "WebSocketConnection",
    "WebSocketDisconnect",
]

DEFAULT_BASE_URL: Final = "https://testserver"
DEFAULT_CLIENT: Final = ("127.0.0.1", 123)
"""The client address the app sees in ``scope["client"]`` (httpx's own default)."""
DEFAULT_LIFESPAN_TIMEOUT: Final = 5.0
HANDSHAKE_TIMEOUT: Final = 5.0
"""Seconds a WebSocket handler may take to accept or refuse a connection."""

_CLOSING: Final = (ConnectionState.LOCAL_CLOSING, ConnectionState.CLOSED)



def _not_running(client: str, block: str) -> RuntimeError:
    return RuntimeError(f"{client} serves only inside its block: `{block} {client}(app) as client:`")


class LifespanFailed(Exception):
    """The app's lifespan startup or shutdown failed, or did not finish in time."""

    def __init__(self, phase: str, message: str) -> None:
        super().__init__(f"lifespan {phase} failed: {message}")
        self.phase = phase
        self.message = message


class _ReportFailures:
    """The app as ``LifespanManager`` drives it, with ``lifespan.*.failed`` raised as
    ``LifespanFailed`` out of ``send``, which ``LifespanManager`` passes on to its caller."""

    def __init__(self, app: ASGIApplication) -> None:
        self.app = app

    async def __call__(self, scope: MappingScope, receive: MappingReceive, send: MappingSend) -> None:
        async def report(message: MappingMessage) -> None:
            kind = message.get("type")
            if kind == "lifespan.startup.failed" or kind == "lifespan.shutdown.failed":
                phase = str(kind).split(".")[1]
                raise LifespanFailed(phase, str(message.get("message") or "no message"))
            await send(message)

        await self.app(scope, receive, report)


class _Lifespan:
    """Startup on enter, shutdown on exit (unless cancelled), failures as ``LifespanFailed``."""

    def __init__(self, app: ASGIApplication, timeout: float) -> None:
        self.app = app
        self.timeout = timeout
        self.manager: LifespanManager | None = None

    def _timed_out(self, phase: str) -> LifespanFailed:
        return LifespanFailed(phase, f"not complete after {self.timeout:g} seconds")

    async def __aenter__(self) -> None:
        # Made here, not in __init__: LifespanManager looks for the running event loop.
        manager = LifespanManager(
            _ReportFailures(self.app),
            startup_timeout=self.timeout,
            shutdown_timeout=self.timeout,
        )
        try:
            await manager.__aenter__()
        except TimeoutError:
            raise self._timed_out("startup") from None
        self.manager = manager

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        manager = self.manager
        self.manager = None
        if manager is None:
            return
        if exc_type is not None and issubclass(exc_type, asyncio.CancelledError):
            # Tears the lifespan task down without shutdown.
            await manager.__aexit__(exc_type, exc_value, traceback)
            return
        try:
            await manager.__aexit__(None, None, None)
        except TimeoutError:
            raise self._timed_out("shutdown") from None


class _OpenWhileRunning(httpx.AsyncBaseTransport):
    """``AsyncTestClient``'s transport: the app's, refusing requests outside the client's block."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self.transport = transport
        self.running = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.running:
            raise _not_running("AsyncTestClient", "async with")
        return await self.transport.handle_async_request(request)


async def _exchange(transport: httpx.AsyncBaseTransport, request: httpx.Request) -> httpx.Response:
    response = await transport.handle_async_request(request)
    # The raw bytes: the client decodes a Content-Encoding (gzip…) once, when the test reads
    # the body; read decoded here, it would be decoded twice.
    body = b"".join([chunk async for chunk in response.aiter_raw()])
    # A stream both sync and async clients read; passed as ``stream``, not ``content``, so that
    # httpx adds no Content-Length the app did not send.
    return httpx.Response(
        response.status_code,
        headers=response.headers.raw,
        stream=httpx.ByteStream(body),
        extensions=response.extensions,
    )


class _ThroughPortal(httpx.BaseTransport):
    """``TestClient``'s transport: each request is served on the portal's event loop."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self.transport = transport
        self.portal: BlockingPortal | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        portal = self.portal
        if portal is None:
            raise _not_running("TestClient", "with")
        # Read here, in the test's thread (files included); the request then holds a stream
        # that the async transport can read too.
        request.read()
        return portal.call(_exchange, self.transport, request)


def _escaped_once_more(raw_path: bytes) -> bytes:
    path, separator, query = raw_path.partition(b"?")
    return path.replace(b"%", b"%25") + separator + query


class _AsRequested:
    """The app behind a WebSocket transport, given the scope of the URL the test asked for.

    httpx-ws 0.9 hands its handshake parser the decoded path, which h11 refuses when it holds a
    space or a non-ASCII character, puts the query in ``raw_path`` and says ``https`` for
    ``wss``. The transport is therefore given the path percent-encoded once more (always
    legal), and the app the scope a server would build for the URL asked for.
    """

    def __init__(self, app: ASGIApplication) -> None:
        self.app = app
        self.path = ""
        self.raw_path = b""
        self.scheme = ""

    def aim(self, url: httpx.URL) -> httpx.URL:
        """Serve ``url`` as requested; the URL to hand the transport instead."""
        self.path = url.path
        self.raw_path = url.raw_path.partition(b"?")[0]
        self.scheme = "wss" if url.scheme == "https" else "ws"
        return url.copy_with(raw_path=_escaped_once_more(url.raw_path))

    async def __call__(self, scope: MappingScope, receive: MappingReceive, send: MappingSend) -> None:
        requested = dict(scope)
        requested["path"] = self.path
        requested["raw_path"] = self.raw_path
        requested["scheme"] = self.scheme
        sent: set[str] = set()

        async def watched(message: MappingMessage) -> None:
            sent.add(str(message.get("type")))
            await send(message)

        await self.app(requested, receive, watched)
        if "websocket.accept" in sent and "websocket.close" not in sent:
            # A server drops the connection of an app that returns without closing it; here the
            # test's next receive would wait forever instead.
            try:
                await send({"type": "websocket.close", "code": 1000, "reason": ""})
            except (ClosedResourceError, BrokenResourceError):
                pass  # the test's side has closed already


class AsyncWebSocketConnection:
    """A WebSocket connection to the app, for ``async with``; every method is awaited.

    ``receive_*`` raise ``WebSocketDisconnect`` (with the app's ``code`` and ``reason``) once the
    app has closed the connection, and ``TimeoutError`` when ``timeout`` seconds pass first.
    """

    def __init__(
        self,
        app: ASGIApplication,
        url: str,
        *,
        base_url: httpx.URL,
        headers: httpx.Headers,
        cookies: CookieJar,
        client: tuple[str, int],
        subprotocols: Sequence[str] | None,
        extra_headers: Mapping[str, str] | None,
    ) -> None:
        self._app = app
        self._url = url
        self._base_url = base_url
        self._headers = headers
        self._cookies = cookies
        self._client = client
        self._subprotocols = list(subprotocols) if subprotocols is not None else None
        self._extra_headers = dict(extra_headers) if extra_headers is not None else {}
        self._stack: AsyncExitStack | None = None
        self._session: AsyncWebSocketSession | None = None
        self._closed = False

    async def __aenter__(self) -> Self:
        if self._stack is not None:
            raise RuntimeError("this WebSocket connection is already open")
        stack = AsyncExitStack()
        try:
            requested = _AsRequested(self._app)
            transport = ASGIWebSocketTransport(
                app=requested, client=self._client, initial_receive_timeout=HANDSHAKE_TIMEOUT
            )
            # The jar itself, not a copy: cookies go out with the handshake, and a cookie the
            # app sets with accept() reaches the test's client.
            http = httpx.AsyncClient(
                transport=transport,
                base_url=self._base_url,
                headers=self._headers,
                cookies=self._cookies,
                trust_env=False,
            )
            await stack.enter_async_context(http)
            url = requested.aim(http.build_request("GET", self._url).url)
            self._session = await stack.enter_async_context(
                aconnect_ws(
                    str(url),
                    http,
                    subprotocols=self._subprotocols,
                    session_class=AsyncWebSocketSession,
                    headers=self._extra_headers,
                )
            )
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # The exception, if any, is left to propagate as it is: given to httpx-ws it would come
        # back wrapped in an ExceptionGroup.
        stack = self._stack
        self._stack = None
        self._session = None
        if stack is not None:
            await stack.aclose()

    def _session_in_block(self) -> AsyncWebSocketSession:
        session = self._session
        if session is None:
            raise RuntimeError("the WebSocket connection is not open: use it in its `with` block")
        return session

    def _open(self) -> AsyncWebSocketSession:
        session = self._session_in_block()
        if self._closed:
            raise RuntimeError("the WebSocket connection was closed by this client")
        return session

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the app accepted, if any."""
        return self._session_in_block().subprotocol

    @property
    def response(self) -> httpx.Response:
        """The handshake's response (status 101, the app's ``accept()`` headers)."""
        response = self._session_in_block().response
        if response is None:
            raise RuntimeError("the WebSocket connection has no handshake response")
        return response

    async def send_text(self, data: str) -> None:
        await self._open().send_text(data)

    async def send_bytes(self, data: bytes) -> None:
        await self._open().send_bytes(data)

    async def send_json(self, value: Any) -> None:
        """Send ``value`` as a JSON text message."""
        await self._open().send_json(value)

    async def receive_text(self, timeout: float | None = None) -> str:
        return await self._open().receive_text(timeout)

    async def receive_bytes(self, timeout: float | None = None) -> bytes:
        return await self._open().receive_bytes(timeout)

    async def receive_json(self, timeout: float | None = None) -> Any:
        """The next text message, parsed as JSON."""
        return await self._open().receive_json(timeout)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the connection; the app receives ``websocket.disconnect`` with ``code``."""
        session = self._open()
        self._closed = True
        if session.connection.state not in _CLOSING:
            # The close frame alone: httpx-ws's close() would also close the stream under its
            # background reader, which then fails the block (httpx-ws 0.9). Leaving the block
            # closes the rest.
            await session.send(CloseConnection(code, reason))


class WebSocketConnection:
    """A WebSocket connection to the app, for ``with``; calls block until the app has answered.

    ``receive_*`` raise ``WebSocketDisconnect`` (with the app's ``code`` and ``reason``) once the
    app has closed the connection, and ``TimeoutError`` when ``timeout`` seconds pass first.
    """

    def __init__(self, portal: BlockingPortal, connection: AsyncWebSocketConnection) -> None:
        self._portal = portal
        self._connection = connection
        self._running: AbstractContextManager[AsyncWebSocketConnection] | None = None

    def __enter__(self) -> Self:
        if self._running is not None:
            raise RuntimeError("this WebSocket connection is already open")
        # One task on the portal's loop enters and leaves the connection, as anyio requires.
        running = self._portal.wrap_async_context_manager(self._connection)
        running.__enter__()
        self._running = running
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        running = self._running
        self._running = None
        if running is not None:
            running.__exit__(None, None, None)

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the app accepted, if any."""
        return self._connection.subprotocol

    @property
    def response(self) -> httpx.Response:
        """The handshake's response (status 101, the app's ``accept()`` headers)."""
        return self._connection.response

    def send_text(self, data: str) -> None:
        self._portal.call(self._connection.send_text, data)

    def send_bytes(self, data: bytes) -> None:
        self._portal.call(self._connection.send_bytes, data)

    def send_json(self, value: Any) -> None:
        """Send ``value`` as a JSON text message."""
        self._portal.call(self._connection.send_json, value)

    def receive_text(self, timeout: float | None = None) -> str:
        return self._portal.call(self._connection.receive_text, timeout)

    def receive_bytes(self, timeout: float | None = None) -> bytes:
        return self._portal.call(self._connection.receive_bytes, timeout)

    def receive_json(self, timeout: float | None = None) -> Any:
        """The next text message, parsed as JSON."""
        return self._portal.call(self._connection.receive_json, timeout)

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        self._portal.call(self._connection.close, code, reason)


def _connection(
    client: httpx.Client | httpx.AsyncClient,
    app: ASGIApplication,
    address: tuple[str, int],
    url: str,
    subprotocols: Sequence[str] | None,
    headers: Mapping[str, str] | None,
) -> AsyncWebSocketConnection:
    """A WebSocket connection to ``url`` carrying ``client``'s base URL, headers and cookies."""
    return AsyncWebSocketConnection(
        app,
        url,
        base_url=client.base_url,
        headers=client.headers,
        cookies=client.cookies.jar,
        client=address,
        subprotocols=subprotocols,
        extra_headers=headers,
    )


class AsyncTestClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` that serves requests with ``app``, for ``async def`` tests.

    ``async with AsyncTestClient(app) as client:`` runs lifespan startup, then ``await
    client.get("/")``; leaving the block runs shutdown. ``client`` is the address the app sees
    as the client's; ``headers`` and ``cookies`` are sent with every request and WebSocket
    handshake, and may be changed in place.
    """

    def __init__(
        self,
        app: ASGIApplication,
        base_url: httpx.URL | str = DEFAULT_BASE_URL,
        *,
        client: tuple[str, int] = DEFAULT_CLIENT,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        follow_redirects: bool = False,
        lifespan_timeout: float = DEFAULT_LIFESPAN_TIMEOUT,
    ) -> None:
        self.app = app
        self._client_address = client
        self._lifespan = _Lifespan(app, lifespan_timeout)
        self._gate = _OpenWhileRunning(httpx.ASGITransport(app, client=client))
        super().__init__(
            transport=self._gate,
            base_url=base_url,
            headers=headers,
            cookies=cookies,
            follow_redirects=follow_redirects,
            trust_env=False,
        )

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        try:
            await self._lifespan.__aenter__()
        except BaseException:
            await super().__aexit__()
            raise
        self._gate.running = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        self._gate.running = False
        await super().__aexit__(exc_type, exc_value, traceback)
        await self._lifespan.__aexit__(exc_type, exc_value, traceback)

    def websocket_connect(
        self,
        url: str,
        *,
        subprotocols: Sequence[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncWebSocketConnection:
        """A WebSocket connection to ``url`` (a path, as for requests), for ``async with``.

        ``headers`` are added to the client's own for the handshake (e.g. ``Origin``).
        """
        if not self._gate.running:
            raise _not_running("AsyncTestClient", "async with")
        return _connection(self, self.app, self._client_address, url, subprotocols, headers)


class TestClient(httpx.Client):
    """An ``httpx.Client`` that serves requests with ``app``, for plain ``def`` tests.

    ``with TestClient(app) as client:`` starts an event loop in a background thread and runs
    lifespan startup there, then ``client.get("/")``; leaving the block runs shutdown and stops
    the loop. ``client`` is the address the app sees as the client's; ``headers`` and
    ``cookies`` are sent with every request and WebSocket handshake, and may be changed in
    place.
    """

    # Not a test class, though its name starts with "Test" (pytest reads this).
    __test__: ClassVar[bool] = False

    def __init__(
        self,
        app: ASGIApplication,
        base_url: httpx.URL | str = DEFAULT_BASE_URL,
        *,
        client: tuple[str, int] = DEFAULT_CLIENT,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        follow_redirects: bool = False,
        lifespan_timeout: float = DEFAULT_LIFESPAN_TIMEOUT,
    ) -> None:
        self.app = app
        self._client_address = client
        self._lifespan = _Lifespan(app, lifespan_timeout)
        self._bridge = _ThroughPortal(httpx.ASGITransport(app, client=client))
        self._loop_thread: ExitStack | None = None
        super().__init__(
            transport=self._bridge,
            base_url=base_url,
            headers=headers,
            cookies=cookies,
            follow_redirects=follow_redirects,
            trust_env=False,
        )

    def __enter__(self) -> Self:
        super().__enter__()
        loop_thread = ExitStack()
        try:
            portal = loop_thread.enter_context(start_blocking_portal("asyncio"))
            loop_thread.enter_context(portal.wrap_async_context_manager(self._lifespan))
        except BaseException:
            loop_thread.close()
            super().__exit__()
            raise
        self._loop_thread = loop_thread
        self._bridge.portal = portal
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        self._bridge.portal = None
        loop_thread = self._loop_thread
        self._loop_thread = None
        try:
            if loop_thread is not None:
                loop_thread.__exit__(exc_type, exc_value, traceback)
        finally:
            super().__exit__(exc_type, exc_value, traceback)

    def websocket_connect(
        self,
        url: str,
        *,
        subprotocols: Sequence[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> WebSocketConnection:
        """A WebSocket connection to ``url`` (a path, as for requests), for ``with``.

        ``headers`` are added to the client's own for the handshake (e.g. ``Origin``).
        """
        portal = self._bridge.portal
        if portal is None:
            raise _not_running("TestClient", "with")
        return WebSocketConnection(
            portal, _connection(self, self.app, self._client_address, url, subprotocols, headers)
        )
