"""What differs between the supported Pythons, held to one behaviour (docs/mypyc.md).

- An exception thrown into a compiled coroutine (a cancellation, a timeout) reaches what that
  coroutine awaits with ``throw(exception)``: mypyc's runtime used the three-argument form,
  which Python 3.12 and later deprecate, so under warnings-as-errors every cancellation that
  crossed from compiled into interpreted code failed. The wheel is built with a patched
  runtime (build.py); these tests fail on 3.12+ if a build goes without it.
- The supported Pythons are named once, as classifiers, and ``requires-python`` admits exactly
  those (test_mirrors.py); ``.ci/run`` tests every one of them.
- JSON nests at most ``jsoncodec.MAX_DEPTH`` deep on every Python, whatever the decoder's own
  recursion limit (about 1,000 on 3.11, far more on 3.13).
"""

import asyncio
import sys
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import pytest
from harness import call, http_scope

from micropie import App, jsoncodec
from micropie.asgi import Message
from micropie.body import receive_within
from micropie.errors import HTTPError


@contextmanager
def no_warnings() -> Iterator[None]:
    """Fail if anything inside warns, recording instead of raising so the whole path runs."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    assert [str(warning.message) for warning in caught] == []


async def never_arrives() -> Message:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


def pending_future() -> Awaitable[Message]:
    # asyncio's C future iterator warns about the three-argument throw() on 3.12+ too.
    return asyncio.get_running_loop().create_future()


@pytest.mark.parametrize("receive", [never_arrives, pending_future], ids=["coroutine", "future"])
async def test_a_timeout_in_compiled_code_reaches_what_it_awaits_without_a_warning(
    receive: Callable[[], Awaitable[Message]],
) -> None:
    with no_warnings():
        with pytest.raises(HTTPError) as raised:
            await receive_within(receive, 0.01)
    assert raised.value.status == 408


class Slow(App):
    started: asyncio.Event

    async def wait(self) -> str:
        self.started.set()
        await asyncio.sleep(60)
        return "never"


async def test_cancelling_a_request_reaches_the_handler_without_a_warning() -> None:
    app = Slow()
    app.started = asyncio.Event()
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    with no_warnings():
        task = asyncio.ensure_future(app(http_scope("GET", "/wait"), receive, send))
        await app.started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert sent == []


async def test_json_depth_is_the_stated_limit_on_this_python() -> None:
    deepest = b"[" * jsoncodec.MAX_DEPTH + b"]" * jsoncodec.MAX_DEPTH
    one_more = b"[" + deepest + b"]"
    assert jsoncodec.loads(deepest) is not None
    with pytest.raises(ValueError):
        jsoncodec.loads(one_more)
    # The limit stands however much stack the caller already uses.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)
    try:
        with pytest.raises(ValueError):
            jsoncodec.loads(b"[" * 20_000 + b"]" * 20_000)
    finally:
        sys.setrecursionlimit(limit)


class Echo(App):
    async def echo(self) -> object:
        return self.request.json()


async def test_deep_json_bodies_get_the_same_answer_on_every_python() -> None:
    deepest = b"[" * jsoncodec.MAX_DEPTH + b"]" * jsoncodec.MAX_DEPTH
    reply = await call(Echo(), "POST", "/echo", body=deepest, content_type="application/json")
    assert (reply.status, reply.body) == (200, deepest)
    reply = await call(Echo(), "POST", "/echo", body=b"[" + deepest + b"]", content_type="application/json")
    assert (reply.status, reply.text) == (400, "400 Bad Request: Bad JSON")
