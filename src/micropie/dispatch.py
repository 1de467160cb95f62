"""The application: ASGI entry, and the conductor of an HTTP request through the other modules.

Rules:
- ``App`` is an ASGI 3 callable. ``http``, ``websocket`` and ``lifespan`` scopes are served;
  any other scope type is ignored.
- An HTTP request goes: session load (only with a cookie) → body (``body``) → ``before_request``
  middleware (which may answer, mount a sub-app or route explicitly) → route (``routes``) → bind
  (``binding``) → handler → ``after_request`` middleware → session save → send (``responses``,
  ``streaming``). This module orders the steps; the steps live in their modules.
- A HEAD request runs like the GET it stands for; only the body is left out when sending.
- A rejected request (``HTTPError``) gets its status and short message, with no session save
  and no ``after_request``. A handler or middleware exception, or a malformed result, is
  logged and answered 500 without its text. Nothing raises out of the ASGI call for those.
- ``AppCore`` is the compiled application; the public ``micropie.App`` is its interpreted
  subclass (defined in ``__init__``), whose instances have a ``__dict__`` so handlers can be
  attached at run time. Per-request work happens in this module's compiled functions, which
  read the app's settings from native attributes.
"""

import asyncio
import functools
import logging
import types
from typing import Any, Final

from mypy_extensions import mypyc_attr

from micropie.asgi import Receive, Scope, Send
from micropie.binding import Arguments, FieldPending, HandlerInfo, bind
from micropie.body import ClientDisconnected, check_declared_length, read_buffered_body, wants_body
from micropie.errors import PROBLEM_CONTENT_TYPE, HTTPError, plain_body, problem_document
from micropie.headers import parse_cookies, scan_head
from micropie.lifespan import LifespanHandler, run_lifespan
from micropie.middleware import HttpMiddleware, WebSocketMiddleware, run_after_request, run_before_request
from micropie.mount import hand_over, is_handed_over
from micropie.multipart import MultipartFileError, MultipartParse, is_multipart_type, start_multipart
from micropie.request import SESSION_KEY, Request, current_request
from micropie.responses import Headers, MalformedResult, WithHeaders, encode, outcome_of, redirect, send_complete
from micropie.responses import send_text
from micropie.routes import route_http
from micropie.sessions import InMemorySessionBackend, SessionBackend, SessionCycle
from micropie.settings import Settings
from micropie.streaming import send_stream, send_stream_head
from micropie.websocket import serve_websocket

logger: Final = logging.getLogger("micropie")

_COROUTINE: Final = types.CoroutineType

_NO_HEADERS: Final[tuple[()]] = ()


