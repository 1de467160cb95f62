"""Handing a request over to another ASGI application mounted by middleware.

Rules:
- The sub-application gets a copy of the scope with ``path`` set to ``request._subapp_path``,
  ``root_path`` extended by ``request._subapp_mount_path``, and the parent's parsed state under
  the keys ``body_params``, ``json_body``, ``files``, ``session`` and ``body_parsed``, and every
  uploaded file under ``ALL_FILES_KEY``.
- ``_subapp`` must be callable and ``_subapp_path`` / ``_subapp_mount_path`` str (or unset):
  anything else is a ``TypeError`` naming the attribute, so the request is a logged 500.
- A sub-application that fails before its response starts gets the parent's 500; one that
  fails after is logged and its response left incomplete (a second start would be invalid).
- Its ``receive`` gives an empty, final body when the parent already read the body, and passes
  through to the server otherwise (and always, once the body is done, for disconnects).
- A micropie sub-application's ``Request`` adopts that state instead of reading the body again,
  and leaves the session to the parent: the parent saves it when the sub-application starts its
  response, adding its Set-Cookie header to that response if the session needs one. A parent
  that itself got its session from an outer layer saves nothing (``save_session`` is None).
"""

from collections.abc import Awaitable, Callable
import logging
from typing import Final, cast

from micropie.asgi import ASGIApp, Message, Receive, Scope, Send
from micropie.headers import encode_header
from micropie.multipart import MultipartParse
from micropie.request import ALL_FILES_KEY, BODY_PARAMS_KEY, BODY_PARSED_KEY, FILES_KEY, JSON_BODY_KEY, SESSION_KEY
from micropie.request import Request

logger: Final = logging.getLogger("micropie")

SessionSaver = Callable[[], Awaitable[tuple[str, str] | None]]



class _SubappReceive:
    def __init__(self, receive: Receive, body_consumed: bool) -> None:
        self.receive = receive
        self.body_pending = body_consumed

    async def __call__(self) -> Message:
        if self.body_pending:
            self.body_pending = False
            return {"type": "http.request", "body": b"", "more_body": False}
        return await self.receive()


def mount_scope(request: Request, scope: Scope, path: str, mount_path: str) -> Scope:
    child = dict(scope)
    child["path"] = path
    root_path: str = scope.get("root_path", "")
    mount = mount_path.strip("/")
    child["root_path"] = f"{root_path}/{mount}" if mount else root_path
    child[BODY_PARAMS_KEY] = request.body_params
    child[JSON_BODY_KEY] = request.json()
    child[FILES_KEY] = request.files
    child[ALL_FILES_KEY] = request._all_files
    child[SESSION_KEY] = request.session
    child[BODY_PARSED_KEY] = request._body_parsed
    return child


class _SessionSavingSend:
    """Saves the parent's session just before the sub-application's response starts."""

    def __init__(self, send: Send, save_session: SessionSaver | None) -> None:
        self.send = send
        self.save_session: SessionSaver | None = save_session
        self.started = False

    async def __call__(self, message: Message) -> None:
        save = self.save_session
        if message.get("type") == "http.response.start":
            self.started = True
        if save is not None and self.started:
            self.save_session = None
            cookie = await save()
            encoded = None if cookie is None else encode_header(cookie[0], cookie[1])
            if encoded is not None:
                message = {**message, "headers": [*(message.get("headers") or []), encoded]}
        await self.send(message)


def _text(request: Request, attribute: str, default: str) -> str:
    value = request.attribute(attribute)
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return value
    raise TypeError(f"request.{attribute} must be a str, not {type(value).__name__}")


def is_handed_over(request: Request) -> bool:
    """Whether middleware handed ``request`` to another application (``request._subapp``)."""
    return request.attribute("_subapp") is not None


async def hand_over(
    request: Request,
    scope: Scope,
    receive: Receive,
    send: Send,
    parse: MultipartParse | None,
    save_session: SessionSaver | None,
) -> None:
    """Serve ``request`` with the application middleware chose, once its body is all parsed."""
    if parse is not None:
        await parse.finish()
    subapp = request.attribute("_subapp")
    if not callable(subapp):
        raise TypeError(f"request._subapp must be an ASGI application, not {type(subapp).__name__}")
    path = _text(request, "_subapp_path", "/")
    mount_path = _text(request, "_subapp_mount_path", "")
    child = mount_scope(request, scope, path, mount_path)
    child_send = _SessionSavingSend(send, save_session)
    try:
        await cast(ASGIApp, subapp)(child, _SubappReceive(receive, request._body_parsed), child_send)
    except Exception:
        if not child_send.started:
            raise
        # Its response has begun: no other can be sent, so it is left incomplete.
        logger.exception("Mounted application failed during its response to %s", path)
