"""Cookie sessions, their ids, their life cycle, and the in-memory backend."""

import asyncio
import uuid
from typing import Any

import pytest
from harness import PassThrough, RecordingBackend, Reply, cookie_from, get

from micropie import (
    SESSION_TIMEOUT,
    App,
    InMemorySessionBackend,
    Request,
    SessionBackend,
)
from micropie.middleware import ResponseOverride


class SessionSite(App):
    async def index(self) -> str:
        return "home"

    async def show(self) -> dict[str, Any]:
        return dict(self.request.session)

    async def put(self, key: str, value: str) -> str:
        self.request.session[key] = value
        return "stored"

    async def clear(self) -> str:
        self.request.session.clear()
        return "cleared"

    async def regenerate(self) -> str:
        self.request.regenerate_session()
        return "regenerated"

    async def whoami(self, user: str) -> str:
        return f"user={user}"

    async def whoami_or_guest(self, user: str = "guest") -> str:
        return f"user={user}"

    async def put_then_fail(self, key: str, value: str) -> str:
        self.request.session[key] = value
        raise RuntimeError("the change must not stick")

    async def slow_show(self, delay: float) -> dict[str, Any]:
        await asyncio.sleep(delay)
        return dict(self.request.session)


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def new_id() -> str:
    return str(uuid.uuid4())


def cookie_attributes(reply: Reply) -> tuple[str, str, set[str]]:
    """The session cookie's value, its whole header, and its attributes (lower-cased)."""
    headers = [h for h in reply.header_values("set-cookie") if h.startswith("session_id=")]
    assert len(headers) == 1, headers
    first, *rest = [part.strip() for part in headers[0].split(";")]
    value = first.partition("=")[2]
    return value, headers[0], {part.lower() for part in rest if part}


def is_canonical_uuid4(value: str | None) -> bool:
    if value is None:
        return False
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return False
    return parsed.version == 4 and str(parsed) == value


def test_session_timeout_is_eight_hours() -> None:
    assert SESSION_TIMEOUT == 8 * 3600


# --- no cookie, unusable cookies ------------------------------------------------------------


async def test_without_a_cookie_the_backend_is_never_called() -> None:
    backend = RecordingBackend()
    app = SessionSite(backend)
    for path in ("/", "/show", "/whoami_or_guest", "/clear", "/regenerate"):
        reply = await get(app, path)
        assert reply.status == 200, path
        assert reply.header_values("set-cookie") == [], path
    assert (await get(app, "/show")).json() == {}
    assert backend.loads == [] and backend.saves == []


async def test_other_cookies_without_a_session_id_do_not_call_the_backend() -> None:
    backend = RecordingBackend()
    reply = await get(SessionSite(backend), "/show", cookies={"theme": "dark", "lang": "en"})
    assert reply.json() == {}
    assert reply.header_values("set-cookie") == []
    assert backend.calls == 0


async def test_a_session_started_without_a_cookie_gets_a_fresh_id_and_is_saved() -> None:
    backend = RecordingBackend()
    reply = await get(SessionSite(backend), "/put", query="key=user&value=alice")
    assert reply.text == "stored"
    session_id = cookie_from(reply)
    assert is_canonical_uuid4(session_id)
    assert backend.loads == []
    assert backend.saves == [(session_id, {"user": "alice"}, SESSION_TIMEOUT)]


async def test_session_round_trip_with_the_default_backend() -> None:
    app = SessionSite()
    assert isinstance(app.session_backend, InMemorySessionBackend)
    first = await get(app, "/put", query="key=user&value=alice")
    session_id = cookie_from(first)
    assert session_id is not None
    second = await get(app, "/show", cookies={"session_id": session_id})
    assert second.json() == {"user": "alice"}
    assert (await get(app, "/show")).json() == {}


