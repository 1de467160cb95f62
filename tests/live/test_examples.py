"""Every app in examples/, driven in-process by ``micropie.testing.TestClient``, and served by
uvicorn on 127.0.0.1 where a real server matters (uploads through a socket, a server-sent event
stream and a client leaving it).

In-process, each test imports its example afresh (``example``), so every test starts from a new
app. Each example's server is started once per module (a fixture per example) and runs with the
same interpreter, so with the same micropie build, as the tests; HTTP goes through httpx.
"""

import hashlib
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from live import Server, serving
from project import EXAMPLES, example
from micropie import App
from micropie.testing import TestClient, WebSocketDisconnect

def live_client(server: Server) -> httpx.Client:
    """An HTTP client for ``server``."""
    return httpx.Client(base_url=server.url, timeout=10, trust_env=False)


def eventually(condition: Callable[[], bool], within: float = 5.0) -> bool:
    """Whether ``condition()`` becomes true within ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# hello.py ------------------------------------------------------------------------------------


def test_hello_greets_from_the_path_and_the_query() -> None:
    with TestClient(example("hello")) as http:
        index = http.get("/")
        assert (index.status_code, index.text) == (200, "Hello, World!")
        assert index.headers["content-type"] == "text/html; charset=utf-8"
        assert index.headers["content-length"] == str(len("Hello, World!"))
        assert http.get("/greet/Ada").text == "Hello, Ada!"
        assert http.get("/greet", params={"name": "Bob"}).text == "Hello, Bob!"
        assert http.get("/greet").text == "Hello, World!"
        assert http.get("/nowhere").status_code == 404


# json_api.py ---------------------------------------------------------------------------------


def test_json_api_creates_reads_lists_and_deletes_notes() -> None:
    with TestClient(example("json_api")) as http:
        created = http.post("/notes", json={"text": "  buy milk "})
        assert created.status_code == 201
        assert created.headers["content-type"] == "application/json"
        note = created.json()
        assert note["text"] == "buy milk" and isinstance(note["id"], int)
        assert created.headers["location"] == f"/notes/{note['id']}"
        other = http.post("/notes", json={"text": "call Ada"}).json()
        assert other["id"] != note["id"]

        assert http.get(f"/notes/{note['id']}").json() == note
        listed = http.get("/notes").json()
        assert note in listed and other in listed

        deleted = http.delete(f"/notes/{note['id']}")
        assert (deleted.status_code, deleted.content) == (204, b"")
        gone = http.get(f"/notes/{note['id']}")
        assert gone.status_code == 404
        assert gone.json() == {"error": f"note {note['id']} not found"}
        assert http.delete(f"/notes/{note['id']}").status_code == 404
        assert note not in http.get("/notes").json()


def test_json_api_rejects_bad_input_with_4xx() -> None:
    with TestClient(example("json_api")) as http:
        not_an_id = http.get("/notes/abc")
        assert not_an_id.status_code == 400
        assert not_an_id.text == "400 Bad Request: Parameter 'note_id' must be int"
        bad_json = http.post("/notes", content=b"{not json", headers={"Content-Type": "application/json"})
        assert (bad_json.status_code, bad_json.text) == (400, "400 Bad Request: Bad JSON")
        wrong_type = http.post("/notes", json={"text": 5})
        assert wrong_type.status_code == 400
        assert wrong_type.text == "400 Bad Request: Parameter 'text' must be str"
        for body in ({}, {"text": "   "}, ["text"]):
            missing = http.post("/notes", json=body)
            assert missing.status_code == 400, body
            assert "'text' is required" in missing.json()["error"]
        too_long = http.post("/notes", json={"text": "x" * 1001})
        assert too_long.status_code == 400
        wrong_method = http.put("/notes", json={"text": "x"})
        assert (wrong_method.status_code, wrong_method.headers["allow"]) == (405, "GET, POST")


# catalogue.py --------------------------------------------------------------------------------


def test_catalogue_search_takes_every_ticked_tag_and_size() -> None:
    with TestClient(example("catalogue")) as client:
        assert [item["id"] for item in client.get("/search").json()] == [1, 2, 3, 4]
        assert [item["id"] for item in client.get("/search?tag=red").json()] == [1, 3]
        assert [item["id"] for item in client.get("/search?tag=red&tag=small").json()] == [1]
        assert [item["id"] for item in client.get("/search?size=1&size=9").json()] == [3, 4]
        reply = client.get("/search?size=1&size=big")
        assert (reply.status_code, reply.text) == (400, "400 Bad Request: Parameter 'size' must be a list of int")
        assert 'name="tag" value="small"' in client.get("/").text


def test_catalogue_compare_takes_a_json_array_or_repeated_form_values() -> None:
    with TestClient(example("catalogue")) as client:
        reply = client.post("/compare", json={"ids": [3, 1]})
        assert [item["id"] for item in reply.json()["products"]] == [3, 1]
        assert reply.json()["largest"] == "Red barrel"
        reply = client.post("/compare", data={"ids": ["2", "4"]})
        assert [item["name"] for item in reply.json()["products"]] == ["Blue bucket", "Small spade"]
        assert client.post("/compare", json={"ids": [1, 7]}).json() == {"unknown": [7]}
        reply = client.post("/compare", json={"ids": "1"})
        assert (reply.status_code, reply.text) == (400, "400 Bad Request: Parameter 'ids' must be a list of int")
        reply = client.post("/compare", json={})
        assert (reply.status_code, reply.text) == (400, "400 Bad Request: Missing required parameter 'ids'")


# login.py ------------------------------------------------------------------------------------


def session_cookie(response: httpx.Response) -> str:
    """The session id a response sets, checking the cookie's attributes on the way."""
    header = response.headers["set-cookie"]
    attributes = [part.strip() for part in header.split(";")]
    assert "HttpOnly" in attributes and "SameSite=Lax" in attributes and "Path=/" in attributes
    # The example keeps the default: tests/live/test_browser.py shows a browser keeps it on 127.0.0.1.
    assert "Secure" in attributes
    name, _, value = attributes[0].partition("=")
    assert name == "session_id"
    return value


