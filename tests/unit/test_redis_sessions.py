"""RedisSessionBackend against a real redis-server of the tests' own.

Redis's own command statistics (``INFO commandstats``) count what each request costs.
"""

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from harness import RecordingBackend, WebSocketSession, cookie_from, get, run_python
from redis_server import RedisServer
from test_sessions import SessionSite

from micropie import SESSION_TIMEOUT, App, SessionBackend, WebSocket, jsoncodec
from micropie.redis_sessions import RedisSessionBackend

PREFIX = "micropie:session:"


@pytest.fixture
def server(redis_server: RedisServer) -> Iterator[RedisServer]:
    """The shared test Redis, emptied, with its statistics reset."""
    with redis_server.client() as client:
        client.flushall()
    redis_server.reset_statistics()
    yield redis_server


Make = Callable[..., RedisSessionBackend]


@pytest.fixture
async def make_backend(server: RedisServer) -> AsyncIterator[Make]:
    """Makes backends on the test Redis (unless given another URL), closed after the test."""
    made: list[RedisSessionBackend] = []

    def make(url: str | None = None, **options: Any) -> RedisSessionBackend:
        backend = RedisSessionBackend(url or server.url, **options)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        await backend.close()


@pytest.fixture
def backend(make_backend: Make) -> RedisSessionBackend:
    return make_backend(timeout=2)


def stored(server: RedisServer, session_id: str) -> Any:
    with server.client() as client:
        raw = client.get(PREFIX + session_id)
    return None if raw is None else json.loads(raw)


def ttl(server: RedisServer, session_id: str) -> int:
    with server.client() as client:
        return int(client.ttl(PREFIX + session_id))


async def start_session(app: App, **values: str) -> str:
    session_id = None
    cookies: dict[str, str] = {}
    for key, value in values.items():
        reply = await get(app, "/put", query=f"key={key}&value={value}", cookies=cookies)
        session_id = cookie_from(reply) or session_id
        assert session_id is not None
        cookies = {"session_id": session_id}
    assert session_id is not None
    return session_id


async def test_a_session_round_trips_through_redis_as_json(server: RedisServer, backend: RedisSessionBackend) -> None:
    app = SessionSite(backend)
    session_id = await start_session(app, user="alice", theme="dark")
    assert stored(server, session_id) == {"user": "alice", "theme": "dark"}
    shown = await get(app, "/show", cookies={"session_id": session_id})
    assert shown.json() == {"user": "alice", "theme": "dark"}
    assert SESSION_TIMEOUT - 5 < ttl(server, session_id) <= SESSION_TIMEOUT


async def test_another_backend_on_the_same_redis_sees_the_session(make_backend: Make) -> None:
    # Two app instances stand for two worker processes.
    writer = SessionSite(make_backend())
    reader = SessionSite(make_backend())
    session_id = await start_session(writer, user="alice")
    assert (await get(reader, "/show", cookies={"session_id": session_id})).json() == {"user": "alice"}


async def test_every_request_that_uses_the_session_renews_its_ttl(server: RedisServer, backend: RedisSessionBackend) -> None:
    app = SessionSite(backend, session_timeout=600)
    session_id = await start_session(app, user="alice")
    with server.client() as client:
        client.expire(PREFIX + session_id, 5)
    assert ttl(server, session_id) <= 5
    await get(app, "/show", cookies={"session_id": session_id})
    assert 595 < ttl(server, session_id) <= 600


async def test_an_expired_session_is_gone(server: RedisServer, backend: RedisSessionBackend) -> None:
    app = SessionSite(backend, session_timeout=1)
    session_id = await start_session(app, user="alice")
    await asyncio.sleep(1.2)
    assert (await get(app, "/show", cookies={"session_id": session_id})).json() == {}


def commands_for(server: RedisServer) -> dict[str, int]:
    counts = server.data_commands()
    server.reset_statistics()
    return counts