async def test_an_existing_session_is_loaded_and_saved_under_its_id() -> None:
    session_id = new_id()
    backend = RecordingBackend({session_id: {"user": "alice"}})
    app = SessionSite(backend)
    assert (await get(app, "/show", cookies={"session_id": session_id})).json() == {"user": "alice"}
    reply = await get(app, "/put", query="key=theme&value=dark", cookies={"session_id": session_id})
    assert reply.status == 200
    # An existing session keeps its id: any cookie sent again names the same session.
    assert cookie_from(reply) in (None, session_id)
    assert backend.loads == [session_id, session_id]
    assert backend.saves[-1] == (session_id, {"user": "alice", "theme": "dark"}, SESSION_TIMEOUT)
    assert backend.sessions == {session_id: {"user": "alice", "theme": "dark"}}


async def test_an_unknown_session_id_that_stays_empty_sets_no_cookie() -> None:
    backend = RecordingBackend()
    reply = await get(SessionSite(backend), "/show", cookies={"session_id": new_id()})
    assert reply.json() == {}
    assert reply.header_values("set-cookie") == []
    assert backend.sessions == {}


INVALID_SESSION_IDS = {
    "not a uuid": "not-a-session-id",
    "uuid1": str(uuid.uuid1()),
    "uuid3": str(uuid.uuid3(uuid.NAMESPACE_DNS, "example.org")),
    "uuid4 without hyphens": uuid.uuid4().hex,
    "uuid4 in braces": "{" + new_id() + "}",
    "uuid4 with a urn prefix": "urn:uuid:" + new_id(),
    "uuid4 with a bad variant": new_id()[:19] + "c" + new_id()[20:],
    "uuid4 with a trailing character": new_id() + "0",
    "36 characters of hex without hyphens": "0" * 36,
    "huge": "a" * 100_000,
    "huge uuid4 repeated": new_id() * 2000,
    "non-ascii": "é" * 36,
    "non-ascii digits": "".join("٣" if c.isdigit() else c for c in new_id()),
    "empty": "",
}


@pytest.mark.parametrize("bad_id", INVALID_SESSION_IDS.values(), ids=INVALID_SESSION_IDS.keys())
async def test_invalid_session_ids_are_ignored_as_absent(bad_id: str) -> None:
    backend = RecordingBackend({bad_id: {"user": "mallory"}})
    app = SessionSite(backend)
    cookie = [(b"cookie", f"session_id={bad_id}".encode("utf-8"))]
    shown = await get(app, "/show", headers=cookie)
    assert (shown.status, shown.json()) == (200, {})
    assert shown.header_values("set-cookie") == []
    stored = await get(app, "/put", query="key=user&value=alice", headers=cookie)
    assert stored.status == 200
    fresh = cookie_from(stored)
    assert is_canonical_uuid4(fresh) and fresh != bad_id
    assert backend.loads == []
    assert [save[0] for save in backend.saves] == [fresh]
    assert backend.sessions[bad_id] == {"user": "mallory"}


async def test_an_uppercase_session_id_is_normalised() -> None:
    session_id = new_id()
    backend = RecordingBackend({session_id: {"user": "alice"}})
    reply = await get(SessionSite(backend), "/show", cookies={"session_id": session_id.upper()})
    assert reply.json() == {"user": "alice"}
    assert backend.loads == [session_id]


# --- fixation, regeneration, deletion --------------------------------------------------------


async def test_a_client_chosen_id_is_replaced_when_the_session_starts() -> None:
    chosen = new_id()
    backend = RecordingBackend()
    reply = await get(
        SessionSite(backend), "/put", query="key=user&value=alice", cookies={"session_id": chosen}
    )
    fresh = cookie_from(reply)
    assert is_canonical_uuid4(fresh) and fresh != chosen
    assert backend.sessions == {fresh: {"user": "alice"}}
    # The chosen id named no session, so there is nothing to delete under it.
    assert backend.loads == [chosen]
    assert backend.saves == [(fresh, {"user": "alice"}, SESSION_TIMEOUT)]


async def test_an_expired_session_that_starts_again_gets_a_new_id() -> None:
    clock = Clock()
    app = SessionSite(InMemorySessionBackend(clock=clock))
    first = cookie_from(await get(app, "/put", query="key=user&value=alice"))
    assert first is not None
    clock.advance(SESSION_TIMEOUT + 1)
    again = await get(app, "/put", query="key=user&value=bob", cookies={"session_id": first})
    second = cookie_from(again)
    assert is_canonical_uuid4(second) and second != first
    assert (await get(app, "/show", cookies={"session_id": first})).json() == {}