@mypyc_attr(allow_interpreted_subclasses=True)
class AppCore:
    """An ASGI application whose handlers are the methods of a subclass."""

    session_backend: SessionBackend
    middlewares: list[HttpMiddleware]
    ws_middlewares: list[WebSocketMiddleware]
    startup_handlers: list[LifespanHandler]
    shutdown_handlers: list[LifespanHandler]

    def __init__(self, session_backend: object = None, options: dict[str, object] | None = None) -> None:
        """``options``: the keyword options of ``micropie.App``, checked by ``settings``."""
        # ``object``: compiled code would reject a wrongly typed value with a TypeError before
        # it could be named; ``micropie.App`` declares the real types.
        if session_backend is None:
            session_backend = InMemorySessionBackend()
        elif not isinstance(session_backend, SessionBackend):
            raise ValueError("session_backend must be a SessionBackend")
        self.session_backend = session_backend
        self._settings = Settings(options or {})
        # Where handlers attached at run time live (the interpreted App has a __dict__).
        self._namespace: dict[str, object] | None = getattr(self, "__dict__", None)
        self.middlewares = []
        self.ws_middlewares = []
        self.startup_handlers = []
        self.shutdown_handlers = []

    @property
    def request(self) -> Request:
        """The request being handled in the current context."""
        return current_request.get()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind == "http":
            await serve_http(self, scope, receive, send)
        elif kind == "websocket":
            await serve_websocket(self, scope, receive, send)
        elif kind == "lifespan":
            await run_lifespan(
                self.startup_handlers, self.shutdown_handlers, receive, send, self.session_backend.close
            )

    def _error_response(self, status: int, detail: str, request: Request | None) -> object:
        """The answer to a request the framework itself refuses or fails: ``status`` (400, 404,
        408, 413, 500, 503…) and ``detail``, the short text the client may see (``"Bad JSON"``,
        ``"Parameter 'n' must be int"``; empty when there is none, always for a 500).
        ``request`` is None when the request could not be made at all.

        Override it to shape these answers: return anything a handler may return (and it may
        be ``async``), keeping ``status`` or not. A hook that raises, or returns a stream, is
        logged and the plain answer is sent. The default is MicroPie's plain text
        (``"404 Not Found"``), or an RFC 9457 document with the ``problem_details`` option.
        """
        if self._settings.problem_details:
            return status, problem_document(status, detail), [PROBLEM_CONTENT_TYPE]
        return status, plain_body(status, detail)

    def _redirect(self, location: str, extra_headers: Headers | None = None) -> WithHeaders[str]:
        """A 302 response to ``location`` (non-ASCII characters percent-encoded)."""
        return redirect(location, extra_headers)

    async def _render_template(self, template: str, /, **context: Any) -> str:
        """Render ``template`` from ``templates_dir`` with ``context`` (Jinja2, HTML autoescaped).

        The template name is positional-only, so ``name`` is free for the context.
        """
        return await self._settings.templates.render(template, context)


async def _bind_as_fields_arrive(info: HandlerInfo, request: Request, parse: MultipartParse) -> Arguments:
    """Bind while a multipart body is still being parsed, waiting for fields not yet there."""
    while True:
        try:
            arguments = bind(info, request, parse.running)
            break
        except FieldPending as pending:
            await parse.wait_for(pending.name)
    parse.raise_failure()
    return arguments


async def _answer(app: AppCore, request: Request | None, send: Send, status: int, detail: str, head: bool) -> None:
    """Send the framework's own answer (``status``, ``detail``) as the app's error hook shapes it."""
    try:
        result = app._error_response(status, detail, request)
        if isinstance(result, _COROUTINE):
            result = await result
        outcome = outcome_of(result)
        data, headers = encode(outcome)
    except Exception:
        logger.exception("The error hook failed for a %d answer; sending the plain one", status)
        data = None
    if data is None:  # the hook failed, or gave a stream: the plain answer instead
        await send_text(send, status, plain_body(status, detail), head)
        return
    await send_complete(send, outcome.status, headers, data, head)


async def _answer_failure(
    app: AppCore, request: Request | None, send: Send, failure: Exception, path: str, head: bool
) -> None:
    """The response to a request that failed before its response could be sent."""
    if isinstance(failure, MultipartFileError) and isinstance(failure.cause, (HTTPError, ClientDisconnected)):
        failure = failure.cause
    if isinstance(failure, HTTPError):
        await _answer(app, request, send, failure.status, failure.detail, head)
        return
    if isinstance(failure, ClientDisconnected):
        return
    if isinstance(failure, MalformedResult):
        logger.error("Malformed response for %s: %s", path, failure)
    else:
        logger.error("Unhandled exception while handling %s", path, exc_info=failure)
    await _answer(app, request, send, 500, "", head)


def _session_cycle(app: AppCore, session: SessionCycle | None) -> SessionCycle:
    """The request's session cycle, made now if the request brought no session cookie."""
    return session if session is not None else SessionCycle(app.session_backend, app._settings.sessions)


