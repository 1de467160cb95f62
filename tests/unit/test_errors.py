"""errors.py, and the framework's own answers as an application shapes them.

Every answer micropie makes by itself (400, 404, 408, 413, 500, 503) goes through
``App._error_response``: MicroPie's plain text by default, RFC 9457 problem details with the
``problem_details`` option, or whatever an override returns. A hook that fails never makes the
answer fail.
"""

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from harness import call, get

from micropie import App, HttpMiddleware, Request, SessionBackend, WithStatus
from micropie.errors import HTTPError, plain_body, problem_document

BAD_COOKIE = {"session_id": "0b8a2f5e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"}


def test_the_plain_body_and_the_problem_document() -> None:
    assert plain_body(404) == "404 Not Found"
    assert plain_body(400, "Bad JSON") == "400 Bad Request: Bad JSON"
    assert plain_body(418) == "418 Error"
    assert problem_document(413, "Too many form fields") == {
        "type": "about:blank", "title": "Payload Too Large", "status": 413, "detail": "Too many form fields",
    }
    assert problem_document(500) == {"type": "about:blank", "title": "Internal Server Error", "status": 500}
    assert HTTPError(400, "Bad JSON").body == "400 Bad Request: Bad JSON"


class Down(SessionBackend):
    async def load(self, session_id: str) -> dict[str, Any]:
        raise HTTPError(503, "Session store unavailable")

    async def save(self, session_id: str, data: dict[str, Any], timeout: int) -> None:
        return None


async def failing_stream() -> AsyncIterator[str]:
    if "never" not in "":  # fails before its first chunk
        raise RuntimeError("before the first chunk")
    yield "never"


class Site(App):
    async def count(self, n: int) -> str:
        return str(n)

    async def fail(self) -> str:
        raise RuntimeError("secret text")

    async def echo(self) -> object:
        return self.request.json()

    async def stream(self) -> AsyncIterator[str]:
        return failing_stream()


# (request, status, detail) for each kind of answer the framework makes.
ANSWERS = [
    ({"path": "/count/many"}, 400, "Parameter 'n' must be int"),
    ({"path": "/nowhere"}, 404, ""),
    ({"path": "/echo", "method": "POST", "body": b"{", "content_type": "application/json"}, 400, "Bad JSON"),
    ({"path": "/echo", "method": "POST", "body": b"x" * 50, "content_type": "application/json"}, 413, ""),
    ({"path": "/echo", "method": "POST", "chunks": [b"{", b"}"], "pause": 0.3,
      "content_type": "application/json"}, 408, "Failed to receive body"),
    ({"path": "/fail"}, 500, ""),
    ({"path": "/stream"}, 500, ""),
    ({"path": "/count/1", "cookies": BAD_COOKIE}, 503, "Session store unavailable"),
]


def site(**options: Any) -> Site:
    return Site(Down(), max_body_size=10, body_timeout=0.1, **options)


async def ask(app: App, request: dict[str, Any]) -> Any:
    options = dict(request)
    return await call(app, options.pop("method", "GET"), options.pop("path"), **options)


@pytest.mark.parametrize("request_,status,detail", ANSWERS)
async def test_by_default_every_answer_is_micropie_s_plain_text(request_: dict[str, Any], status: int, detail: str) -> None:
    reply = await ask(site(), request_)
    assert (reply.status, reply.text, reply.header("content-type")) == (
        status, plain_body(status, detail), "text/html; charset=utf-8")


@pytest.mark.parametrize("request_,status,detail", ANSWERS)
async def test_problem_details_answer_rfc_9457_documents(request_: dict[str, Any], status: int, detail: str) -> None:
    reply = await ask(site(problem_details=True), request_)
    assert (reply.status, reply.header("content-type")) == (status, "application/problem+json")
    assert reply.json() == problem_document(status, detail)


class Shaped(Site):
    seen: list[tuple[int, str, bool]]

    async def _error_response(self, status: int, detail: str, request: Request | None) -> WithStatus[dict[str, str]]:
        self.seen.append((status, detail, request is not None))
        return status, {"error": detail or "internal"}


@pytest.mark.parametrize("request_,status,detail", ANSWERS)
async def test_an_async_override_shapes_every_answer(request_: dict[str, Any], status: int, detail: str) -> None:
    app = Shaped(Down(), max_body_size=10, body_timeout=0.1)
    app.seen = []
    reply = await ask(app, request_)
    assert (reply.status, reply.json()) == (status, {"error": detail or "internal"})
    assert app.seen == [(status, detail, True)]


async def test_a_head_request_gets_the_shaped_status_and_headers_without_a_body() -> None:
    app = site(problem_details=True)
    head = await call(app, "HEAD", "/nowhere")
    full = await get(app, "/nowhere")
    assert (head.status, head.body, head.header("content-length")) == (404, b"", full.header("content-length"))


async def test_a_request_that_could_not_be_made_reaches_the_hook_as_none() -> None:
    app = Shaped()
    app.seen = []

    async def outer(scope: Any, receive: Any, send: Any) -> None:
        await app({**scope, "session": [1]}, receive, send)

    reply = await call(outer, "GET", "/count/1")
    assert (reply.status, reply.json(), app.seen) == (500, {"error": "internal"}, [(500, "", False)])


class Failing(Site):
    def __init__(self, result: object) -> None:
        super().__init__()
        self.result = result

    def _error_response(self, status: int, detail: str, request: Request | None) -> object:
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


async def endless() -> AsyncIterator[str]:
    yield "a stream"


@pytest.mark.parametrize("result", [RuntimeError("hook broke"), (200, "x", "not headers"), endless()],
                         ids=["raises", "malformed", "a stream"])
async def test_a_hook_that_fails_gets_the_plain_answer_and_a_log(result: object, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="micropie"):
        reply = await get(Failing(result), "/nowhere")
    assert (reply.status, reply.text) == (404, "404 Not Found")
    if not hasattr(result, "__aiter__"):
        assert "The error hook failed for a 404 answer" in caplog.text


async def test_a_hook_may_change_the_status() -> None:
    reply = await get(Failing((410, "Gone for good")), "/nowhere")
    assert (reply.status, reply.text) == (410, "Gone for good")


async def test_an_answer_from_middleware_is_the_middleware_s_not_the_hook_s() -> None:
    class Refuse(HttpMiddleware):
        async def before_request(self, request: Request) -> dict[str, Any]:
            return {"status_code": 403, "body": "members only"}

        async def after_request(self, request: Request, status_code: int, response_body: object,
                                extra_headers: list[tuple[str, str]]) -> None:
            return None

    app = site(problem_details=True)
    app.middlewares.append(Refuse())
    reply = await get(app, "/count/1")
    assert (reply.status, reply.text) == (403, "members only")
    assert json.loads((await get(site(problem_details=True), "/nowhere")).body)["status"] == 404