async def test_regenerate_session_moves_the_data_to_a_new_id() -> None:
    old = new_id()
    backend = RecordingBackend({old: {"user": "alice"}})
    app = SessionSite(backend)
    reply = await get(app, "/regenerate", cookies={"session_id": old})
    assert reply.text == "regenerated"
    fresh = cookie_from(reply)
    assert is_canonical_uuid4(fresh) and fresh != old
    assert backend.sessions == {fresh: {"user": "alice"}}
    assert (old, {}, 0) in backend.saves
    assert (await get(app, "/show", cookies={"session_id": fresh})).json() == {"user": "alice"}
    assert (await get(app, "/show", cookies={"session_id": old})).json() == {}


async def test_an_emptied_session_is_deleted_and_its_cookie_expired() -> None:
    session_id = new_id()
    backend = RecordingBackend({session_id: {"user": "alice"}})
    reply = await get(SessionSite(backend), "/clear", cookies={"session_id": session_id})
    assert reply.text == "cleared"
    assert backend.saves == [(session_id, {}, 0)]
    assert backend.sessions == {}
    value, _, attributes = cookie_attributes(reply)
    assert value == ""
    assert "max-age=0" in attributes
    assert "path=/" in attributes


async def test_an_emptied_session_is_gone_from_the_default_backend() -> None:
    backend = InMemorySessionBackend()
    app = SessionSite(backend)
    session_id = cookie_from(await get(app, "/put", query="key=user&value=alice"))
    assert session_id is not None
    assert len(backend) == 1
    await get(app, "/clear", cookies={"session_id": session_id})
    assert len(backend) == 0
    assert (await get(app, "/show", cookies={"session_id": session_id})).json() == {}


# --- the cookie -----------------------------------------------------------------------------


@pytest.mark.parametrize("secure", [True, False])
async def test_session_cookie_attributes(secure: bool) -> None:
    app = SessionSite(RecordingBackend(), session_cookie_secure=secure)
    reply = await get(app, "/put", query="key=user&value=alice")
    value, header, attributes = cookie_attributes(reply)
    assert is_canonical_uuid4(value)
    assert {"path=/", "httponly", "samesite=lax"} <= attributes, header
    assert ("secure" in attributes) is secure, header
    assert not any(attribute.startswith(("domain", "max-age", "expires")) for attribute in attributes)


async def test_secure_is_the_default() -> None:
    _, _, attributes = cookie_attributes(await get(SessionSite(), "/put", query="key=a&value=b"))
    assert "secure" in attributes


# --- middleware and binding ------------------------------------------------------------------


class StampAfter(PassThrough):
    async def after_request(
        self,
        request: Request,
        status_code: int,
        response_body: object,
        extra_headers: list[tuple[str, str]],
    ) -> ResponseOverride | None:
        request.session["stamped"] = status_code
        return None


class LogoutAfter(PassThrough):
    async def after_request(
        self,
        request: Request,
        status_code: int,
        response_body: object,
        extra_headers: list[tuple[str, str]],
    ) -> ResponseOverride | None:
        request.session = {}
        return None


async def test_a_session_change_made_in_after_request_is_saved() -> None:
    backend = RecordingBackend()
    app = SessionSite(backend)
    app.middlewares.append(StampAfter())
    reply = await get(app, "/put", query="key=user&value=alice")
    session_id = cookie_from(reply)
    assert session_id is not None
    assert backend.sessions == {session_id: {"user": "alice", "stamped": 200}}


async def test_after_request_alone_can_start_a_session() -> None:
    backend = RecordingBackend()
    app = SessionSite(backend)
    app.middlewares.append(StampAfter())
    reply = await get(app, "/")
    session_id = cookie_from(reply)
    assert is_canonical_uuid4(session_id)
    assert backend.saves == [(session_id, {"stamped": 200}, SESSION_TIMEOUT)]


async def test_a_session_replaced_by_an_empty_one_in_after_request_is_deleted() -> None:
    session_id = new_id()
    backend = RecordingBackend({session_id: {"user": "alice"}})
    app = SessionSite(backend)
    app.middlewares.append(LogoutAfter())
    reply = await get(app, "/show", cookies={"session_id": session_id})
    assert reply.json() == {"user": "alice"}
    assert backend.saves == [(session_id, {}, 0)]
    assert "max-age=0" in cookie_attributes(reply)[2]


