"""The requests every row answers, and what counts as a correct answer.

A scenario owns its whole request: the scope (identical for every row; only the session
scenario adds the cookie each framework issued) and the single `http.request` message. Apps in
every framework implement the same routes; `check` is the one judge of their responses.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchlib.asgi import Message, Scope

HELLO = "Hello, World!"
GREETING: dict[str, Any] = {"message": HELLO, "count": 3, "ok": True}
ECHO_PAYLOAD: dict[str, Any] = {
    "id": 12345,
    "name": "bob",
    "email": "bob@example.com",
    "active": True,
    "score": 98.6,
    "nickname": None,
    "age": 42,
    "city": "Lisbon",
    "verified": False,
    "ratio": 0.25,
}
SESSION_USER = "bob"
# Not timed: each worker calls it once to have the framework create a session holding
# {"user": SESSION_USER} and to learn the cookie that names it.
SESSION_START_PATH = "/start_session"

_BASE_HEADERS = (
    (b"host", b"localhost:8000"),
    (b"user-agent", b"micropie-bench/1"),
    (b"accept", b"*/*"),
)


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    method: str
    path: str
    expected: str | dict[str, Any]
    query_string: bytes = b""
    content_type: bytes = b""
    body: bytes = b""
    needs_session: bool = False

    def scope(self, cookie: bytes = b"") -> Scope:
        headers = list(_BASE_HEADERS)
        if self.content_type:
            headers.append((b"content-type", self.content_type))
            headers.append((b"content-length", str(len(self.body)).encode()))
        if cookie:
            headers.append((b"cookie", cookie))
        return http_scope(self.method, self.path, self.query_string, headers)

    def request_message(self) -> Message:
        return {"type": "http.request", "body": self.body, "more_body": False}


def session_start_scope() -> Scope:
    return http_scope("GET", SESSION_START_PATH, b"", list(_BASE_HEADERS))


def http_scope(
    method: str, path: str, query_string: bytes, headers: list[tuple[bytes, bytes]]
) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": method,
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string,
        "headers": headers,
    }


SCENARIOS = (
    Scenario("text", "GET text", "GET", "/", HELLO),
    Scenario("json", "GET JSON", "GET", "/json", GREETING),
    Scenario("path_query", "GET path+query", "GET", "/greet/bob", "Hello bob 1", b"x=1"),
    Scenario(
        "form",
        "POST form",
        "POST",
        "/login",
        "Hi bob",
        content_type=b"application/x-www-form-urlencoded",
        body=b"username=bob",
    ),
    Scenario(
        "json_echo",
        "POST JSON echo",
        "POST",
        "/echo",
        ECHO_PAYLOAD,
        content_type=b"application/json",
        body=json.dumps(ECHO_PAYLOAD).encode(),
    ),
    Scenario("session", "GET session", "GET", "/session", SESSION_USER, needs_session=True),
)


def header(headers: Sequence[Sequence[bytes]], name: bytes) -> bytes | None:
    """The first value of a response header, by case-insensitive name."""
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def check(
    scenario: Scenario, status: int, headers: Sequence[Sequence[bytes]], body: bytes
) -> str | None:
    """Why this response is wrong for the scenario, or None when it is right."""
    if status != 200:
        return f"status {status}, body {body[:200]!r}"
    if isinstance(scenario.expected, str):
        if body != scenario.expected.encode():
            return f"body {body[:200]!r}, expected {scenario.expected!r}"
        return None
    content_type = header(headers, b"content-type") or b""
    if not content_type.startswith(b"application/json"):
        return f"content-type {content_type!r}, expected application/json"
    try:
        parsed = json.loads(body)
    except ValueError:
        return f"body is not JSON: {body[:200]!r}"
    if parsed != scenario.expected:
        return f"JSON {parsed!r}, expected {scenario.expected!r}"
    return None