def test_login_protects_the_private_page_until_logged_in() -> None:
    with TestClient(example("login")) as http:
        before = http.get("/private")
        assert (before.status_code, before.headers["location"]) == (302, "/login")
        planted = session_cookie(before)
        assert http.get("/login").status_code == 200

        wrong = http.post("/login", data={"username": "demo", "password": "guess"})
        assert wrong.status_code == 401
        assert "Wrong user name or password." in wrong.text
        assert "set-cookie" not in wrong.headers
        assert http.get("/private").status_code == 302

        right = http.post("/login", data={"username": "demo", "password": "micropie-demo"})
        assert (right.status_code, right.headers["location"]) == (302, "/private")
        # A new id on login: the one handed out before (which an attacker could have planted)
        # does not carry the login.
        logged_in = session_cookie(right)
        assert logged_in != planted
        assert http.cookies["session_id"] == logged_in
        private = http.get("/private")
        assert private.status_code == 200
        assert "Welcome, demo." in private.text

        # A stranger holding the planted id.
        http.cookies.clear()
        http.cookies.set("session_id", planted)
        assert http.get("/private").status_code == 302


def test_logout_empties_the_session() -> None:
    with TestClient(example("login")) as http:
        http.post("/login", data={"username": "demo", "password": "micropie-demo"})
        session_id = http.cookies["session_id"]
        assert http.get("/private").status_code == 200
        assert http.get("/logout").status_code == 405
        assert http.get("/private").status_code == 200

        out = http.post("/logout")
        assert (out.status_code, out.headers["location"]) == (302, "/")
        assert "Max-Age=0" in out.headers["set-cookie"]
        assert "session_id" not in http.cookies
        assert http.get("/private").status_code == 302

        http.cookies.set("session_id", session_id)
        assert http.get("/private").status_code == 302


