"""mount.py on its own: handing a request to an application middleware chose.

Mounting through whole requests is in test_middleware.py and test_lists.py; here each rule of
the module's opening comment is checked on ``hand_over`` with a recording sub-application.
"""

import logging
from typing import Any

import pytest

from micropie import Request
from micropie.asgi import Message, Scope
from micropie.mount import hand_over, is_handed_over
from micropie.request import ALL_FILES_KEY


class Child:
    """A sub-application that records what it was given, and answers or fails as told."""

    def __init__(self, fail_before_start: bool = False, fail_after_start: bool = False) -> None:
        self.fail_before_start = fail_before_start
        self.fail_after_start = fail_after_start
        self.scope: Scope = {}
        self.received: list[Message] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        self.scope = scope
        self.received.append(await receive())
        if self.fail_before_start:
            raise RuntimeError("before start")
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-child", b"1")]})
        if self.fail_after_start:
            raise RuntimeError("after start")
        await send({"type": "http.response.body", "body": b"child"})


def parent_request(child: Child, **extras: object) -> Request:
    request = Request({"type": "http", "method": "POST", "path": "/admin/users", "root_path": "/site"})
    request._subapp = child
    for name, value in extras.items():
        setattr(request, name, value)
    return request


async def serve(request: Request, saver: Any = None) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await hand_over(request, request.scope, receive, send, None, saver)
    return sent


async def test_the_child_gets_its_path_a_longer_root_path_and_the_parent_s_state() -> None:
    child = Child()
    request = parent_request(child, _subapp_path="/users", _subapp_mount_path="/admin/")
    request.session["user"] = "ada"
    request.body_params = {"f": ["1"]}
    request.body_parsed = True
    assert is_handed_over(request)
    await serve(request)
    scope = child.scope
    assert (scope["path"], scope["root_path"]) == ("/users", "/site/admin")
    assert scope["session"] is request.session and scope["body_params"] is request.body_params
    assert (scope["body_parsed"], scope["json_body"], scope[ALL_FILES_KEY]) == (True, {}, None)


async def test_a_body_the_parent_read_reaches_the_child_as_empty_and_final() -> None:
    child = Child()
    request = parent_request(child, body_parsed=True)
    await serve(request)
    assert child.received == [{"type": "http.request", "body": b"", "more_body": False}]
    unread = Child()
    await serve(parent_request(unread))
    assert unread.received == [{"type": "http.disconnect"}]  # the server's receive, passed through


async def test_the_parent_s_session_is_saved_as_the_child_starts_and_its_cookie_added() -> None:
    saved: list[str] = []

    async def saver() -> tuple[str, str] | None:
        saved.append("saved")
        return ("Set-Cookie", "session_id=abc; Path=/")

    sent = await serve(parent_request(Child()), saver)
    assert saved == ["saved"]
    assert sent[0]["headers"] == [(b"x-child", b"1"), (b"set-cookie", b"session_id=abc; Path=/")]


async def test_a_child_that_fails_before_starting_gets_the_parent_s_500() -> None:
    with pytest.raises(RuntimeError, match="before start"):
        await serve(parent_request(Child(fail_before_start=True)))


async def test_a_child_that_fails_after_starting_is_logged_and_left_incomplete(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="micropie"):
        sent = await serve(parent_request(Child(fail_after_start=True), _subapp_path="/x"))
    assert [message["type"] for message in sent] == ["http.response.start"]
    assert "Mounted application failed during its response to /x" in caplog.text


@pytest.mark.parametrize("attribute,value,message", [
    ("_subapp", "not an app", "request._subapp must be an ASGI application, not str"),
    ("_subapp_path", 5, "request._subapp_path must be a str, not int"),
    ("_subapp_mount_path", b"/x", "request._subapp_mount_path must be a str, not bytes"),
])
async def test_an_unusable_hand_over_names_the_attribute(attribute: str, value: object, message: str) -> None:
    request = parent_request(Child(), **{attribute: value})
    with pytest.raises(TypeError, match=message):
        await serve(request)