async def test_what_each_kind_of_request_costs_in_redis_commands(server: RedisServer, backend: RedisSessionBackend) -> None:
    app = SessionSite(backend)
    session_id = await start_session(app, user="alice")
    cookie = {"session_id": session_id}
    server.reset_statistics()

    await get(app, "/show")
    assert commands_for(server) == {}, "no cookie, no command"

    await get(app, "/show", cookies=cookie)
    assert commands_for(server) == {"getex": 1}, "a read is one command, which also renews the TTL"

    await get(app, "/put", query="key=user&value=alice", cookies=cookie)
    assert commands_for(server) == {"getex": 1}, "writing the same value back changes nothing"

    await get(app, "/put", query="key=theme&value=dark", cookies=cookie)
    assert commands_for(server) == {"getex": 1, "set": 1}

    reply = await get(app, "/put", query="key=user&value=bob")
    assert commands_for(server) == {"set": 1}, "a new session is one write"
    other = cookie_from(reply)
    assert other is not None

    await get(app, "/clear", cookies={"session_id": other})
    assert commands_for(server) == {"getex": 1, "del": 1}

    await get(app, "/show", cookies={"session_id": other})
    assert commands_for(server) == {"getex": 1}, "an unknown id costs its one read, and no delete"

    await get(app, "/put", query="key=user&value=carol", cookies={"session_id": other})
    assert commands_for(server) == {"getex": 1, "set": 1}, "a stale id starts a new session: no delete"

    await get(app, "/regenerate", cookies=cookie)
    assert commands_for(server) == {"getex": 1, "set": 1, "del": 1}, "a new id, and the old one deleted"


class Nested(App):
    async def append(self, item: str) -> list[str]:
        items: list[str] = self.request.session.setdefault("items", [])
        items.append(item)
        return items


async def test_a_change_inside_a_nested_value_is_saved(server: RedisServer, backend: RedisSessionBackend) -> None:
    app = Nested(backend)
    first = await get(app, "/append/a")
    session_id = cookie_from(first)
    assert session_id is not None
    assert (await get(app, "/append/b", cookies={"session_id": session_id})).json() == ["a", "b"]
    assert stored(server, session_id) == {"items": ["a", "b"]}


class Unstorable(App):
    async def store(self, kind: str) -> str:
        values: dict[str, object] = {
            "set": {1, 2}, "tuple": (1, 2), "nan": float("nan"), "bytes": b"x",
            "nested": {"ok": [1, {"deep": object()}]}, "huge": 10**5000,
            # One level inside the session's object, so a level deeper than jsoncodec reads back.
            "deep": nested_list(jsoncodec.MAX_DEPTH),
        }
        self.request.session["fine"] = "yes"
        self.request.session[kind] = values[kind]
        return "stored"


@pytest.mark.parametrize("kind", ["set", "tuple", "nan", "bytes", "nested", "huge", "deep"])
async def test_a_value_json_cannot_hold_is_a_500_naming_the_key(
    kind: str, server: RedisServer, backend: RedisSessionBackend, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="micropie"):
        reply = await get(Unstorable(backend), "/store", query=f"kind={kind}")
    assert (reply.status, reply.text) == (500, "500 Internal Server Error")
    assert reply.header_values("set-cookie") == []
    assert any(f"session key '{kind}'" in record.getMessage() or
               (record.exc_info and f"session key '{kind}'" in str(record.exc_info[1]))
               for record in caplog.records)
    with server.client() as client:
        assert client.keys("*") == []


def nested_list(depth: int) -> object:
    value: object = 0
    for _ in range(depth):
        value = [value]
    return value