# upload.py -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def upload_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="module")
def upload(upload_dir: Path) -> Iterator[Server]:
    environment = {"MICROPIE_UPLOAD_DIR": str(upload_dir)}
    with serving("upload:app", app_dir=EXAMPLES, env=environment) as server:
        yield server


def test_upload_stores_the_file_byte_for_byte_under_a_safe_name(upload: Server, upload_dir: Path) -> None:
    payload = os.urandom(3 * 1024 * 1024 + 17)
    with live_client(upload) as http:
        reply = http.post("/upload", files={"file": ("../../etc/my report.bin", payload, "application/x-test")})
    assert reply.status_code == 201, reply.text
    result = reply.json()
    assert result["filename"] == "../../etc/my report.bin"
    assert result["content_type"] == "application/x-test"
    assert result["size"] == len(payload)
    assert result["sha256"] == hashlib.sha256(payload).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{16}-my_report\.bin", result["stored_as"])
    stored = upload_dir / result["stored_as"]
    assert stored.read_bytes() == payload
    assert not list(upload_dir.glob("*.part"))


def test_upload_many_stores_three_files_sent_under_one_name(upload: Server, upload_dir: Path) -> None:
    payloads = [os.urandom(10), os.urandom(2 * 1024 * 1024 + 3), b""]
    files = [("files", (f"f{index}.bin", payload, "application/x-test")) for index, payload in enumerate(payloads)]
    with live_client(upload) as http:
        reply = http.post("/upload_many", files=files)
    assert reply.status_code == 201, reply.text
    results = reply.json()
    assert [result["filename"] for result in results] == ["f0.bin", "f1.bin", "f2.bin"]
    assert [result["size"] for result in results] == [len(payload) for payload in payloads]
    for result, payload in zip(results, payloads):
        assert (upload_dir / result["stored_as"]).read_bytes() == payload


def test_upload_many_without_files_is_400(upload: Server) -> None:
    with live_client(upload) as http:
        reply = http.post("/upload_many", data={"files": ""})
    assert (reply.status_code, reply.text) == (400, "400 Bad Request: Missing required parameter 'files'")


def test_upload_without_a_file_is_400(upload: Server) -> None:
    with live_client(upload) as http:
        reply = http.post("/upload", data={"note": "no file"})
    assert (reply.status_code, reply.text) == (400, "400 Bad Request: Missing required parameter 'file'")


def test_an_upload_cut_off_midway_leaves_no_partial_file(upload: Server, upload_dir: Path) -> None:
    before = set(upload_dir.iterdir())
    boundary = "cut-off"
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    request = (
        "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(head) + 20 * 1024 * 1024}\r\n\r\n"
    ).encode()

    def partial_files() -> list[Path]:
        return [path for path in upload_dir.iterdir() if path.suffix == ".part" and path not in before]

    with socket.create_connection(("127.0.0.1", upload.port), timeout=5) as connection:
        connection.sendall(request + head + os.urandom(1024 * 1024))
        # The handler writes while the upload still arrives.
        assert eventually(lambda: bool(partial_files())), "no partial file appeared during the upload"
    assert eventually(lambda: not partial_files()), "the partial file was left behind"
    assert set(upload_dir.iterdir()) == before
    with live_client(upload) as http:
        assert http.get("/").status_code == 200


# websocket_echo.py ---------------------------------------------------------------------------


def test_websocket_echo_sends_text_back() -> None:
    with TestClient(example("websocket_echo")) as client, client.websocket_connect("/echo") as ws:
        for message in ("hello", "ünïcødé ✓", ""):
            ws.send_text(message)
            assert ws.receive_text(timeout=5) == message


def test_websocket_json_echo_counts_messages_and_survives_bad_json() -> None:
    with TestClient(example("websocket_echo")) as client, client.websocket_connect("/json") as ws:
        ws.send_json({"a": 1, "b": [True, None]})
        assert ws.receive_json(timeout=5) == {"echo": {"a": 1, "b": [True, None]}, "count": 1}
        ws.send_text("not json")
        assert ws.receive_json(timeout=5) == {"error": "messages must be JSON"}
        ws.send_json([1, 2])
        assert ws.receive_json(timeout=5) == {"echo": [1, 2], "count": 2}