async def serve_http(app: AppCore, scope: Scope, receive: Receive, send: Send) -> None:
    """One HTTP request, start to end, in the order the rules give. The common path runs inline,
    in this one coroutine."""
    path: str = scope.get("path", "/")
    try:
        request = Request(scope)
    except TypeError as unusable:  # what an outer layer left in the scope (see request)
        await _answer_failure(app, None, send, unusable, path, scope.get("method") == "HEAD")
        return
    token = current_request.set(request)
    in_context = True
    # An outer layer that put the session in the scope (a micropie app mounting this one, a
    # session middleware) loads and saves it; the request uses it as it is.
    session_outside = SESSION_KEY in scope
    # Made only for a request that brings a session cookie or ends with a session.
    session: SessionCycle | None = None
    parse: MultipartParse | None = None
    # What the steps end with: a failure, or a response (outcome, data and headers).
    failure: Exception | None = None
    data: bytes | None = None
    try:
        try:
            head = scan_head(scope.get("headers", _NO_HEADERS))
            cookie = head.cookie
            if cookie is not None and not session_outside:
                session = _session_cycle(app, None)
                await session.load(request, parse_cookies(cookie))
            # A body an outer layer already parsed (body_parsed in the scope) is not read again.
            if not request._body_parsed and wants_body(request._method, head.content_length, head.transfer_encoding):
                limits = app._settings.body_limits
                check_declared_length(head.content_length, limits)
                content_type = head.content_type or ""
                if is_multipart_type(content_type):
                    parse = start_multipart(request, content_type, receive, limits)
                else:
                    await read_buffered_body(request, content_type, receive, limits)
            middlewares = app.middlewares
            answer = await run_before_request(middlewares, request) if middlewares else None
            if answer is not None:
                outcome = answer
                if parse is not None:
                    await parse.cancel()
            elif middlewares and is_handed_over(request):
                saver = None if session_outside else functools.partial(_session_cycle(app, session).finish, request)
                await hand_over(request, scope, receive, send, parse, saver)
                return
            else:
                route = route_http(app, app._namespace, request, path)
                info = route.info
                function = route.function
                if info.params:
                    if parse is None:
                        arguments = bind(info, request, False)
                    else:
                        arguments = await _bind_as_fields_arrive(info, request, parse)
                    args = arguments.args
                    if route.takes_app:
                        args.insert(0, app)
                    kwargs = arguments.kwargs
                    result = function(*args, **kwargs) if kwargs else function(*args)
                else:
                    if parse is not None:
                        # Not for a body already known to be bad: let the parse take in what
                        # has arrived, then check.
                        await asyncio.sleep(0)
                        parse.raise_failure()
                    result = function(app) if route.takes_app else function()
                if info.is_coroutine or isinstance(result, _COROUTINE):
                    result = await result
                outcome = outcome_of(result)
                if parse is not None:
                    await parse.finish()
                if middlewares:
                    await run_after_request(middlewares, request, outcome)
            if not session_outside and (session is not None or request._session):
                cookie_header = await _session_cycle(app, session).finish(request)
                if cookie_header is not None:
                    outcome.add_header(cookie_header)
            data, headers = encode(outcome)
        except Exception as error:
            failure = error
            if parse is not None:
                await parse.cancel()
        except BaseException:
            if parse is not None:
                parse.abandon()
            raise
        head_only = request._method == "HEAD"
        if failure is None and data is None and not head_only:
            # A streamed body may read ``self.request`` until it ends: it is sent in the context.
            await send_stream(
                send, receive, outcome.status, headers, outcome.body, path, functools.partial(_answer, app, request, send)
            )
            return
        # Every other answer leaves the request's context before it goes out: a server that
        # schedules work while sending copies the context (uvicorn's keep-alive timer does), and
        # would keep the request and all it holds alive until that work runs, making the garbage
        # collector run far more often.
        current_request.reset(token)
        in_context = False
        if failure is not None:
            await _answer_failure(app, request, send, failure, path, head_only)
        elif data is not None:
            await send_complete(send, outcome.status, headers, data, head_only)
        else:
            await send_stream_head(send, outcome.status, headers, outcome.body)
    finally:
        # Files nobody read are dropped, and their spill files closed, however the request
        # ended (a mounted application's reply and a streamed body included).
        if parse is not None:
            parse.close()
        if in_context:
            current_request.reset(token)
