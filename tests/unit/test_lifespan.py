"""The lifespan protocol, and the rule that unknown scope types are ignored."""

import asyncio

from micropie import App, InMemorySessionBackend
from micropie.asgi import Message


class Server:
    """The server side of the lifespan protocol: feeds events, records what the app sends."""

    def __init__(self, log: list[str] | None = None) -> None:
        self.events: asyncio.Queue[Message] = asyncio.Queue()
        self.sent: list[Message] = []
        self.log = log if log is not None else []
        self.replied = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def receive(self) -> Message:
        return await self.events.get()

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        self.log.append(message["type"])
        self.replied.set()

    def start(self, app: App) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
        self.task = asyncio.ensure_future(app(scope, self.receive, self.send))

    async def event(self, kind: str) -> Message:
        """Send ``kind`` and return the app's answer to it."""
        self.replied.clear()
        count = len(self.sent)
        await self.events.put({"type": kind})
        await asyncio.wait_for(self.replied.wait(), 1.0)
        assert len(self.sent) == count + 1, self.sent
        return self.sent[-1]

    async def stop(self) -> None:
        assert self.task is not None
        if not self.task.done():
            self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass


class LifespanStep:
    """A startup or shutdown handler that logs its name and may fail."""

    def __init__(self, log: list[str], name: str, error: Exception | None = None) -> None:
        self.log = log
        self.name = name
        self.error = error
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1
        await asyncio.sleep(0)
        self.log.append(self.name)
        if self.error is not None:
            raise self.error


async def test_startup_and_shutdown_handlers_run_once_in_order() -> None:
    log: list[str] = []
    app = App()
    first, second = LifespanStep(log, "start 1"), LifespanStep(log, "start 2")
    stop_first, stop_second = LifespanStep(log, "stop 1"), LifespanStep(log, "stop 2")
    app.startup_handlers.extend([first, second])
    app.shutdown_handlers.extend([stop_first, stop_second])
    server = Server(log)
    server.start(app)
    assert await server.event("lifespan.startup") == {"type": "lifespan.startup.complete"}
    assert log == ["start 1", "start 2", "lifespan.startup.complete"]
    assert await server.event("lifespan.shutdown") == {"type": "lifespan.shutdown.complete"}
    assert log == [
        "start 1",
        "start 2",
        "lifespan.startup.complete",
        "stop 1",
        "stop 2",
        "lifespan.shutdown.complete",
    ]
    assert [step.calls for step in (first, second, stop_first, stop_second)] == [1, 1, 1, 1]
    assert server.task is not None
    await asyncio.wait_for(server.task, 1.0)


async def test_without_handlers_startup_and_shutdown_complete() -> None:
    server = Server()
    server.start(App())
    assert (await server.event("lifespan.startup"))["type"] == "lifespan.startup.complete"
    assert (await server.event("lifespan.shutdown"))["type"] == "lifespan.shutdown.complete"
    await server.stop()


async def test_a_failing_startup_handler_sends_startup_failed_with_its_message() -> None:
    log: list[str] = []
    app = App()
    shutdown = LifespanStep(log, "stop")
    failing = LifespanStep(log, "db", RuntimeError("database unreachable"))
    app.startup_handlers.extend([LifespanStep(log, "ok"), failing])
    app.shutdown_handlers.append(shutdown)
    server = Server(log)
    server.start(app)
    answer = await server.event("lifespan.startup")
    assert answer["type"] == "lifespan.startup.failed"
    assert answer["message"] == "database unreachable"
    assert "lifespan.startup.complete" not in log
    assert shutdown.calls == 0
    await server.stop()


async def test_a_failing_shutdown_handler_sends_shutdown_failed_with_its_message() -> None:
    log: list[str] = []
    app = App()
    app.shutdown_handlers.append(LifespanStep(log, "flush", ValueError("flush failed")))
    server = Server(log)
    server.start(app)
    assert (await server.event("lifespan.startup"))["type"] == "lifespan.startup.complete"
    answer = await server.event("lifespan.shutdown")
    assert answer == {"type": "lifespan.shutdown.failed", "message": "flush failed"}
    assert "lifespan.shutdown.complete" not in log
    await server.stop()


async def test_handlers_attached_by_a_subclass_constructor_run() -> None:
    class Site(App):
        def __init__(self) -> None:
            super().__init__()
            self.ready = False
            self.startup_handlers.append(self.open)

        async def open(self) -> None:
            self.ready = True

    site = Site()
    server = Server()
    server.start(site)
    assert (await server.event("lifespan.startup"))["type"] == "lifespan.startup.complete"
    assert site.ready
    await server.stop()


async def test_an_unknown_scope_type_is_ignored() -> None:
    calls: list[str] = []

    async def receive() -> Message:
        calls.append("receive")
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        calls.append("send")

    class Site(App):
        async def index(self) -> str:
            calls.append("handler")
            return "home"

    app = Site()
    for scope_type in ("custom", "webtransport", ""):
        await asyncio.wait_for(app({"type": scope_type, "path": "/"}, receive, send), 1.0)
    await asyncio.wait_for(app({"path": "/"}, receive, send), 1.0)
    assert calls == []


async def test_the_backend_is_closed_even_when_a_shutdown_handler_fails() -> None:
    closed: list[str] = []

    class Closing(InMemorySessionBackend):
        async def close(self) -> None:
            closed.append("closed")

    async def failing() -> None:
        raise OSError("flush failed")

    site = App(Closing())
    site.shutdown_handlers.append(failing)
    server = Server()
    server.start(site)
    assert (await server.event("lifespan.startup"))["type"] == "lifespan.startup.complete"
    assert await server.event("lifespan.shutdown") == {"type": "lifespan.shutdown.failed", "message": "flush failed"}
    assert closed == ["closed"]
    await server.stop()