async def test_a_session_as_deep_as_json_reads_back_round_trips(backend: RedisSessionBackend) -> None:
    # The session's own object is one level; its value may take every other level.
    deepest = {"deep": nested_list(jsoncodec.MAX_DEPTH - 1)}
    await backend.save("0b8a2f5e-1c3d-4e5f-8a9b-0c1d2e3f4a5b", deepest, 60)
    assert await backend.load("0b8a2f5e-1c3d-4e5f-8a9b-0c1d2e3f4a5b") == deepest


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'"text"', b"\xff\xfe", b"{", b"null"])
async def test_data_that_is_not_a_json_object_loads_as_an_empty_session(
    raw: bytes, server: RedisServer, backend: RedisSessionBackend, caplog: pytest.LogCaptureFixture
) -> None:
    session_id = "0b8a2f5e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
    with server.client() as client:
        client.set(PREFIX + session_id, raw)
    with caplog.at_level(logging.WARNING, logger="micropie"):
        reply = await get(SessionSite(backend), "/show", cookies={"session_id": session_id})
    assert (reply.status, reply.json()) == (200, {})
    assert any("not a JSON object" in record.getMessage() for record in caplog.records)


async def test_redis_down_is_a_503_for_session_requests_only_and_the_app_recovers(
    make_backend: Make, caplog: pytest.LogCaptureFixture,
) -> None:
    own = RedisServer()
    own.start()
    try:
        backend = make_backend(own.url, timeout=0.5)
        app = SessionSite(backend)
        session_id = await start_session(app, user="alice")
        own.stop()
        with caplog.at_level(logging.ERROR, logger="micropie"):
            started = time.monotonic()
            reply = await get(app, "/show", cookies={"session_id": session_id})
            waited = time.monotonic() - started
        assert (reply.status, reply.text) == (503, "503 Service Unavailable: Session store unavailable")
        assert waited < 3, "the wait for Redis must be bounded"
        assert any("Session store unavailable" in record.getMessage() for record in caplog.records)
        assert (await get(app, "/")).text == "home", "a request without a session cookie needs no Redis"
        assert (await get(app, "/put", query="key=a&value=b")).status == 503
        own.start()  # empty again: nothing is persisted
        again = await get(app, "/put", query="key=user&value=bob")
        assert again.status == 200
        fresh = cookie_from(again)
        assert fresh is not None
        assert (await get(app, "/show", cookies={"session_id": fresh})).json() == {"user": "bob"}
    finally:
        own.close()


async def test_a_slow_redis_is_a_503_after_the_timeout(server: RedisServer, make_backend: Make) -> None:
    backend = make_backend(timeout=0.3)
    app = SessionSite(backend)
    session_id = await start_session(app, user="alice")
    with server.client() as client:
        # Blocks the server for a second: every command waits.
        pause = asyncio.ensure_future(asyncio.to_thread(client.execute_command, "DEBUG", "SLEEP", "1"))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        reply = await get(app, "/show", cookies={"session_id": session_id})
        assert reply.status == 503
        assert time.monotonic() - started < 0.9
        await pause
    assert (await get(app, "/show", cookies={"session_id": session_id})).json() == {"user": "alice"}


async def test_lifespan_shutdown_closes_the_connection_pool(server: RedisServer, make_backend: Make) -> None:
    backend = make_backend()
    app = SessionSite(backend)
    await start_session(app, user="alice")
    with server.client() as client:
        assert int(client.info("clients")["connected_clients"]) >= 2
    messages: list[dict[str, Any]] = []
    incoming = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> dict[str, Any]:
        return next(incoming)

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    assert [message["type"] for message in messages] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    with server.client() as client:
        for _ in range(100):  # the server notices a closed connection a moment later
            if int(client.info("clients")["connected_clients"]) == 1:  # only this probe
                break
            await asyncio.sleep(0.01)
        assert int(client.info("clients")["connected_clients"]) == 1


async def test_a_client_passed_in_is_used_and_left_open(server: RedisServer) -> None:
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(server.url)
    backend = RedisSessionBackend(client=client, prefix="app2:")
    session_id = await start_session(SessionSite(backend), user="alice")
    await backend.close()
    assert json.loads(await client.get("app2:" + session_id) or b"null") == {"user": "alice"}
    await client.aclose()