def test_websocket_to_an_unknown_route_is_refused() -> None:
    with TestClient(example("websocket_echo")) as client:
        with pytest.raises(WebSocketDisconnect) as refused:
            with client.websocket_connect("/nowhere"):
                pytest.fail("connected to a route no handler serves")
    assert refused.value.code == 1008


# chat.py -------------------------------------------------------------------------------------


def test_chat_serves_its_page() -> None:
    with TestClient(example("chat")) as http:
        page = http.get("/")
    assert page.status_code == 200
    assert "new WebSocket(" in page.text


def test_chat_broadcasts_within_a_room_only() -> None:
    with (
        TestClient(example("chat")) as client,
        client.websocket_connect("/chat/room1?name=alice") as alice,
        client.websocket_connect("/chat/room2?name=carol") as carol,
    ):
        assert alice.receive_json(timeout=5) == {"event": "join", "room": "room1", "name": "alice"}
        assert carol.receive_json(timeout=5) == {"event": "join", "room": "room2", "name": "carol"}
        with client.websocket_connect("/chat/room1?name=bob") as bob:
            bob_joined = {"event": "join", "room": "room1", "name": "bob"}
            assert bob.receive_json(timeout=5) == bob_joined
            assert alice.receive_json(timeout=5) == bob_joined

            alice.send_text("hi bob")
            said = {"event": "message", "room": "room1", "name": "alice", "text": "hi bob"}
            assert bob.receive_json(timeout=5) == said
            assert alice.receive_json(timeout=5) == said
            bob.send_text("hi alice")
            replied = {"event": "message", "room": "room1", "name": "bob", "text": "hi alice"}
            assert alice.receive_json(timeout=5) == replied
            assert bob.receive_json(timeout=5) == replied

            # Messages on one connection arrive in order: had room1's reached carol, they
            # would come before her own.
            carol.send_text("anyone?")
            assert carol.receive_json(timeout=5) == {
                "event": "message", "room": "room2", "name": "carol", "text": "anyone?"
            }
        assert alice.receive_json(timeout=5) == {"event": "leave", "room": "room1", "name": "bob"}


def test_chat_refuses_a_bad_room_name() -> None:
    with TestClient(example("chat")) as client:
        with pytest.raises(WebSocketDisconnect) as refused:
            with client.websocket_connect("/chat/no%20spaces%21"):
                pytest.fail("joined a room with a bad name")
    assert refused.value.code == 1008
    assert refused.value.reason.startswith("Room names are 1 to 40 letters")


# sse_clock.py --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clock() -> Iterator[Server]:
    with serving("sse_clock:app", app_dir=EXAMPLES) as server:
        yield server


