"""The documentation's code runs and does what its page says, in both modes.

Every titled Python block of docs/ (a whole file, see tests/support/markdown_blocks.py) has a check
here, registered with ``@checks(page, title)``: it runs the block and asserts what the page
claims, through ``micropie.testing``. Untitled blocks are excerpts of a titled block on their
page. All titled blocks also pass ``mypy --strict`` together, as a user's files would. Shell
commands name only what exists. The reference names every public name and every option.
"""

import ast
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from project import ROOT
from markdown_blocks import DOCS, Block, command_problems, docs_pages, excerpt_problems, python_blocks
from markdown_blocks import titled
from redis_server import RedisServer
from project import run_mypy

import micropie
import micropie.testing
from micropie import App, SessionBackend
from micropie.settings import OPTIONS
from micropie.testing import TestClient, WebSocketDisconnect

Check = Callable[..., object]
CHECKS: dict[tuple[str, str], Check] = {}


def checks(page: str, title: str) -> Callable[[Check], Check]:
    """Register the test below as the check of block ``title`` on ``page`` (relative to docs/)."""

    def register(function: Check) -> Check:
        CHECKS[(page, title)] = function
        return function

    return register


def block(page: str, title: str) -> Block:
    return titled(DOCS / page, title)


def load(page: str, title: str, **globals_: Any) -> dict[str, Any]:
    """Run a block as a module named after its file."""
    return block(page, title).run({"__name__": Path(title).stem, **globals_})


def write_files(directory: Path, page: str) -> None:
    """Write the page's titled blocks into ``directory`` as files."""
    for code in python_blocks(DOCS / page):
        if code.title:
            target = directory / code.title
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(code.code)


