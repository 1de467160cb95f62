"""Streaming an iterator body while watching for the client to leave.

Rules:
- Chunks are sent as they come: ``str`` encoded as UTF-8, ``bytes``-like as is, anything else as
  ``str(chunk)``.
- While streaming, ``receive()`` is watched for ``http.disconnect``; on it the stream stops at
  once: an async iterator's pending step is cancelled and ``aclose()`` is awaited, a sync one is
  closed as soon as its current step returns.
- Sync iterators advance in a worker thread, so a slow ``next()`` never blocks the event loop.
- A stream that raises is logged and the response is left incomplete, so the client sees a
  truncated response rather than a silently shortened one.
- When the stream ends, nothing it started is left running: the watcher task is cancelled and
  awaited.
- No ``await`` inside ``finally`` here: compiled, an ``await`` in the ``finally`` of a cancelled
  task leaks its CancelledError into another task's ``finally`` that also awaits (mypyc 2.4).
  Cleanup that awaits runs in ``except BaseException`` and on the normal path instead.
"""

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator
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


async def _close_async(iterator: AsyncIterator[object]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


async def _send_async(send: Send, iterator: AsyncIterator[object]) -> None:
    try:
        async for chunk in iterator:
            await send({"type": "http.response.body", "body": _chunk_bytes(chunk), "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except BaseException:
        await _close_async(iterator)
        raise
    await _close_async(iterator)


class _ThreadedIterator:
    """A sync iterator advanced and closed in worker threads, one step at a time."""

    def __init__(self, iterator: Iterator[object]) -> None:
        self.iterator = iterator
        self.lock = threading.Lock()

    def advance(self) -> object:
        with self.lock:
            return next(self.iterator, _END)

    def close(self) -> None:
        with self.lock:
            close = getattr(self.iterator, "close", None)
            if close is None:
                return
            try:
                close()
            except Exception:
                logger.exception("Closing a streamed iterator failed")


async def _send_sync(send: Send, iterator: Iterator[object]) -> None:
    loop = asyncio.get_running_loop()
    worker = _ThreadedIterator(iterator)
    try:
        while True:
            chunk = await loop.run_in_executor(None, worker.advance)
            if chunk is _END:
                break
            await send({"type": "http.response.body", "body": _chunk_bytes(chunk), "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except BaseException:
        # A worker thread may still be inside next(); the close waits for it there.
        loop.run_in_executor(None, worker.close)
        raise
    await loop.run_in_executor(None, worker.close)


async def send_stream(
    send: Send, receive: Receive, status: int, headers: ResponseHeaders, body: Any, path: str
) -> None:
    """Send ``body`` (a sync or async iterable) as a streamed response."""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    if hasattr(body, "__aiter__"):
        pump = asyncio.ensure_future(_send_async(send, body.__aiter__()))
    else:
        pump = asyncio.ensure_future(_send_sync(send, iter(body)))
    watcher = asyncio.ensure_future(_wait_for_disconnect(receive))
    try:
        await asyncio.wait((pump, watcher), return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        pump.cancel()
        watcher.cancel()
        raise
    for task in (watcher, pump):
        if not task.done():
            task.cancel()
    await asyncio.wait((pump, watcher))
    if not pump.cancelled() and pump.exception() is not None:
        logger.error("Streamed response for %s failed", path, exc_info=pump.exception())
    if not watcher.cancelled() and watcher.exception() is not None:
        logger.debug("receive() failed while streaming %s", path, exc_info=watcher.exception())
