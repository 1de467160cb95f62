"""The middleware interfaces for HTTP requests and WebSocket connections, and running the
HTTP hooks (``run_before_request``, ``run_after_request``), which apply the rules below.

Rules:
- ``before_request`` runs after the body is read and the session loaded; returning a non-empty
  dict sends that response at once (keys ``status_code`` default 200, ``body`` default "",
  ``headers`` default []). ``after_request`` sees the handler's status, body (JSON already
  serialised to text) and headers, and may return any subset of those keys to replace them.
  None or an empty dict (any false value) changes nothing, as in MicroPie; any other value
  that is not a dict, or a dict with a bad status or headers, is a logged 500 naming the hook.
  The framework looks at what a hook returns itself, whatever its annotation says, so an
  untyped hook gets the same answer compiled and interpreted.
- A ``before_request`` may hand the request to another ASGI app by setting ``request._subapp``,
  ``request._subapp_path`` and optionally ``request._subapp_mount_path``, or route it explicitly
  with ``request._route_handler`` and a preset ``request.path_params``.
- The bases are abstract (see ``abstract``): a subclass implements both methods.
- A hook may be annotated to return the typed ``ResponseOverride`` (or ``CloseOverride``), or
  a plain ``dict[str, Any]`` as MicroPie's hooks are: the bases accept either, so both
  type-check as overrides.
- ``before_websocket`` returning a dict closes the connection with its ``code`` (default 1008)
  and ``reason``; ``after_websocket`` runs when the handler has finished.
- ``app.middlewares`` and ``app.ws_middlewares`` are lists any code may append to, so each
  item is checked as it is used (``http_middleware``, ``websocket_middleware``): one that is not
  an instance of the base is a ``TypeError`` naming the list, and the request a logged 500. A
  duck-typed hook object would work interpreted but not compiled; this keeps both the same.
"""

from abc import abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypedDict, cast

from mypy_extensions import mypyc_attr

from micropie import jsoncodec
from micropie.abstract import require_overrides
from micropie.request import Request, WebSocketRequest
from micropie.responses import MalformedResult, Outcome, checked_headers, checked_status, is_json_body

JSON_CONTENT_TYPE: Final = ("Content-Type", "application/json")


class ResponseOverride(TypedDict, total=False):
    """A response (or the parts of one) that middleware sends or substitutes."""

    status_code: int
    # Any, not object: mypyc cannot build a class whose annotation is ``object`` (KeyError at
    # import). A body is anything a handler may return.
    body: Any
    headers: list[tuple[str, str]]


class CloseOverride(TypedDict, total=False):
    """How WebSocket middleware closes a connection it refuses."""

    code: int
    reason: str


@mypyc_attr(allow_interpreted_subclasses=True)
class HttpMiddleware:
    """Hooks around every HTTP request: implement ``before_request`` and ``after_request``."""

    def __init__(self) -> None:
        require_overrides(self, HttpMiddleware, ("before_request", "after_request"))

    @abstractmethod
    async def before_request(self, request: Request) -> ResponseOverride | dict[str, Any] | None:
        """Inspect or decorate ``request``; return a response to send it instead of routing."""

    @abstractmethod
    async def after_request(
        self,
        request: Request,
        status_code: int,
        response_body: object,
        extra_headers: list[tuple[str, str]],
    ) -> ResponseOverride | dict[str, Any] | None:
        """Inspect the response; return the parts to replace."""


def http_middleware(item: object) -> HttpMiddleware:
    """``item`` of ``app.middlewares``, checked."""
    if isinstance(item, HttpMiddleware):
        return item
    raise TypeError(f"app.middlewares must hold HttpMiddleware instances, not {type(item).__name__}")


def _has_content_type(headers: list[tuple[str, str]] | None) -> bool:
    if headers:
        for pair in headers:
            if isinstance(pair, (tuple, list)) and len(pair) == 2 and str(pair[0]).lower() == "content-type":
                return True
    return False


def _override(outcome: Outcome, override: object, hook: str) -> None:
    if not isinstance(override, dict):
        raise MalformedResult(f"{hook} must return a dict or None, not {type(override).__name__}")
    try:
        if "status_code" in override:
            outcome.status = checked_status(override["status_code"])
        if "body" in override:
            outcome.body = override["body"]
        if "headers" in override:
            outcome.replace_headers(checked_headers(override["headers"]) or [])
    except MalformedResult as malformed:
        raise MalformedResult(f"{hook} returned {malformed}") from None


async def run_before_request(middlewares: list[HttpMiddleware], request: Request) -> Outcome | None:
    """The response the first ``before_request`` that answers gives, or None."""
    # Items as objects: each is checked as it is used. Each hook is called through a reference
    # typed as what an untyped hook may return, which _override checks.
    for item in cast("list[object]", middlewares):
        before: Callable[[Request], Awaitable[object]] = http_middleware(item).before_request
        early = await before(request)
        if early:
            outcome = Outcome(200, "", None)
            _override(outcome, early, "before_request")
            return outcome
    return None


async def run_after_request(middlewares: list[HttpMiddleware], request: Request, outcome: Outcome) -> None:
    """Show ``outcome`` to every ``after_request`` in turn, applying what each returns."""
    body = outcome.body
    if is_json_body(body):
        outcome.body = jsoncodec.dumps(body).decode("utf-8")
        if not _has_content_type(outcome.headers):
            outcome.add_header(JSON_CONTENT_TYPE)
    for item in cast("list[object]", middlewares):
        # An after_request may append to the list it is given, MicroPie style.
        after: Callable[[Request, int, object, list[tuple[str, str]]], Awaitable[object]]
        after = http_middleware(item).after_request
        change = await after(request, outcome.status, outcome.body, outcome.owned_headers())
        if change:
            _override(outcome, change, "after_request")


@mypyc_attr(allow_interpreted_subclasses=True)
class WebSocketMiddleware:
    """Hooks around every WebSocket connection: implement both methods."""

    def __init__(self) -> None:
        require_overrides(self, WebSocketMiddleware, ("before_websocket", "after_websocket"))

    @abstractmethod
    async def before_websocket(self, request: WebSocketRequest) -> CloseOverride | dict[str, Any] | None:
        """Inspect ``request``; return a close code and reason to refuse the connection."""

    @abstractmethod
    async def after_websocket(self, request: WebSocketRequest) -> None:
        """Runs when the WebSocket handler has finished."""


def websocket_middleware(item: object) -> WebSocketMiddleware:
    """``item`` of ``app.ws_middlewares``, checked."""
    if isinstance(item, WebSocketMiddleware):
        return item
    raise TypeError(f"app.ws_middlewares must hold WebSocketMiddleware instances, not {type(item).__name__}")
