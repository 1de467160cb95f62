"""Streaming an iterator body while watching for the client to leave.

Rules:
- The response starts with the first chunk: the status and headers are sent once the body has
  produced one (or ended empty). A body whose iteration fails before that (``__iter__``,
  ``__aiter__`` or the first step raises) is logged and answered 500 instead; one that fails
  later is logged and the response is left incomplete, so the client sees a truncated
  response rather than a silently shortened one. Nothing raises out of the ASGI call.
- Chunks are sent as they come: ``str`` encoded as UTF-8, ``bytes``-like as is, anything else as
  ``str(chunk)``.
- For a HEAD request the status and headers are sent at once and the body is closed without
  being iterated (so the status is the handler's even if its iterator would fail).
- While streaming, ``receive()`` is watched for ``http.disconnect``; on it the stream stops at
  once: an async iterator's pending step is cancelled and ``aclose()`` is awaited, a sync one is
  closed as soon as its current step returns.
- Sync iterables are iterated (``iter()``, every ``next()``, ``close()``) in worker threads, one
  step at a time, in a copy of the request's context, so a slow ``next()`` never blocks the
  event loop and ``self.request`` works there as in the handler.
- When the stream ends, nothing it started is left running: the watcher task (and the pump,
  if the client left) is cancelled and awaited. If serving the request is itself cancelled,
  both tasks are cancelled and left to finish on their own (no ``await`` may follow there).
- No ``await`` inside ``finally`` here: compiled, an ``await`` in the ``finally`` of a cancelled
  task leaks its CancelledError into another task's ``finally`` that also awaits (mypyc 2.4).
  Cleanup that awaits runs in ``except BaseException`` and on the normal path instead.
"""

import asyncio
import contextvars
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Final

from micropie.asgi import Receive, ResponseHeaders, Send
from micropie.responses import encode_text

logger: Final = logging.getLogger("micropie")

_END: Final = object()


def _chunk_bytes(chunk: object) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, str):
        return encode_text(chunk)
    if isinstance(chunk, (bytearray, memoryview)):
        return bytes(chunk)
    return encode_text(str(chunk))


async def _wait_for_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message.get("type") == "http.disconnect":
            return
        # A receive() that answers at once with something else must not starve the stream.
        await asyncio.sleep(0)


class _AsyncChunks:
    """The chunks of an async iterable, stepped on the event loop."""

    def __init__(self, iterable: Any) -> None:
        self.iterable = iterable
        self.iterator: AsyncIterator[object] | None = None

    async def next(self) -> object:
        """The next chunk, or ``_END``."""
        iterator = self.iterator
        if iterator is None:
            iterator = self.iterable.__aiter__()
            self.iterator = iterator
        try:
            return await iterator.__anext__()
        except StopAsyncIteration:
            return _END

    async def close(self) -> None:
        aclose = getattr(self.iterator, "aclose", None)
        if aclose is not None:
            await aclose()

    def abandon(self) -> None:
        """Nothing to do without awaiting: ``close`` runs on the way out."""


class _ThreadedChunks:
    """The chunks of a sync iterable, stepped and closed in worker threads, one step at a time."""

    def __init__(self, iterable: Any) -> None:
        self.iterable = iterable
        self.iterator: Iterator[object] | None = None
        self.lock = threading.Lock()
        self.context = contextvars.copy_context()

    def _step(self) -> object:
        iterator = self.iterator
        if iterator is None:
            iterator = iter(self.iterable)
            self.iterator = iterator
        return next(iterator, _END)

    def _advance(self) -> object:
        # The lock also keeps two threads from entering the one context at once.
        with self.lock:
            return self.context.run(self._step)

    def _close(self) -> None:
        with self.lock:
            close = getattr(self.iterator, "close", None)
            if close is None:
                return
            try:
                self.context.run(close)
            except Exception:
                logger.exception("Closing a streamed iterator failed")

    async def next(self) -> object:
        """The next chunk, or ``_END``."""
        return await asyncio.get_running_loop().run_in_executor(None, self._advance)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._close)

    def abandon(self) -> None:
        """Close without waiting: a worker thread may still be inside ``next()``."""
        asyncio.get_running_loop().run_in_executor(None, self._close)


class _Pump:
    """Sends one streamed response; ``started`` tells whether its start has gone out."""

    def __init__(
        self, send: Send, chunks: _AsyncChunks | _ThreadedChunks, status: int, headers: ResponseHeaders
    ) -> None:
        self.send = send
        self.chunks = chunks
        self.status = status
        self.headers = headers
        self.started = False

    async def run(self) -> None:
        send = self.send
        chunks = self.chunks
        try:
            chunk = await chunks.next()
            self.started = True
            await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
            while chunk is not _END:
                await send({"type": "http.response.body", "body": _chunk_bytes(chunk), "more_body": True})
                chunk = await chunks.next()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if isinstance(chunks, _AsyncChunks):
                await chunks.close()
            else:
                chunks.abandon()
            raise
        except BaseException:
            await chunks.close()
            raise
        await chunks.close()


async def send_stream_head(send: Send, status: int, headers: ResponseHeaders, body: Any) -> None:
    """The headers of a streamed response, for a HEAD request: the body is closed unread."""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b""})
    # An iterator that has not started runs no code when it is closed.
    aclose = getattr(body, "aclose", None)
    if aclose is not None:
        await aclose()
        return
    close = getattr(body, "close", None)
    if close is not None:
        close()


async def send_stream(
    send: Send,
    receive: Receive,
    status: int,
    headers: ResponseHeaders,
    body: Any,
    path: str,
    answer_failure: Callable[[int, str, bool], Awaitable[None]],
) -> None:
    """Send ``body`` (a sync or async iterable) as a streamed response; a failure before its
    first chunk is answered by ``answer_failure(500, "", False)``, as the app shapes it."""
    chunks = _AsyncChunks(body) if hasattr(body, "__aiter__") else _ThreadedChunks(body)
    pump = _Pump(send, chunks, status, headers)
    pumping = asyncio.ensure_future(pump.run())
    watcher = asyncio.ensure_future(_wait_for_disconnect(receive))
    try:
        await asyncio.wait((pumping, watcher), return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        pumping.cancel()
        watcher.cancel()
        raise
    for task in (watcher, pumping):
        if not task.done():
            task.cancel()
    await asyncio.wait((pumping, watcher))
    failure = None if pumping.cancelled() else pumping.exception()
    if failure is not None:
        if pump.started:
            logger.error("Streamed response for %s failed", path, exc_info=failure)
        else:
            logger.error("Unhandled exception while handling %s", path, exc_info=failure)
            await answer_failure(500, "", False)
    if not watcher.cancelled() and watcher.exception() is not None:
        logger.debug("receive() failed while streaming %s", path, exc_info=watcher.exception())