async def test_session_values_never_bind_to_handler_parameters() -> None:
    session_id = new_id()
    app = SessionSite(RecordingBackend({session_id: {"user": "admin"}}))
    cookies = {"session_id": session_id}
    missing = await get(app, "/whoami", cookies=cookies)
    assert missing.status == 400
    assert missing.text == "400 Bad Request: Missing required parameter 'user'"
    assert (await get(app, "/whoami_or_guest", cookies=cookies)).text == "user=guest"
    assert (await get(app, "/whoami", query="user=bob", cookies=cookies)).text == "user=bob"


async def test_concurrent_requests_see_their_own_sessions() -> None:
    alice, bob = new_id(), new_id()
    app = SessionSite(RecordingBackend({alice: {"user": "alice"}, bob: {"user": "bob"}}))
    replies = await asyncio.gather(
        get(app, "/slow_show", query="delay=0.02", cookies={"session_id": alice}),
        get(app, "/slow_show", query="delay=0.01", cookies={"session_id": bob}),
        get(app, "/slow_show", query="delay=0"),
    )
    assert [reply.json() for reply in replies] == [{"user": "alice"}, {"user": "bob"}, {}]


@pytest.mark.parametrize("backend_kind", ["in-memory", "recording"])
async def test_a_request_that_fails_leaves_the_stored_session_unchanged(backend_kind: str) -> None:
    backend: SessionBackend = InMemorySessionBackend() if backend_kind == "in-memory" else RecordingBackend()
    app = SessionSite(backend)
    session_id = cookie_from(await get(app, "/put", query="key=user&value=alice"))
    assert session_id is not None
    cookies = {"session_id": session_id}
    failed = await get(app, "/put_then_fail", query="key=user&value=mallory", cookies=cookies)
    assert failed.status == 500
    assert (await get(app, "/show", cookies=cookies)).json() == {"user": "alice"}


# --- custom ids ------------------------------------------------------------------------------


class CountingIds:
    def __init__(self) -> None:
        self.issued = 0

    def __call__(self) -> str:
        self.issued += 1
        return f"sess-{self.issued:04d}"


def prefixed_id(value: str) -> str | None:
    """Accepts ``sess-NNNN`` in any case and normalises it to lower case."""
    lowered = value.lower()
    if lowered.startswith("sess-") and lowered[5:].isdigit() and len(lowered) == 9:
        return lowered
    return None


async def test_custom_session_id_factory_and_validator() -> None:
    backend = RecordingBackend({"sess-0042": {"user": "carol"}})
    app = SessionSite(backend, session_id_factory=CountingIds(), session_id_validator=prefixed_id)
    started = await get(app, "/put", query="key=user&value=alice")
    assert cookie_from(started) == "sess-0001"
    assert backend.sessions["sess-0001"] == {"user": "alice"}
    assert (await get(app, "/show", cookies={"session_id": "SESS-0042"})).json() == {"user": "carol"}
    assert backend.loads == ["sess-0042"]
    uuid_cookie = await get(app, "/show", cookies={"session_id": new_id()})
    assert uuid_cookie.json() == {}
    assert backend.loads == ["sess-0042"]
    fixated = await get(app, "/put", query="key=user&value=eve", cookies={"session_id": "sess-9999"})
    assert cookie_from(fixated) == "sess-0002"
    assert "sess-9999" not in backend.sessions


async def test_an_id_the_validator_rejects_is_never_issued() -> None:
    backend = RecordingBackend()
    app = SessionSite(backend, session_id_factory=lambda: "not-valid", session_id_validator=prefixed_id)
    reply = await get(app, "/put", query="key=user&value=alice")
    assert reply.status >= 500
    assert "not-valid" not in reply.text
    assert cookie_from(reply) is None
    assert backend.sessions == {}


# --- the session timeout through the app ------------------------------------------------------