def test_sse_clock_streams_events_and_stops_when_the_client_leaves(clock: Server) -> None:
    with live_client(clock) as observer, live_client(clock) as listener:
        before = observer.get("/streams").json()
        times: list[datetime] = []
        with listener.stream("GET", "/clock", params={"interval": "0.1"}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream"
            assert response.headers["cache-control"] == "no-cache"
            assert "content-length" not in response.headers
            lines = response.iter_lines()
            while len(times) < 3:
                line = next(lines)
                assert line.startswith("data: ")
                times.append(datetime.fromisoformat(line.removeprefix("data: ")))
                assert next(lines) == ""
            assert observer.get("/streams").json()["open"] == before["open"] + 1
        assert times == sorted(times) and len(set(times)) == 3
        assert abs(datetime.now(timezone.utc) - times[-1]) < timedelta(seconds=5)
        after = {"open": before["open"], "closed": before["closed"] + 1}
        assert eventually(lambda: observer.get("/streams").json() == after), (
            "the clock generator kept running after the client left"
        )


def test_sse_clock_checks_its_interval() -> None:
    with TestClient(example("sse_clock")) as http:
        not_a_number = http.get("/clock", params={"interval": "soon"})
        assert (not_a_number.status_code, not_a_number.text) == (
            400, "400 Bad Request: Parameter 'interval' must be float"
        )
        too_fast = http.get("/clock", params={"interval": "0"})
        assert too_fast.status_code == 400
        assert "interval must be between" in too_fast.text


# middleware.py -------------------------------------------------------------------------------

RATE_LIMIT = 10
RATE_WINDOW = 3


@pytest.fixture
def middleware(monkeypatch: pytest.MonkeyPatch) -> App:
    # The example reads its limits from the environment when imported.
    monkeypatch.setenv("RATE_LIMIT", str(RATE_LIMIT))
    monkeypatch.setenv("RATE_WINDOW", str(RATE_WINDOW))
    return example("middleware")


def test_rate_limiter_answers_429_with_retry_after_per_client(middleware: App) -> None:
    # The rate limiter counts per client address: two clients from two addresses.
    with (
        TestClient(middleware, client=("127.0.0.2", 50000)) as http,
        TestClient(middleware, client=("127.0.0.3", 50000)) as neighbour,
    ):
        for _ in range(RATE_LIMIT):
            assert http.get("/").status_code == 200
        limited = http.get("/")
        assert (limited.status_code, limited.text) == (429, "Too many requests")
        retry_after = int(limited.headers["retry-after"])
        assert 1 <= retry_after <= RATE_WINDOW
        assert http.get("/hello").status_code == 429
        assert neighbour.get("/").status_code == 200
        time.sleep(retry_after)
        assert http.get("/").status_code == 200


def test_explicit_routes_reach_private_handlers_only_through_v1(middleware: App) -> None:
    with TestClient(middleware) as http:
        assert http.get("/hello/Ada").text == "Hello, Ada!"
        assert http.get("/v1/status").json() == {"version": 1, "status": "ok"}
        assert http.get("/v1/echo/a/b").json() == {"version": 1, "echo": ["a", "b"]}
        assert http.get("/_v1_status").status_code == 404
        assert http.get("/v1/_v1_status").status_code == 404
        assert http.get("/v1/missing").status_code == 404


def test_admin_app_is_mounted_under_admin(middleware: App) -> None:
    with TestClient(middleware) as http:
        for path in ("/admin", "/admin/"):
            assert http.get(path).json() == {"app": "admin", "path": "/", "root_path": "/admin"}
        assert http.get("/admin/users/7").json() == {
            "app": "admin", "path": "/users/7", "root_path": "/admin", "user_id": 7
        }
        assert http.get("/admin/users/seven").status_code == 400
        assert http.get("/administrator").status_code == 404
        assert http.get("/").text == "main app"


# templates.py --------------------------------------------------------------------------------


@pytest.fixture
def pages(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> App:
    # Anywhere but examples/: the app names its templates directory from its own file.
    monkeypatch.chdir(tmp_path)
    return example("templates")


def test_templates_render_with_inheritance_and_context(pages: App) -> None:
    with TestClient(pages) as http:
        page = http.get("/", params={"name": "Ada"})
        assert page.status_code == 200
        assert "<title>Hello</title>" in page.text
        assert "<h1>Hello, Ada!</h1>" in page.text
        fruits = http.get("/fruits/apple/pear")
        assert "<h1>2 fruits</h1>" in fruits.text
        assert "<li>apple</li>" in fruits.text and "<li>pear</li>" in fruits.text
        assert "none yet" in http.get("/fruits").text


def test_templates_autoescape_what_the_client_sent(pages: App) -> None:
    with TestClient(pages) as http:
        page = http.get("/", params={"name": "<script>alert(1)</script>"})
        assert "<script>" not in page.text
        assert "<h1>Hello, &lt;script&gt;alert(1)&lt;/script&gt;!</h1>" in page.text
        fruit = http.get("/fruits/%3Cimg%20src=x%20onerror=alert(1)%3E")
        assert "<img" not in fruit.text
        assert "<li>&lt;img src=x onerror=alert(1)&gt;</li>" in fruit.text