def assert_page_tests_pass(directory: Path, page: str, test_file: str, count: int) -> None:
    """The page's test module passes, run with pytest in a fresh interpreter as a user runs it
    in their project directory (with the page's other files beside it)."""
    write_files(directory, page)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error",
               "-o", "asyncio_default_fixture_loop_scope=function", test_file]
    result = subprocess.run(command, cwd=directory, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{count} passed" in result.stdout, result.stdout


# -- every block, every page ----------------------------------------------------------------


def all_titled_blocks() -> list[Block]:
    return [code for page in docs_pages() for code in python_blocks(page) if code.title]


def test_every_titled_block_has_its_check() -> None:
    found = {(str(code.page.relative_to(DOCS)), code.title) for code in all_titled_blocks()}
    assert sorted(found - set(CHECKS)) == [], "blocks without a check in tests/docs/test_docs.py"
    assert sorted(set(CHECKS) - found) == [], "checks of blocks that are no longer there"


def test_titles_are_unique_file_names() -> None:
    titles = [code.title for code in all_titled_blocks()]
    assert len(titles) == len(set(titles)), sorted(title for title in titles if titles.count(title) > 1)
    assert all(title.endswith(".py") for title in titles)


def test_untitled_blocks_are_excerpts_of_a_titled_one() -> None:
    assert [problem for page in docs_pages() for problem in excerpt_problems(page)] == []


def test_every_block_is_python_or_a_shell_command_or_a_template() -> None:
    from markdown_blocks import blocks

    languages = {code.language for page in docs_pages() for code in blocks(page)}
    assert languages <= {"python", "sh", "html", "text"}


def test_the_commands_name_what_exists() -> None:
    problems = [problem for page in docs_pages() for problem in command_problems(page, allowed={"mkdocs"})]
    assert problems == []


def test_the_titled_blocks_pass_strict_mypy(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    names = []
    for code in all_titled_blocks():
        (tmp_path / code.title).write_text(code.code)
        names.append(code.title)
    result = run_mypy(tmp_path, tmp_path_factory.mktemp("mypy-cache"), *names)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Success: no issues found in {len(names)} source files" in result.stdout


def test_no_page_points_outside_the_repository() -> None:
    for page in [*docs_pages(), ROOT / "README.md"]:
        text = page.read_text()
        assert "shared/" not in text and "SPEC.md" not in text, page
        assert re.search(r"\bissues?\s*#?\d", text, flags=re.I) is None, page
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
            if not re.match(r"https?://", target):
                assert (page.parent / target).exists(), f"{page}: link to {target}"


def test_the_site_lists_every_page() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    listed = set(re.findall(r":\s+([\w/.-]+\.md)\s*$", nav, flags=re.M))
    assert listed == {str(page.relative_to(DOCS)) for page in docs_pages()}


# -- the tutorial ----------------------------------------------------------------------------


@checks("tutorial.md", "guestbook.py")
def test_tutorial_guestbook() -> None:
    guestbook: App = load("tutorial.md", "guestbook.py")["app"]
    with TestClient(guestbook) as client:
        assert client.get("/entries").status_code == 404  # data, not a route
        assert client.get("/sign?name=Ada&message=hi").status_code == 405
        refused = client.post("/picture", data={"picture": "not a file"})
        assert refused.text == "400 Bad Request: Parameter 'picture' must be an uploaded file"


@checks("tutorial.md", "test_guestbook.py")
def test_tutorial_tests_pass(tmp_path: Path) -> None:
    assert_page_tests_pass(tmp_path, "tutorial.md", "test_guestbook.py", 6)


def test_tutorial_serves_with_uvicorn(tmp_path: Path) -> None:
    import httpx
    from live import serving

    write_files(tmp_path, "tutorial.md")
    with serving("guestbook:app", app_dir=tmp_path, cwd=tmp_path) as server:
        with httpx.Client(base_url=server.url) as client:
            signed = client.post("/sign", data={"name": "Ada", "message": "served"})
            assert signed.status_code == 302
            assert client.get("/latest").json() == [{"name": "Ada", "message": "served"}]


# -- the home page ---------------------------------------------------------------------------


@checks("index.md", "hello.py")
def test_home_hello() -> None:
    with TestClient(load("index.md", "hello.py")["app"]) as client:
        assert client.get("/").text == "Hello, World!"
        assert client.get("/greet/Ada?times=2").text == "Hello, Ada! Hello, Ada!"
        assert client.get("/greet/Ada?times=many").text == "400 Bad Request: Parameter 'times' must be int"
        assert client.get("/greet").text == "400 Bad Request: Missing required parameter 'name'"


def test_home_lists_every_extra() -> None:
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    listed = set(re.findall(r"`micropie\[(\w+)\]`", (DOCS / "index.md").read_text()))
    assert listed == set(extras) - {"dev", "docs"}


# -- tables whose rows are claims --------------------------------------------------------------


def table(page: str, first_header: str) -> list[list[str]]:
    """The rows of the Markdown table on ``page`` whose first column is ``first_header``."""
    lines = (DOCS / page).read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
        rows.append([cell.strip().replace("\\|", "|") for cell in cells])
    return rows


def code_spans(cell: str) -> list[str]:
    return re.findall(r"`([^`]*)`", cell)


# -- the examples ----------------------------------------------------------------------------


def test_the_examples_page_lists_every_example_and_what_it_opens_answers(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from project import example

    rows = table("examples.md", "example")
    names = [code_spans(row[0])[0] for row in rows]
    assert sorted(names) == sorted(path.name for path in (ROOT / "examples").glob("*.py"))
    monkeypatch.chdir(tmp_path)  # as a user would start them: from anywhere
    for name, (_, _, opens) in zip(names, rows):
        target = code_spans(opens)[0]
        with TestClient(example(name.removesuffix(".py"))) as client:
            if "WebSocket" in opens:
                with client.websocket_connect(target) as ws:
                    ws.send_text("hello")
                    assert ws.receive_text() == "hello", name
            else:
                assert client.get(target).status_code in (200, 302), name
    readme = (ROOT / "README.md").read_text()
    assert "](examples/)" in readme and "](docs/examples.md)" in readme
    assert "](examples.md)" in (DOCS / "index.md").read_text()


# -- routing and binding ---------------------------------------------------------------------


@checks("guides/routing.md", "catalog.py")
def test_routing_catalog() -> None:
    app = load("guides/routing.md", "catalog.py")["app"]
    rows = table("guides/routing.md", "request")
    assert len(rows) >= 15
    with TestClient(app) as client:
        for request, answer in rows:
            method, target = code_spans(request)[0].split(" ", 1)
            json_body = re.search(r"with JSON `(.*?)`", request)
            response = client.request(method, target, json=None if json_body is None else
                                      __import__("json").loads(json_body.group(1)))
            expected = code_spans(answer)[0]
            if expected.startswith("{"):
                assert response.json() == __import__("json").loads(expected), request
            else:
                assert response.text == expected, request
        assert client.get("/ws_anything").status_code == 404
        assert client.get("/middlewares").status_code == 404
        blank = client.get("/item/3?detail=")
        assert blank.json() == {"id": 3, "detail": False}
        assert client.get("/price?amount=").text == "400 Bad Request: Missing required parameter 'amount'"
        assert client.get("/price/nan").text == "400 Bad Request: Parameter 'amount' must be float"
        assert client.post("/item", json={"item_id": 7.5}).status_code == 400
        assert client.post("/item", json={"item_id": True}).status_code == 400
        assert client.post("/price", json={"amount": 2}).json() == {"amount": 2.0, "currency": None}
        sent = client.post("/attach", files={"document": ("a.txt", b"hello", "text/plain")}, data={"note": "n"})
        assert sent.json() == {"filename": "a.txt", "size": 5, "note": "n"}
        refused = client.post("/attach", data={"document": "text"})
        assert refused.text == "400 Bad Request: Parameter 'document' must be an uploaded file"


@checks("guides/routing.md", "filters.py")
def test_routing_lists() -> None:
    import json

    app = load("guides/routing.md", "filters.py")["app"]
    rows = table("guides/routing.md", "list request")
    assert len(rows) == 8
    with TestClient(app) as client:
        for request, answer in rows:
            method, target = code_spans(request)[0].split(" ", 1)
            json_body = re.search(r"with JSON `(.*?)`", request)
            form = re.search(r"with form `(.*?)`", request)
            response = client.request(
                method, target,
                json=None if json_body is None else json.loads(json_body.group(1)),
                content=None if form is None else form.group(1).encode(),
                headers=None if form is None else {"content-type": "application/x-www-form-urlencoded"},
            )
            expected = code_spans(answer)[0]
            if expected.startswith("{"):
                assert response.json() == json.loads(expected), request
            else:
                assert response.text == expected, request
        photos = [("photo", (f"p{index}.jpg", bytes(index * 1000), "image/jpeg")) for index in range(3)]
        assert client.post("/photos", files=photos).json() == ["p0.jpg", "p1.jpg", "p2.jpg"]


def test_routing_conversion_table() -> None:
    from micropie import App as Base

    class Converts(Base):
        async def int_(self, value: int) -> str:
            return repr(value)

        async def float_(self, value: float) -> str:
            return repr(value)

        async def bool_(self, value: bool) -> str:
            return repr(value)

    app = Converts()
    rows = table("guides/routing.md", "type")
    assert [row[0] for row in rows] == ["`int`", "`float`", "`bool`", "`str`"]
    with TestClient(app) as client:
        for type_cell, accepted, refused in rows[:3]:
            handler = code_spans(type_cell)[0] + "_"
            for text in code_spans(accepted):
                if not any(character.isalnum() for character in text):
                    continue  # "an optional `-`": part of the description
                if "/" in text:  # "true/false": each word
                    words = text.split("/")
                else:
                    words = [text]
                for word in words:
                    assert client.get(f"/{handler}", params={"value": word}).status_code == 200, (handler, word)
            for text in code_spans(refused):
                answer = client.get(f"/{handler}", params={"value": text})
                assert answer.status_code == 400, (handler, text)
        assert client.get("/bool_?value=YES").text == "True"
        assert client.get("/bool_?value=maybe").status_code == 400


# -- responses and streaming -----------------------------------------------------------------


@checks("guides/responses.md", "shapes.py")
def test_responses_shapes() -> None:
    with TestClient(load("guides/responses.md", "shapes.py")["app"]) as client:
        text = client.get("/text")
        assert (text.headers["content-type"], text.headers["content-length"]) == ("text/html; charset=utf-8", "12")
        data = client.get("/data")
        assert (data.headers["content-type"], data.json()) == ("application/json", {"ok": True, "items": [1, 2, 3]})
        raw = client.get("/raw")
        assert (raw.headers.get_list("content-type"), raw.content) == (["image/png"], b"\x89PNG")
        assert (client.get("/created").status_code, client.get("/created").json()) == (201, {"id": 1})
        nothing = client.get("/nothing")
        assert (nothing.status_code, nothing.content, "content-length" in nothing.headers) == (204, b"", False)
        moved = client.get("/moved")
        assert (moved.status_code, moved.headers["location"]) == (302, "/caf%C3%A9?size=L")
        assert moved.headers["cache-control"] == "no-store"
        unsafe = client.get("/unsafe?name=a%0D%0ASet-Cookie:%20x=1")
        assert (unsafe.text, "x-name" in unsafe.headers, "set-cookie" in unsafe.headers) == ("hello", False, False)
        assert client.get("/unsafe?name=Ada").headers["x-name"] == "Ada"
        broken = client.get("/broken")
        assert (broken.status_code, broken.text) == (500, "500 Internal Server Error")
        head = client.head("/data")
        assert (head.content, head.headers["content-length"]) == (b"", data.headers["content-length"])


@checks("guides/responses.md", "orders.py")
def test_responses_models() -> None:
    with TestClient(load("guides/responses.md", "orders.py")["app"]) as client:
        item = client.get("/item")
        assert (item.headers["content-type"], item.content) == ("application/json", b'{"name":"tea","price":2.5,"tags":["hot"]}')
        order = client.get("/order")
        assert (order.status_code, order.content) == (201, b'{"id":7,"items":[{"name":"tea","price":2.5,"tags":[]}]}')


@checks("guides/responses.md", "clock.py")
def test_responses_clock() -> None:
    import asyncio

    clock = load("guides/responses.md", "clock.py")["app"]
    sent: list[dict[str, Any]] = []
    gone = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not sent:
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        bodies = [item for item in sent if item["type"] == "http.response.body"]
        if len(bodies) == 3:
            assert clock.listening == 1
            gone.set()  # the client leaves after three events

    scope = {"type": "http", "method": "GET", "path": "/time", "query_string": b"every=0.01",
             "headers": [], "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "http",
             "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    asyncio.run(asyncio.wait_for(clock(scope, receive, send), 5))
    start = sent[0]
    assert start["status"] == 200
    assert (b"content-type", b"text/event-stream") in start["headers"]
    assert all(message["body"].startswith(b"data: 20") for message in sent[1:4])
    assert clock.listening == 0  # the generator was closed


@checks("guides/responses.md", "report.py")
def test_responses_report() -> None:
    with TestClient(load("guides/responses.md", "report.py")["app"]) as client:
        rows = client.get("/rows?count=2")
        assert (rows.text, rows.headers["content-type"]) == ("n,square\n0,0\n1,1\n", "text/html; charset=utf-8")
        assert "content-length" not in rows.headers
        csv = client.get("/csv")
        assert (csv.text, csv.headers["content-type"]) == ("n,square\n0,0\n1,1\n2,4\n", "text/csv")


@checks("guides/responses.md", "pages.py")
def test_responses_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from markdown_blocks import blocks

    template = next(code for code in blocks(DOCS / "guides/responses.md") if code.title == "templates/welcome.html")
    project = tmp_path / "project"
    (project / "templates").mkdir(parents=True)
    (project / "templates" / "welcome.html").write_text(template.code)
    monkeypatch.chdir(tmp_path)  # not the project: the templates are found from pages.py
    app = load("guides/responses.md", "pages.py", __file__=str(project / "pages.py"))["app"]
    with TestClient(app) as client:
        assert "<p>Welcome, &lt;b&gt;Ada&lt;/b&gt;!</p>" in client.get("/welcome", params={"name": "<b>Ada</b>"}).text
        assert "Welcome, stranger!" in client.get("/welcome").text


# -- sessions ----------------------------------------------------------------------------------


def session_cookie(response: Any) -> str:
    header: str = response.headers["set-cookie"]
    return header


@checks("guides/sessions.md", "account.py")
def test_sessions_account() -> None:
    app = load("guides/sessions.md", "account.py")["app"]
    backend = app.session_backend
    with TestClient(app) as client:
        assert client.get("/whoami").json() == {"user": None}
        assert len(backend) == 0 and "set-cookie" not in client.get("/whoami").headers
        first = client.get("/visit")
        assert first.json() == {"visits": 1}
        assert session_cookie(first).endswith("; Path=/; HttpOnly; SameSite=Lax; Secure")
        old_id = client.cookies["session_id"]
        second = client.get("/visit")
        assert (second.json(), "set-cookie" in second.headers) == ({"visits": 2}, False)
        client.post("/login", data={"username": "ada"})
        new_id = client.cookies["session_id"]
        assert new_id != old_id and list(backend.sessions) == [new_id]
        assert client.get("/whoami").json() == {"user": "ada"}
        assert backend.sessions[new_id] == {"visits": 2, "user": "ada"}
        logout = client.get("/logout")
        assert "Max-Age=0" in session_cookie(logout) and len(backend) == 0
    # A client that brings an id of its own never gets it.
    with TestClient(app) as client:
        chosen = "12345678-1234-4234-8234-123456789abc"
        client.cookies.set("session_id", chosen)
        client.get("/visit")
        assert chosen not in backend.sessions and len(backend) == 1
        client.cookies.clear()
        client.cookies.set("session_id", "not-a-uuid")
        assert client.get("/visit").json() == {"visits": 1}


@checks("guides/sessions.md", "memory.py")
def test_sessions_memory() -> None:
    backend = load("guides/sessions.md", "memory.py")["app"].session_backend
    assert (backend.max_sessions, backend.cleanup_interval) == (10_000, 30.0)


@checks("guides/sessions.md", "cart.py")
def test_sessions_cart_in_redis(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    # Two loads of the module stand for two worker processes.
    first, second = load("guides/sessions.md", "cart.py")["app"], load("guides/sessions.md", "cart.py")["app"]
    with TestClient(first) as one, TestClient(second) as other:
        assert one.get("/add/apple").json() == {"items": ["apple"]}
        other.cookies.set("session_id", one.cookies["session_id"])
        assert other.get("/add/pear").json() == {"items": ["apple", "pear"]}
        assert one.get("/add/fig").json() == {"items": ["apple", "pear", "fig"]}
        with redis_server.client() as redis:
            key = "cart:session:" + one.cookies["session_id"]
            assert 0 < redis.ttl(key) <= 8 * 3600


@checks("guides/sessions.md", "sqlite_sessions.py")
def test_sessions_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    page = "guides/sessions.md"
    with TestClient(load(page, "sqlite_sessions.py")["app"]) as one, \
            TestClient(load(page, "sqlite_sessions.py")["app"]) as other:
        assert one.get("/note?text=a").json() == {"notes": ["a"]}
        other.cookies.set("session_id", one.cookies["session_id"])
        assert other.get("/note?text=b").json() == {"notes": ["a", "b"]}
    assert (tmp_path / "sessions.db").exists()

    class Forgetful(SessionBackend):
        async def load(self, session_id: str) -> dict[str, Any]:
            return {}

    with pytest.raises(TypeError, match="save"):
        Forgetful()  # type: ignore[abstract]


# -- middleware and mounting -----------------------------------------------------------------


@checks("guides/middleware.md", "guarded.py")
def test_middleware_guarded() -> None:
    with TestClient(load("guides/middleware.md", "guarded.py")["app"]) as client:
        refused = client.get("/whoami")
        assert (refused.status_code, refused.text, refused.headers["www-authenticate"]) == (401, "token required", "Bearer")
        assert client.get("/nowhere").status_code == 401  # before routing
        client.headers["authorization"] = "Bearer secret"
        served = client.get("/whoami")
        assert served.json() == {"user": "service"}
        assert served.headers["server-timing"].startswith("app;dur=")
        leak = client.get("/leak")
        assert (leak.status_code, leak.text) == (403, "redacted")


@checks("guides/middleware.md", "members_only.py")
def test_middleware_guards_each_protocol() -> None:
    app = load("guides/middleware.md", "members_only.py")["app"]
    with TestClient(app) as client:
        refused = client.get("/news")
        assert (refused.status_code, refused.text) == (401, "log in first")
        assert refusal(client, "/feed") == (4401, "log in first")
        assert client.post("/login", data={"name": "ada"}).text == "logged in"
        assert client.get("/news").text == "for members only"
        with client.websocket_connect("/feed") as ws:
            assert ws.receive_text() == "hello, ada"
    # What the page says of the last line: the HTTP guard alone leaves the socket open.
    app.ws_middlewares.clear()
    with TestClient(app) as stranger:
        assert stranger.get("/news").status_code == 401
        with stranger.websocket_connect("/feed") as ws:
            assert ws.receive_text() == "hello, stranger"


@checks("guides/middleware.md", "versioned.py")
def test_middleware_versioned() -> None:
    with TestClient(load("guides/middleware.md", "versioned.py")["app"]) as client:
        assert client.get("/greet/Ada").text == "Hello, Ada"
        assert client.get("/v2/greet/Ada").json() == {"greeting": "Hello, Ada", "version": "2"}
        assert client.get("/_v2_greet/Ada").status_code == 404
        assert client.get("/v2/missing").status_code == 404
        assert client.get("/v2/_secret").text == "no such version 2 handler"


@checks("guides/middleware.md", "mounted.py")
def test_middleware_mounted() -> None:
    with TestClient(load("guides/middleware.md", "mounted.py")["app"]) as client:
        assert client.post("/login", data={"name": "ada"}).text == "logged in"
        assert client.get("/admin").json() == {"path": "/", "root_path": "/admin", "user": "ada"}
        assert client.post("/admin/rename", data={"name": "bo"}).json() == {"renamed": "bo"}
        assert client.get("/admin/").json()["user"] == "bo"


@checks("guides/middleware.md", "wrapped.py")
async def test_middleware_wrapped() -> None:
    from micropie.testing import AsyncTestClient

    origin = {"origin": "https://example.com"}
    # AsyncTestClient: TestClient cannot read a response the application compressed.
    async with AsyncTestClient(load("guides/middleware.md", "wrapped.py")["app"]) as client:
        preflight = await client.options("/report", headers={
            **origin, "access-control-request-method": "GET", "access-control-request-headers": "authorization"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://example.com"
        refused = await client.get("/report", headers=origin)
        assert (refused.status_code, refused.text) == (401, "token required")
        assert refused.headers["access-control-allow-origin"] == "https://example.com"
        served = await client.get("/report", headers={**origin, "authorization": "Bearer secret", "accept-encoding": "gzip"})
        assert served.headers["content-encoding"] == "gzip"
        assert served.json() == {"numbers": list(range(1000))}


# -- WebSockets ------------------------------------------------------------------------------


def refusal(client: TestClient, path: str, **options: Any) -> tuple[int, str]:
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect(path, **options) as ws:
            ws.receive_text()
    return refused.value.code, refused.value.reason


@checks("guides/websockets.md", "live.py")
def test_websockets_live() -> None:
    with TestClient(load("guides/websockets.md", "live.py")["app"]) as client:
        with client.websocket_connect("/echo?prefix=>") as ws:
            ws.send_text("hi")
            assert ws.receive_text() == ">hi"
        with client.websocket_connect("/sum") as ws:
            ws.send_json([1, 2, 3])
            assert ws.receive_json() == {"sum": 6}
            ws.send_json({"not": "a list"})
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_text()
            assert closed.value.code == 1003
        with client.websocket_connect("/sum") as ws:
            ws.send_text("{oops")
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_text()
            assert closed.value.code == 1007
        with client.websocket_connect("/room/7") as ws:
            assert ws.receive_json() == {"room": 7}
        assert refusal(client, "/room/lobby") == (1008, "Parameter 'room' must be int")
        assert refusal(client, "/crash") == (1011, "Internal server error")
        assert refusal(client, "/echo", headers={"origin": "https://evil.example"}) == (1008, "Origin not allowed")
        with client.websocket_connect("/echo", headers={"origin": "https://example.com"}) as ws:
            ws.send_text("ok")
            assert ws.receive_text() == "ok"


def test_websockets_close_table() -> None:
    from micropie import WebSocket, WebSocketMiddleware, WebSocketRequest

    class Refuse(WebSocketMiddleware):
        async def before_websocket(self, request: WebSocketRequest) -> dict[str, Any] | None:
            return {} if "pass" in request.scope["path"] else {"note": "no code, no reason"}

        async def after_websocket(self, request: WebSocketRequest) -> None:
            return None

    class Closes(App):
        async def ws_pass_needs(self, ws: WebSocket, count: int) -> None:
            await ws.accept()

        async def ws_pass_nothing(self) -> None:
            return None

        async def ws_pass_fails(self, ws: WebSocket) -> None:
            raise RuntimeError("boom")

    app = Closes(allowed_origins=["https://example.com"])
    app.ws_middlewares.append(Refuse())
    cases = {
        "Origin not allowed": ("/pass_needs?count=1", {"origin": "https://evil.example"}),
        "Private handler not allowed": ("/_pass", {}),
        "No matching WebSocket route": ("/pass_nowhere", {}),
        "Missing required parameter 'NAME'": ("/pass_needs", {}),
        "Parameter 'NAME' must be TYPE": ("/pass_needs?count=x", {}),
        "Middleware rejected": ("/blocked", {}),
        "WebSocket handler must accept a connection argument": ("/pass_nothing", {}),
        "Internal server error": ("/pass_fails", {}),
    }
    rows = table("guides/websockets.md", "close")
    checked = 0
    with TestClient(app) as client:
        for code_cell, reason_cell, _ in rows:
            code = int(code_spans(code_cell)[0])
            for reason in code_spans(reason_cell):
                if reason not in cases:
                    continue
                path, headers = cases[reason]
                got = refusal(client, path, headers=headers)
                expected = reason.replace("NAME", "count").replace("TYPE", "int")
                assert got == (code, expected), reason
                checked += 1
    assert checked == len(cases)
    assert [row for row in rows if code_spans(row[1])[0] == "Session store unavailable"][0][0] == "`1013`"


@checks("guides/websockets.md", "members.py")
def test_websockets_members() -> None:
    namespace = load("guides/websockets.md", "members.py")
    with TestClient(namespace["app"]) as client:
        assert refusal(client, "/lounge") == (4401, "log in first")
        client.post("/join", data={"name": "ada"})
        with client.websocket_connect("/lounge") as ws:
            assert ws.receive_text() == "hello, ada"
    assert namespace["guard"].finished == 1


# -- limits and errors -----------------------------------------------------------------------


@checks("guides/limits-and-errors.md", "limited.py")
def test_limits_limited() -> None:
    app = load("guides/limits-and-errors.md", "limited.py")["app"]
    with TestClient(app) as client:
        assert client.post("/note", data={"text": "x" * 4096}).json() == {"length": 4096}
        too_long = client.post("/note", data={"text": "x" * 4097})
        assert too_long.text == "413 Payload Too Large: Form field too large"
        too_large = client.post("/note", content=b"text=" + b"x" * (1024 * 1024), headers={
            "content-type": "application/x-www-form-urlencoded"})
        assert too_large.text == "413 Payload Too Large"
    assert app.max_form_fields == 20 and app.body_timeout == 2.0
    app.max_body_size = 64 * 1024 * 1024
    assert app.max_body_size == 64 * 1024 * 1024
    with pytest.raises(ValueError, match="max_body_size"):
        app.max_body_size = -1


def failing() -> Iterator[str]:
    raise RuntimeError("before the first chunk")


WITHOUT_OPTIONAL_PACKAGES = """
import sys

sys.modules["jinja2"] = None
sys.modules["multipart"] = None

from micropie import App
from micropie.testing import TestClient


class Site(App):
    async def page(self) -> str:
        return await self._render_template("page.html")

    async def echo(self) -> str:
        return "echo"


with TestClient(Site()) as client:
    for reply in (client.get("/page"),
                  client.post("/echo", content=b"x", headers={"content-type": "multipart/form-data; boundary=b"})):
        print(reply.status_code, reply.text)
"""


def without_optional_packages() -> list[tuple[int, str]]:
    """Templates and an upload in a fresh interpreter where Jinja2 and multipart cannot be
    imported (compiled modules keep a module once imported, so only a fresh one tells)."""
    result = subprocess.run([sys.executable, "-P", "-c", WITHOUT_OPTIONAL_PACKAGES], capture_output=True,
                            text=True, timeout=60, cwd=ROOT / "docs")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.stdout
    assert "Rendering templates needs Jinja2: pip install jinja2" in result.stderr
    assert "needs the multipart package: pip install multipart" in result.stderr
    return [(int(line[:3]), line[4:]) for line in lines]


def test_limits_every_answer_in_the_table(redis_server: RedisServer) -> None:
    import asyncio

    from harness import call
    from micropie import HttpMiddleware, Request
    from micropie.redis_sessions import RedisSessionBackend

    class Broken(HttpMiddleware):
        async def before_request(self, request: Request) -> dict[str, Any] | None:
            return {"status_code": "teapot"} if request.scope["path"] == "/bad_middleware" else None

        async def after_request(self, request: Request, status_code: int, response_body: object,
                                extra_headers: list[tuple[str, str]]) -> dict[str, Any] | None:
            return None

    class Site(App):
        async def echo(self, count: int = 0) -> str:
            return str(count)

        async def needs(self, name: str) -> str:
            return name

        async def crash(self) -> str:
            raise RuntimeError("boom")

        async def malformed(self) -> tuple[int, str, str, str]:
            return 200, "a", "b", "c"

        def stream(self) -> Iterator[str]:
            yield from failing()

        async def page(self) -> str:
            return await self._render_template("missing.html")

        async def store(self) -> str:
            self.request.session["when"] = {1, 2}
            return "stored"

        @property
        def secret(self) -> str:
            return "never"

    site = Site(body_timeout=0.05, max_body_size=100, max_form_field_size=10, max_form_fields=3)
    site.middlewares.append(Broken())
    down = Site(RedisSessionBackend("redis://127.0.0.1:1/0", timeout=0.2))
    redis_site = Site(RedisSessionBackend(redis_server.url))
    multipart = "multipart/form-data; boundary=b"
    form = "application/x-www-form-urlencoded"
    cookie = {"session_id": "12345678-1234-4234-8234-123456789abc"}

    async def recipes(answer: str) -> list[tuple[int, str]]:
        replies = []
        if answer.startswith("400 Bad Request: Invalid Content-Length"):
            replies.append(await call(site, "POST", "/echo", headers=[(b"content-length", b"-1")]))
        elif answer == "413 Payload Too Large":
            replies.append(await call(site, "POST", "/echo", headers=[(b"content-length", b"101")]))
            replies.append(await call(site, "POST", "/echo", chunks=[b"a" * 60, b"a" * 60]))
        elif answer.startswith("408"):
            replies.append(await call(site, "POST", "/echo", chunks=[b"a", b"b"], pause=0.3))
        elif answer.endswith("Bad JSON"):
            for body in (b"{", b"", b"[" * 100_000 + b"]" * 100_000):
                replies.append(await call(Site(), "POST", "/echo", body=body, content_type="application/json"))
            replies.append(await call(site, "POST", "/echo", body=b"{", content_type="application/problem+json"))
        elif answer.endswith("Form field too large"):
            replies.append(await call(site, "POST", "/echo", body=b"count=" + b"1" * 11, content_type=form))
            body = b'--b\r\nContent-Disposition: form-data; name="count"\r\n\r\n' + b"1" * 11 + b"\r\n--b--\r\n"
            replies.append(await call(site, "POST", "/echo", body=body, content_type=multipart))
        elif answer.endswith("Too many form fields"):
            replies.append(await call(site, "POST", "/echo", body=b"a=1&b=2&c=3&d=4", content_type=form))
        elif answer.endswith("Missing boundary"):
            replies.append(await call(site, "POST", "/echo", body=b"x", content_type="multipart/form-data"))
        elif answer.endswith("Malformed multipart body"):
            replies.append(await call(site, "POST", "/echo", body=b"not multipart", content_type=multipart))
        elif answer == "404 Not Found":
            for path in ("/nowhere", "/_private", "/ws_echo", "/secret", "/middlewares"):
                replies.append(await call(site, "GET", path))
        elif answer.startswith("400 Bad Request: Missing required"):
            replies.append(await call(site, "GET", "/needs"))
            replies.append(await call(site, "GET", "/needs", query="name="))
        elif answer.startswith("400 Bad Request: Parameter"):
            replies.append(await call(site, "GET", "/echo", query="count=x"))
        elif answer == "500 Internal Server Error":
            for path in ("/crash", "/malformed", "/stream", "/bad_middleware"):
                replies.append(await call(site, "GET", path))
            replies.append(await call(redis_site, "GET", "/store"))
            return [(reply.status, reply.text) for reply in replies] + without_optional_packages()
        elif answer.startswith("503"):
            replies.append(await call(down, "GET", "/echo", cookies=cookie))
            assert (await call(down, "GET", "/echo")).status == 200  # no cookie, no store
        return [(reply.status, reply.text) for reply in replies]

    rows = table("guides/limits-and-errors.md", "answer")
    assert len(rows) == 13
    for answer_cell, _, option_cell in rows:
        answer = code_spans(answer_cell)[0]
        expected = answer.replace("'NAME'", "'count'").replace("TYPE", "int")
        if "Missing required" in answer:
            expected = answer.replace("NAME", "name")
        got = asyncio.run(recipes(answer))
        assert got, f"no recipe for {answer}"
        assert set(got) == {(int(answer[:3]), expected)}, (answer, got)
        for option in code_spans(option_cell):
            assert option in OPTIONS or option == "RedisSessionBackend(timeout=...)"
    asyncio.run(redis_site.session_backend.close())


# -- errors and logging ----------------------------------------------------------------------


@checks("guides/errors.md", "shaped.py")
def test_errors_shaped() -> None:
    page = load("guides/errors.md", "shaped.py")
    with TestClient(page["app"]) as client:
        bad = client.get("/take/apple?count=many")
        assert (bad.status_code, bad.json()) == (400, {"error": "Parameter 'count' must be int"})
        missing = client.get("/nowhere")
        assert (missing.status_code, missing.json()) == (404, {"error": "something went wrong"})
        assert (client.get("/take/apple?count=5").status_code, client.get("/take/apple?count=5").json()) == (
            409, {"error": "only 3 left"})
        head = client.head("/nowhere")
        assert (head.status_code, head.content, head.headers["content-length"]) == (
            404, b"", missing.headers["content-length"])
    with TestClient(page["problems"]) as client:
        missing = client.get("/nowhere")
        assert (missing.status_code, missing.headers["content-type"]) == (404, "application/problem+json")
        assert missing.json() == {"type": "about:blank", "title": "Not Found", "status": 404}


@checks("guides/errors.md", "inventory.py")
def test_errors_inventory(caplog: pytest.LogCaptureFixture) -> None:
    with TestClient(load("guides/errors.md", "inventory.py")["app"]) as client:
        for request, answer in table("guides/errors.md", "request"):
            target = code_spans(request)[0].removeprefix("GET ") if request.startswith("`GET") else None
            if target is not None:
                assert client.get(target).text == code_spans(answer)[0], request
        missing = client.get("/item/pear")
        assert (missing.status_code, missing.json()) == (404, {"error": "no item 'pear'"})
        conflict = client.get("/take/apple?count=5")
        assert (conflict.status_code, conflict.json()) == (409, {"error": "only 3 left"})
        assert client.get("/take/apple?count=2").json() == {"apple": 1}
        with caplog.at_level("INFO", logger="micropie"):
            failed = client.get("/report")
            assert (failed.status_code, failed.text) == (500, "500 Internal Server Error")
            assert client.get("/take/apple?count=many").status_code == 400
    [record] = caplog.records  # the 500, not the 400
    assert (record.name, record.levelname) == ("micropie", "ERROR")
    assert record.getMessage() == "Unhandled exception while handling /report"
    assert record.exc_info is not None and "database is down" in str(record.exc_info[1])


def test_errors_a_failed_request_saves_no_session() -> None:
    class Cart(App):
        async def add(self, item: str) -> str:
            self.request.session["last"] = item
            if item == "broken":
                raise RuntimeError("out of order")
            return "added"

        async def last(self) -> str:
            return str(self.request.session.get("last"))

    with TestClient(Cart()) as client:
        client.get("/add/apple")
        assert client.get("/add/broken").status_code == 500
        assert client.get("/last").text == "apple"


@checks("guides/errors.md", "logged.py")
def test_errors_logged_under_uvicorn(tmp_path: Path) -> None:
    import httpx
    from live import serving

    write_files(tmp_path, "guides/errors.md")
    with serving("logged:app", app_dir=tmp_path, cwd=tmp_path) as server:
        with httpx.Client(base_url=server.url, trust_env=False) as client:
            assert client.get("/report").status_code == 500
    line = re.search(r"^\S+ \S+ ERROR micropie: Unhandled exception while handling /report$",
                     server.output(), flags=re.M)
    assert line is not None, server.output()
    traceback = server.output()[line.end():]
    assert traceback.lstrip().startswith("Traceback") and "RuntimeError: the report database is down" in traceback


# -- startup and shutdown --------------------------------------------------------------------


@checks("guides/lifespan.md", "mailer.py")
def test_lifespan_mailer() -> None:
    import asyncio

    from harness import post_form

    from micropie import InMemorySessionBackend
    from micropie.testing import LifespanFailed

    mailer = load("guides/lifespan.md", "mailer.py")["Mailer"]
    app = mailer()
    with TestClient(app) as client:
        queued = client.post("/welcome", data={"address": "ada@example.com"})
        assert (queued.status_code, queued.text) == (202, "queued")
        assert client.get("/_start").status_code == 404
    assert app.sent == ["ada@example.com"]
    # Without a lifespan (uvicorn --lifespan off), nothing was started.
    unstarted = asyncio.run(post_form(mailer(), "/welcome", "address=ada@example.com"))
    assert (unstarted.status, unstarted.body) == (503, b"not started")

    class Recording(InMemorySessionBackend):
        def __init__(self) -> None:
            super().__init__()
            self.closed = False

        async def close(self) -> None:
            self.closed = True

    served = mailer()
    served.session_backend = Recording()
    with TestClient(served):
        pass
    assert served.session_backend.closed  # after the shutdown handlers

    # A failing shutdown handler: the handlers after it do not run; the backend's close() does.
    later: list[str] = []

    async def failing() -> None:
        raise OSError("flush failed")

    async def after_it() -> None:
        later.append("ran")

    failing_app = mailer()
    failing_app.session_backend = Recording()
    failing_app.shutdown_handlers[:0] = [failing]
    failing_app.shutdown_handlers.append(after_it)
    with pytest.raises(LifespanFailed, match="flush failed"):
        with TestClient(failing_app):
            pass
    assert later == [] and failing_app.session_backend.closed


@checks("guides/lifespan.md", "test_mailer.py")
def test_lifespan_tests_pass(tmp_path: Path) -> None:
    assert_page_tests_pass(tmp_path, "guides/lifespan.md", "test_mailer.py", 3)


# -- testing, deployment, builds -------------------------------------------------------------


@checks("guides/testing.md", "test_site.py")
def test_testing_guide_tests_pass(tmp_path: Path) -> None:
    assert_page_tests_pass(tmp_path, "guides/testing.md", "test_site.py", 7)


@checks("guides/deployment.md", "shop.py")
def test_deployment_shop(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv("MAX_BODY_SIZE", "2048")
    workers = [load("guides/deployment.md", "shop.py")["app"] for _ in range(2)]
    assert workers[0].max_body_size == 2048
    with TestClient(workers[0]) as one, TestClient(workers[1]) as other:
        assert one.get("/add/apple").json() == {"cart": ["apple"]}
        other.cookies.set("session_id", one.cookies["session_id"])
        assert other.get("/add/pear").json() == {"cart": ["apple", "pear"]}
        assert other.get("/health").text == "ok"


@checks("guides/deployment.md", "proxied.py")
def test_deployment_proxied() -> None:
    app = load("guides/deployment.md", "proxied.py")["app"]
    forwarded = {"x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https"}
    with TestClient(app, "http://testserver", client=("10.0.0.1", 5000)) as proxy:
        assert proxy.get("/", headers=forwarded).json() == {"client": "203.0.113.7", "scheme": "https"}
    with TestClient(app, "http://testserver", client=("192.0.2.1", 5000)) as stranger:
        assert stranger.get("/", headers=forwarded).json() == {"client": "192.0.2.1", "scheme": "http"}


@checks("guides/compiled-or-pure.md", "which_build.py")
def test_which_build(tmp_path: Path) -> None:
    write_files(tmp_path, "guides/compiled-or-pure.md")
    result = subprocess.run([sys.executable, "-P", "which_build.py"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    compiled = micropie.COMPILED
    assert f"compiled: {compiled}" in result.stdout
    assert os.environ.get("MICROPIE_EXPECT_COMPILED", str(int(compiled))) == str(int(compiled))
    assert result.stdout.rstrip().endswith(".so" if compiled else "dispatch.py")


# -- the reference -------------------------------------------------------------------------


def reference_entries() -> set[str]:
    text = "\n".join(page.read_text() for page in sorted((DOCS / "reference").glob("*.md")))
    return set(re.findall(r"^::: ([\w.]+)", text, flags=re.M))


def reference_members(module: str) -> set[str]:
    """The names listed as ``members`` under ``::: module`` in the reference."""
    text = "\n".join(page.read_text() for page in sorted((DOCS / "reference").glob("*.md")))
    match = re.search(rf"^::: {re.escape(module)}\n(?:    .*\n)*", text, flags=re.M)
    assert match is not None, module
    return set(re.findall(r"^        - (\w+)", match.group(), flags=re.M))


def test_the_reference_names_every_public_name() -> None:
    entries = reference_entries()
    assert {f"micropie.{name}" for name in micropie.__all__} <= entries
    assert set(micropie.testing.__all__) <= reference_members("micropie.testing")
    assert "RedisSessionBackend" in reference_members("micropie.redis_sessions")


def test_the_reference_entries_exist() -> None:
    for entry in reference_entries():
        module, _, name = entry.rpartition(".")
        if module == "":
            continue
        target = __import__(module, fromlist=[name]) if name else None
        assert hasattr(target, name) or entry in {"micropie.testing", "micropie.redis_sessions"}, entry


def option_sections() -> list[tuple[str, str, str]]:
    """Each option's section of the options page: its name, type and default as written.

    A section is a heading naming the option, then a line ``TYPE``, default ``DEFAULT``.
    """
    text = (DOCS / "reference/options.md").read_text()
    found = re.findall(r"^## `(\w+)`\n\n`([^`\n]+)`, default `([^`\n]+)`", text, flags=re.M)
    return [(name, type_, default) for name, type_, default in found]


def test_the_options_page_lists_every_option_with_its_type_and_default() -> None:
    sections = option_sections()
    assert [name for name, _, _ in sections] == list(OPTIONS)
    annotations = {name: annotation for name, annotation in App.__annotations__.items() if name in OPTIONS}
    for name, written_type, written_default in sections:
        assert written_type == render_type(annotations[name]), name
        default = OPTIONS[name].default
        if callable(default):
            assert written_default == getattr(default, "__name__", None), name
        else:
            assert ast.literal_eval(written_default) == default, name


def test_no_code_span_in_a_table_holds_a_pipe() -> None:
    # No way of writing one renders right in both places: GitHub ends the cell at a bare `|`,
    # and the site's Markdown keeps the backslash of `\|` inside code (the options page once
    # showed `float \| None`). Types with `|` go outside tables, as on the options page.
    for page in docs_pages():
        for number, line in enumerate(page.read_text().splitlines(), 1):
            if line.startswith("|"):
                assert not any("|" in span for span in code_spans(line)), f"{page}:{number}"


def test_names_in_tables_wrap_only_at_spaces_on_the_site() -> None:
    # Material lets code break anywhere, so narrow columns split names (`max_form_field_size`)
    # mid-word; the site's stylesheet undoes that for tables. Chromium showed the breaks on
    # four pages before this rule and none after, at 900 and 1280 pixels wide.
    assert "  - stylesheets/extra.css" in (ROOT / "mkdocs.yml").read_text()
    css = re.sub(r"/\*.*?\*/", "", (DOCS / "stylesheets/extra.css").read_text(), flags=re.S)
    rule = re.search(r"\.md-typeset table:not\(\[class\]\) code\s*\{([^}]*)\}", css)
    assert rule is not None and "word-break: normal" in rule.group(1)


def render_type(annotation: Any) -> str:
    """An annotation as the options page writes it: ``int | None``, ``Callable[[str], str | None]``."""
    text = str(annotation) if not isinstance(annotation, type) else annotation.__name__
    return re.sub(r"\b(?:collections\.abc|typing)\.", "", text).replace("NoneType", "None")
