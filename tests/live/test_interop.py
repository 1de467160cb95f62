"""The ecosystem's ASGI middleware wraps a micropie app and works as it does around any other.

Starlette's ``CORSMiddleware``, ``GZipMiddleware`` and ``TrustedHostMiddleware`` and uvicorn's
``ProxyHeadersMiddleware``, each wrapped around a micropie ``App`` and driven in-process
through httpx's ASGI transport (and, for a WebSocket and the lifespan protocol, by hand).
Starlette is a test dependency only; micropie never imports it.

At run time every ASGI application is the same kind of callable, but the type checkers
disagree: micropie types scopes and messages as ``dict``, Starlette and httpx as
``MutableMapping``, uvicorn as ``TypedDict`` unions. ``asgi()`` states once that an app is
what Starlette's and httpx's signatures ask for, ``proxy_headers()`` that for uvicorn's.
"""

import gzip
import json
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import httpx
import pytest
from harness import WebSocketSession
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

import micropie.asgi
from micropie import App, HttpMiddleware, Request, ResponseOverride, WebSocket

ORIGIN = "https://example.com"
LONG_TEXT = "micropie wrapped in the ecosystem's middleware. " * 400
PEER = ("127.0.0.1", 50000)


class Site(App):
    """Records which handlers ran, so a test can tell what a middleware answered itself."""

    def __init__(self) -> None:
        super().__init__(session_cookie_secure=False)
        self.calls: list[str] = []
        self.lifespan: list[str] = []
        self.startup_handlers.append(self._started)
        self.shutdown_handlers.append(self._stopped)

    async def _started(self) -> None:
        self.lifespan.append("startup")

    async def _stopped(self) -> None:
        self.lifespan.append("shutdown")

    async def index(self) -> str:
        self.calls.append("index")
        return "hello"

    async def long(self) -> str:
        self.calls.append("long")
        return LONG_TEXT

    async def stream(self) -> tuple[int, AsyncIterator[str], list[tuple[str, str]]]:
        self.calls.append("stream")

        async def lines() -> AsyncIterator[str]:
            for number in range(500):
                yield f"line {number}\n"

        return 200, lines(), [("Content-Type", "text/plain; charset=utf-8")]

    async def visits(self) -> dict[str, int]:
        self.calls.append("visits")
        session = self.request.session
        session["visits"] = int(session.get("visits", 0)) + 1
        return {"visits": session["visits"]}

    async def peer(self) -> dict[str, object]:
        self.calls.append("peer")
        return {"client": list(self.request.scope["client"]), "scheme": self.request.scope["scheme"]}

    async def ws_peer(self, ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_json({"client": list(self.request.scope["client"]), "scheme": self.request.scope["scheme"]})
        await ws.close()


class RequireToken(HttpMiddleware):
    async def before_request(self, request: Request) -> ResponseOverride | None:
        if request.headers.get("authorization") != "Bearer secret":
            return {"status_code": 401, "body": "token required"}
        return None

    async def after_request(self, request: Request, status_code: int, response_body: object,
                            extra_headers: list[tuple[str, str]]) -> ResponseOverride | None:
        extra_headers.append(("X-Served-By", "micropie"))
        return None


def asgi(app: App | ProxyHeadersMiddleware) -> ASGIApp:
    return cast(ASGIApp, app)


def client(app: ASGIApp, *, peer: tuple[str, int] = PEER, host: str = "example.com") -> httpx.AsyncClient:
    """An HTTP client whose requests reach ``app`` in-process, from ``peer``, for ``host``."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=peer), base_url=f"http://{host}")


# CORSMiddleware ------------------------------------------------------------------------------


def cors(site: Site) -> ASGIApp:
    return CORSMiddleware(asgi(site), allow_origins=[ORIGIN], allow_methods=["GET", "POST"],
                          allow_headers=["authorization", "content-type"], allow_credentials=True)


async def test_cors_answers_a_preflight_itself() -> None:
    site = Site()
    async with client(cors(site)) as http:
        reply = await http.options("/visits", headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        })
    assert reply.status_code == 200
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    assert reply.headers["access-control-allow-credentials"] == "true"
    assert "POST" in reply.headers["access-control-allow-methods"]
    assert "content-type" in reply.headers["access-control-allow-headers"]
    assert site.calls == []


async def test_cors_refuses_a_preflight_from_another_origin() -> None:
    site = Site()
    async with client(cors(site)) as http:
        reply = await http.options("/visits", headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
        })
    assert (reply.status_code, reply.text) == (400, "Disallowed CORS origin")
    assert "access-control-allow-origin" not in reply.headers
    assert site.calls == []


async def test_cors_allows_an_allowed_origin_to_read_the_answer_and_its_session() -> None:
    site = Site()
    async with client(cors(site)) as http:
        first = await http.get("/visits", headers={"Origin": ORIGIN})
        second = await http.get("/visits", headers={"Origin": ORIGIN})
    assert first.json() == {"visits": 1} and second.json() == {"visits": 2}
    assert first.headers["access-control-allow-origin"] == ORIGIN
    assert first.headers["access-control-allow-credentials"] == "true"
    assert "Origin" in first.headers["vary"]
    assert "set-cookie" in first.headers
    assert site.calls == ["visits", "visits"]


async def test_cors_leaves_another_origin_without_the_header() -> None:
    site = Site()
    async with client(cors(site)) as http:
        reply = await http.get("/", headers={"Origin": "https://evil.example"})
    # The handler answers; it is the browser that keeps the answer from the other origin's page.
    assert (reply.status_code, reply.text) == (200, "hello")
    assert "access-control-allow-origin" not in reply.headers


async def test_cors_outside_and_micropie_middleware_inside_both_apply() -> None:
    site = Site()
    site.middlewares.append(RequireToken())
    async with client(cors(site)) as http:
        # A browser's preflight carries no credentials: CORS answers it before micropie's
        # middleware could refuse it.
        preflight = await http.options("/", headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        })
        refused = await http.get("/", headers={"Origin": ORIGIN})
        served = await http.get("/", headers={"Origin": ORIGIN, "Authorization": "Bearer secret"})
    assert preflight.status_code == 200
    assert (refused.status_code, refused.text) == (401, "token required")
    assert refused.headers["access-control-allow-origin"] == ORIGIN
    assert (served.status_code, served.text) == (200, "hello")
    assert served.headers["x-served-by"] == "micropie"
    assert served.headers["access-control-allow-origin"] == ORIGIN
    assert site.calls == ["index"]


# GZipMiddleware ------------------------------------------------------------------------------


async def raw_body(http: httpx.AsyncClient, path: str, headers: dict[str, str] | None = None) -> tuple[httpx.Response, bytes]:
    """The response and its body as sent, before httpx would decode it."""
    async with http.stream("GET", path, headers=headers) as reply:
        return reply, b"".join([chunk async for chunk in reply.aiter_raw()])


async def test_gzip_compresses_a_large_response() -> None:
    site = Site()
    site.middlewares.append(RequireToken())
    async with client(GZipMiddleware(asgi(site))) as http:
        reply, sent = await raw_body(http, "/long", {"Authorization": "Bearer secret"})
    assert reply.status_code == 200
    assert reply.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in reply.headers["vary"]
    assert reply.headers["content-length"] == str(len(sent))
    assert len(sent) < len(LONG_TEXT) // 10
    assert gzip.decompress(sent) == LONG_TEXT.encode()
    assert reply.headers["x-served-by"] == "micropie"


async def test_gzip_compresses_a_streamed_response_as_it_streams() -> None:
    async with client(GZipMiddleware(asgi(Site()))) as http:
        reply, sent = await raw_body(http, "/stream")
    assert reply.headers["content-encoding"] == "gzip"
    assert "content-length" not in reply.headers
    assert gzip.decompress(sent) == "".join(f"line {number}\n" for number in range(500)).encode()


async def test_gzip_leaves_a_small_response_alone() -> None:
    async with client(GZipMiddleware(asgi(Site()))) as http:
        reply, sent = await raw_body(http, "/")
    assert "content-encoding" not in reply.headers
    assert (sent, reply.headers["content-length"]) == (b"hello", "5")


async def test_gzip_does_not_compress_for_a_client_that_cannot_decompress() -> None:
    async with client(GZipMiddleware(asgi(Site()))) as http:
        reply, sent = await raw_body(http, "/long", {"Accept-Encoding": "identity"})
    assert "content-encoding" not in reply.headers
    assert sent == LONG_TEXT.encode()


# TrustedHostMiddleware -----------------------------------------------------------------------


def trusted_host(site: Site) -> ASGIApp:
    return TrustedHostMiddleware(asgi(site), allowed_hosts=["example.com", "*.example.com"])


async def test_trusted_host_refuses_another_host() -> None:
    site = Site()
    async with client(trusted_host(site), host="evil.example") as http:
        reply = await http.get("/")
    assert (reply.status_code, reply.text) == (400, "Invalid host header")
    assert site.calls == []


@pytest.mark.parametrize("host", ["example.com", "api.example.com", "example.com:8443"])
async def test_trusted_host_lets_a_listed_host_through(host: str) -> None:
    site = Site()
    async with client(trusted_host(site), host=host) as http:
        reply = await http.get("/")
    assert (reply.status_code, reply.text) == (200, "hello")
    assert site.calls == ["index"]


# ProxyHeadersMiddleware ----------------------------------------------------------------------

PROXY = ("10.0.0.1", 41000)
FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


def behind_proxies(site: Site, *proxies: str) -> ASGIApp:
    return asgi(proxy_headers(site, *proxies))


def proxy_headers(site: Site, *proxies: str) -> ProxyHeadersMiddleware:
    # uvicorn types the app it wraps with TypedDict scopes, which no app typed with dict or
    # MutableMapping scopes (Starlette's included) matches.
    return ProxyHeadersMiddleware(cast(Any, site), trusted_hosts=list(proxies))


async def test_a_trusted_proxy_names_the_client() -> None:
    async with client(behind_proxies(Site(), PROXY[0]), peer=PROXY) as http:
        reply = await http.get("/peer", headers=FORWARDED)
    assert reply.json() == {"client": ["203.0.113.7", 0], "scheme": "https"}


async def test_an_untrusted_peer_cannot_claim_another_address() -> None:
    stranger = ("198.51.100.2", 41000)
    async with client(behind_proxies(Site(), PROXY[0]), peer=stranger) as http:
        reply = await http.get("/peer", headers=FORWARDED)
    assert reply.json() == {"client": list(stranger), "scheme": "http"}


async def test_through_a_chain_of_trusted_proxies_the_client_is_the_first_untrusted_address() -> None:
    # The client claims to be 192.0.2.1; the two proxies are trusted, the claim is not.
    chain = {"X-Forwarded-For": "192.0.2.1, 203.0.113.7, 10.0.0.2"}
    async with client(behind_proxies(Site(), "10.0.0.1", "10.0.0.2"), peer=PROXY) as http:
        reply = await http.get("/peer", headers=chain)
    assert reply.json()["client"] == ["203.0.113.7", 0]


async def test_a_trusted_proxy_names_the_client_of_a_websocket() -> None:
    app = cast(micropie.asgi.ASGIApp, proxy_headers(Site(), "127.0.0.1"))
    session = WebSocketSession(app, "/peer", headers=[(b"x-forwarded-for", b"203.0.113.7"),
                                                      (b"x-forwarded-proto", b"https")])
    session.start()
    assert (await session.next_message())["type"] == "websocket.accept"
    sent = await session.next_message()
    assert json.loads(sent["text"]) == {"client": ["203.0.113.7", 0], "scheme": "wss"}
    assert (await session.next_message())["type"] == "websocket.close"
    await session.finish()


# Every wrapper ---------------------------------------------------------------------------------

WRAPPERS: dict[str, Callable[[Site], ASGIApp]] = {
    "cors": cors,
    "gzip": lambda site: GZipMiddleware(asgi(site)),
    "trusted_host": trusted_host,
    "proxy_headers": lambda site: behind_proxies(site, "127.0.0.1"),
}


@pytest.mark.parametrize("wrapper", WRAPPERS)
async def test_the_lifespan_reaches_the_app_through_each_wrapper(wrapper: str) -> None:
    site = Site()
    wrapped = WRAPPERS[wrapper](site)
    incoming: list[Message] = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message["type"])

    await wrapped({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert site.lifespan == ["startup", "shutdown"]