async def test_the_app_saves_sessions_with_its_session_timeout() -> None:
    clock = Clock()
    backend = InMemorySessionBackend(clock=clock)
    app = SessionSite(backend, session_timeout=60)
    session_id = cookie_from(await get(app, "/put", query="key=user&value=alice"))
    assert session_id is not None
    clock.advance(59)
    assert (await get(app, "/show", cookies={"session_id": session_id})).json() == {"user": "alice"}
    clock.advance(61)
    assert (await get(app, "/show", cookies={"session_id": session_id})).json() == {}


async def test_the_default_session_timeout_reaches_the_backend() -> None:
    backend = RecordingBackend()
    await get(SessionSite(backend), "/put", query="key=a&value=b")
    await get(SessionSite(backend, session_timeout=123), "/put", query="key=a&value=b")
    assert [save[2] for save in backend.saves] == [SESSION_TIMEOUT, 123]


# --- cookie headers --------------------------------------------------------------------------


async def test_a_huge_cookie_header_is_served() -> None:
    session_id = new_id()
    crumbs = "; ".join(f"crumb{i}=v{i:06d}" for i in range(6000))
    header = f"{crumbs}; session_id={session_id}".encode("ascii")
    assert len(header) > 100_000
    backend = RecordingBackend({session_id: {"user": "alice"}})
    reply = await get(SessionSite(backend), "/show", headers=[(b"cookie", header)])
    assert (reply.status, reply.json()) == (200, {"user": "alice"})


async def test_a_huge_garbage_cookie_header_is_served() -> None:
    backend = RecordingBackend()
    garbage = (b"=;;=a=b;" * 5000) + b"\xff\xfe" * 10_000
    reply = await get(SessionSite(backend), "/show", headers=[(b"cookie", garbage)])
    assert (reply.status, reply.json()) == (200, {})
    assert backend.calls == 0


async def test_split_cookie_headers_are_merged() -> None:
    session_id = new_id()
    backend = RecordingBackend({session_id: {"user": "alice"}})
    headers = [(b"cookie", b"theme=dark"), (b"cookie", f"session_id={session_id}".encode("ascii"))]
    reply = await get(SessionSite(backend), "/show", headers=headers)
    assert reply.json() == {"user": "alice"}
    assert backend.loads == [session_id]


async def test_split_cookie_headers_are_joined_with_semicolons() -> None:
    class Echo(App):
        async def index(self) -> str:
            return self.request.headers["cookie"]

    headers = [(b"cookie", b"a=1"), (b"Cookie", b"b=2")]
    assert (await get(Echo(RecordingBackend()), "/", headers=headers)).text == "a=1; b=2"


# --- InMemorySessionBackend -----------------------------------------------------------------


async def test_in_memory_backend_honours_each_saved_timeout() -> None:
    clock = Clock()
    backend = InMemorySessionBackend(clock=clock)
    await backend.save("short", {"n": 1}, 10)
    await backend.save("long", {"n": 2}, 100)
    clock.advance(50)
    assert await backend.load("short") == {}
    assert await backend.load("long") == {"n": 2}


@pytest.mark.parametrize("timeout", [0, -1, -SESSION_TIMEOUT])
async def test_in_memory_backend_deletes_on_a_timeout_of_zero_or_less(timeout: int) -> None:
    backend = InMemorySessionBackend(clock=Clock())
    await backend.save("a", {"n": 1}, 100)
    await backend.save("a", {"n": 1}, timeout)
    assert await backend.load("a") == {}
    assert len(backend) == 0


async def test_in_memory_backend_deletes_on_empty_data() -> None:
    backend = InMemorySessionBackend(clock=Clock())
    await backend.save("a", {"n": 1}, 100)
    await backend.save("a", {}, 100)
    assert await backend.load("a") == {}
    assert len(backend) == 0


async def test_in_memory_backend_expires_idle_sessions() -> None:
    clock = Clock()
    backend = InMemorySessionBackend(clock=clock)
    await backend.save("a", {"n": 1}, 10)
    clock.advance(9.5)
    assert await backend.load("a") == {"n": 1}
    clock.advance(10.5)
    assert await backend.load("a") == {}