@pytest.mark.parametrize("timeout", [0, -1, 0.0, float("nan")])
def test_a_timeout_that_is_not_positive_is_a_value_error(timeout: float) -> None:
    with pytest.raises(ValueError, match="timeout"):
        RedisSessionBackend(timeout=timeout)


def test_a_timeout_that_is_not_a_number_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        RedisSessionBackend(timeout="3")  # type: ignore[arg-type]


async def test_without_the_redis_package_the_import_error_says_what_to_install() -> None:
    output = await run_python(
        "import sys\n"
        "sys.modules['redis'] = None\n"
        "sys.modules['redis.asyncio'] = None\n"
        "try:\n"
        "    import micropie.redis_sessions\n"
        "except ImportError as error:\n"
        "    print('ImportError:', error)\n"
    )
    assert "ImportError: RedisSessionBackend needs the redis package: pip install redis" in output


class Counter(App):
    async def ws_count(self, socket: WebSocket) -> None:
        await socket.accept()
        session = self.request.session
        session["count"] = int(session.get("count", 0)) + 1
        await socket.send_text(str(session["count"]))


async def test_websocket_sessions_live_in_redis_too(server: RedisServer, backend: RedisSessionBackend) -> None:
    app = Counter(backend)
    first = WebSocketSession(app, "/count")
    first.start()
    accept = await first.next_message()
    cookies = [value for name, value in accept["headers"] if name == b"set-cookie"]
    assert len(cookies) == 1
    session_id = cookies[0].decode().split(";")[0].partition("=")[2]
    assert (await first.next_message())["text"] == "1"
    await first.finish()
    assert stored(server, session_id) == {"count": 1}
    second = WebSocketSession(app, "/count", headers=[(b"cookie", f"session_id={session_id}".encode())])
    second.start()
    assert (await second.next_message())["headers"] == []
    assert (await second.next_message())["text"] == "2"
    await second.finish()
    assert stored(server, session_id) == {"count": 2}


async def test_a_websocket_with_redis_down_closes_with_try_again_later(make_backend: Make) -> None:
    own = RedisServer()
    own.start()
    try:
        backend = make_backend(own.url, timeout=0.5)
        app = Counter(backend)
        session_id = await start_session(SessionSite(backend), user="alice")
        own.stop()
        session = WebSocketSession(app, "/count", headers=[(b"cookie", f"session_id={session_id}".encode())])
        session.start()
        closed = await session.next_message()
        assert (closed["type"], closed["code"], closed["reason"]) == ("websocket.close", 1013, "Session store unavailable")
        await session.finish()
    finally:
        own.close()


class MicroPieStyleBackend(SessionBackend):
    """A backend as MicroPie users write one: only ``load`` and ``save``, no ``super().__init__``."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}
        self.saved: list[str] = []

    async def load(self, session_id: str) -> dict[str, Any]:
        return dict(self.data.get(session_id, {}))

    async def save(self, session_id: str, data: dict[str, Any], timeout: int) -> None:
        self.saved.append(session_id)
        if data and timeout > 0:
            self.data[session_id] = dict(data)
        else:
            self.data.pop(session_id, None)


async def test_a_backend_with_only_load_and_save_works_unchanged() -> None:
    backend = MicroPieStyleBackend()
    app = SessionSite(backend)
    session_id = await start_session(app, user="alice")
    assert (await get(app, "/show", cookies={"session_id": session_id})).json() == {"user": "alice"}
    # Without a renewing load, every request that uses the session saves it (renewing it).
    assert backend.saved == [session_id, session_id]
    assert await backend.load_and_renew(session_id, 60) == {"user": "alice"}
    await backend.close()


async def test_the_recording_backend_is_saved_every_request_as_before() -> None:
    backend = RecordingBackend()
    app = SessionSite(backend)
    session_id = await start_session(app, user="alice")
    for _ in range(3):
        await get(app, "/show", cookies={"session_id": session_id})
    assert [saved[0] for saved in backend.saves] == [session_id] * 4
