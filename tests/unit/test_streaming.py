"""Streaming: iterators streamed, stopped on disconnect, sync ones off the event loop."""

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from harness import Client, get, http_scope

from micropie import App


async def disconnect_after(app: App, seconds: float) -> Client:
    """Serve GET / to ``app``; the client leaves after ``seconds``. Returns once the app ends."""
    client = Client([b""])
    task = asyncio.ensure_future(app(http_scope("GET", "/"), client.receive, client.send))
    await asyncio.sleep(seconds)
    client.disconnect()
    await asyncio.wait_for(task, 1)
    return client


async def test_async_generator_is_streamed_without_content_length() -> None:
    class Stream(App):
        async def index(self) -> tuple[int, AsyncIterator[str | bytes], list[tuple[str, str]]]:
            async def events() -> AsyncIterator[str | bytes]:
                yield "data: one\n\n"
                yield b"data: two\n\n"

            return 200, events(), [("Content-Type", "text/event-stream")]

    reply = await get(Stream(), "/")
    assert reply.body == b"data: one\n\ndata: two\n\n"
    assert reply.header("content-type") == "text/event-stream"
    assert reply.header("content-length") is None
    assert reply.complete
    chunks = [message.get("body") for message in reply.messages[1:]]
    assert chunks == [b"data: one\n\n", b"data: two\n\n", b""]


async def test_sync_generator_and_other_iterables_are_streamed() -> None:
    class Stream(App):
        def index(self) -> Iterator[str]:
            yield "a"
            yield "b"

        async def listed(self) -> tuple[int, Iterator[object]]:
            return 200, iter([b"x", "y", 3])

    assert (await get(Stream(), "/")).body == b"ab"
    assert (await get(Stream(), "/listed")).body == b"xy3"


async def test_sync_iterators_run_off_the_event_loop() -> None:
    threads: list[str] = []

    class Stream(App):
        async def index(self) -> Iterator[str]:
            def slow() -> Iterator[str]:
                threads.append(threading.current_thread().name)
                time.sleep(0.2)
                yield "done"

            return slow()

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.ensure_future(ticker())
    try:
        reply = await get(Stream(), "/")
    finally:
        task.cancel()
    assert reply.body == b"done"
    assert threads and threads[0] != threading.main_thread().name
    assert ticks >= 5, "the event loop was blocked while the iterator slept"


async def test_disconnect_cancels_and_closes_an_async_generator_promptly() -> None:
    closed = asyncio.Event()
    produced = 0

    class Stream(App):
        async def index(self) -> AsyncIterator[str]:
            async def forever() -> AsyncIterator[str]:
                nonlocal produced
                try:
                    while True:
                        produced += 1
                        yield "tick\n"
                        await asyncio.sleep(0.01)
                finally:
                    closed.set()

            return forever()

    client = await disconnect_after(Stream(), 0.05)
    assert closed.is_set()
    assert produced >= 2
    assert not client.reply().complete


async def test_disconnect_stops_a_generator_blocked_in_an_await() -> None:
    closed = asyncio.Event()

    class Stream(App):
        async def index(self) -> AsyncIterator[str]:
            async def waits() -> AsyncIterator[str]:
                try:
                    yield "first"
                    await asyncio.sleep(60)
                    yield "never"
                finally:
                    closed.set()

            return waits()

    await disconnect_after(Stream(), 0.02)
    assert closed.is_set()


async def test_disconnect_stops_a_sync_iterator() -> None:
    closed = threading.Event()
    produced = 0

    class Stream(App):
        def index(self) -> Iterator[str]:
            def forever() -> Iterator[str]:
                nonlocal produced
                try:
                    while True:
                        produced += 1
                        time.sleep(0.005)
                        yield "tick"
                finally:
                    closed.set()

            return forever()

    await disconnect_after(Stream(), 0.05)
    seen = produced
    assert await asyncio.to_thread(closed.wait, 1)
    await asyncio.sleep(0.05)
    assert produced <= seen + 1


async def test_no_receive_task_is_left_running_after_the_response() -> None:
    class Stream(App):
        async def index(self) -> AsyncIterator[str]:
            async def short() -> AsyncIterator[str]:
                yield "x"

            return short()

    before = asyncio.all_tasks()
    reply = await get(Stream(), "/")
    assert reply.complete
    await asyncio.sleep(0)
    assert asyncio.all_tasks() == before


async def test_a_stream_that_fails_midway_is_logged_and_left_incomplete(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Stream(App):
        async def index(self) -> AsyncIterator[str]:
            async def broken() -> AsyncIterator[str]:
                yield "partial"
                raise RuntimeError("backend died")

            return broken()

    with caplog.at_level(logging.ERROR, logger="micropie"):
        reply = await get(Stream(), "/")
    assert reply.status == 200
    assert reply.body == b"partial"
    assert not reply.complete
    assert any("Streamed response" in record.getMessage() for record in caplog.records)


async def test_a_sync_stream_that_fails_midway_is_left_incomplete(caplog: pytest.LogCaptureFixture) -> None:
    class Stream(App):
        def index(self) -> Iterator[str]:
            yield "partial"
            raise RuntimeError("disk gone")

    with caplog.at_level(logging.ERROR, logger="micropie"):
        reply = await get(Stream(), "/")
    assert reply.body == b"partial"
    assert not reply.complete


async def test_a_stream_can_read_the_request_while_it_streams() -> None:
    class Stream(App):
        async def index(self) -> AsyncIterator[str]:
            async def chunks() -> AsyncIterator[str]:
                yield self.request.method
                yield self.request.query("q") or ""

            return chunks()

    assert (await get(Stream(), "/", query="q=seen")).body == b"GETseen"