async def test_in_memory_backend_load_refreshes_idle_time() -> None:
    clock = Clock()
    backend = InMemorySessionBackend(clock=clock)
    await backend.save("a", {"n": 1}, 10)
    for _ in range(5):
        clock.advance(8)
        assert await backend.load("a") == {"n": 1}
    clock.advance(11)
    assert await backend.load("a") == {}


async def test_in_memory_backend_save_replaces_data_and_timeout() -> None:
    clock = Clock()
    backend = InMemorySessionBackend(clock=clock)
    await backend.save("a", {"n": 1}, 1000)
    await backend.save("a", {"n": 2}, 10)
    assert len(backend) == 1
    clock.advance(11)
    assert await backend.load("a") == {}


async def test_in_memory_backend_sweeps_expired_sessions_in_amortised_batches() -> None:
    clock = Clock()
    backend = InMemorySessionBackend(cleanup_interval=60, clock=clock)
    await backend.save("keep", {"n": 0}, 10_000)
    for i in range(50):
        await backend.save(f"old{i}", {"n": i}, 5)
    clock.advance(10)
    # Expired, but not yet swept: operations before the next sweep leave them in place.
    await backend.load("keep")
    await backend.save("other", {"n": 1}, 10_000)
    assert len(backend) == 52
    clock.advance(60)
    await backend.load("keep")
    assert len(backend) == 2
    # Expired again right after a sweep: they wait for the next one, which does come.
    for i in range(10):
        await backend.save(f"new{i}", {"n": i}, 1)
    clock.advance(5)
    await backend.load("keep")
    assert len(backend) == 12
    clock.advance(120)
    await backend.load("keep")
    assert len(backend) == 2
    assert await backend.load("other") == {"n": 1}


async def test_in_memory_backend_evicts_the_least_recently_used_beyond_max_sessions() -> None:
    clock = Clock()
    backend = InMemorySessionBackend(max_sessions=3, clock=clock)
    for name in ("a", "b", "c"):
        await backend.save(name, {"name": name}, 100)
        clock.advance(1)
    assert await backend.load("a") == {"name": "a"}
    await backend.save("d", {"name": "d"}, 100)
    assert len(backend) == 3
    assert await backend.load("b") == {}
    await backend.save("c", {"name": "c2"}, 100)
    await backend.save("e", {"name": "e"}, 100)
    assert len(backend) == 3
    assert await backend.load("a") == {}
    assert [await backend.load(name) for name in ("c", "d", "e")] == [
        {"name": "c2"},
        {"name": "d"},
        {"name": "e"},
    ]


async def test_in_memory_backend_growth_stays_bounded() -> None:
    backend = InMemorySessionBackend(max_sessions=100, clock=Clock())
    for i in range(1000):
        await backend.save(f"s{i}", {"i": i}, 100)
    assert len(backend) == 100
    assert await backend.load("s999") == {"i": 999}
    assert await backend.load("s0") == {}


@pytest.mark.parametrize("max_sessions", [0, -1])
def test_in_memory_backend_rejects_a_non_positive_max_sessions(max_sessions: int) -> None:
    with pytest.raises(ValueError, match="max_sessions"):
        InMemorySessionBackend(max_sessions=max_sessions)


def test_session_backend_is_abstract() -> None:
    class LoadOnly(SessionBackend):
        async def load(self, session_id: str) -> dict[str, Any]:
            return {}

    with pytest.raises(TypeError):
        SessionBackend()  # type: ignore[abstract]
    with pytest.raises(TypeError):
        LoadOnly()  # type: ignore[abstract]


async def test_the_in_memory_store_shares_nothing_mutable_with_a_request() -> None:
    backend = InMemorySessionBackend()
    cart = ["apple"]
    await backend.save("0b8a2f5e-1c3d-4e5f-8a9b-0c1d2e3f4a5b", {"cart": cart, "user": "ada"}, 60)
    cart.append("after save")  # the saving request's own list
    loaded = await backend.load("0b8a2f5e-1c3d-4e5f-8a9b-0c1d2e3f4a5b")
    loaded["cart"].append("by a request that then fails")  # never saved
    assert await backend.load("0b8a2f5e-1c3d-4e5f-8a9b-0c1d2e3f4a5b") == {"cart": ["apple"], "user": "ada"}
