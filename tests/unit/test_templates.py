"""Templates: Jinja2 from the ``templates_dir`` option's directory (``./templates`` by default),
autoescaped, rendered asynchronously."""

from pathlib import Path

import pytest
from harness import get, run_python

from micropie import App


class Pages(App):
    async def hello(self, name: str = "World") -> str:
        return await self._render_template("hello.html", name=name, items=["a", "b"])

    async def missing(self) -> str:
        return await self._render_template("nope.html")

    async def plain(self) -> str:
        return await self._render_template("note.txt", text="<b>")


@pytest.fixture
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "hello.html").write_text(
        "<h1>Hello {{ name }}</h1>{% for item in items %}<i>{{ item }}</i>{% endfor %}"
    )
    (folder / "note.txt").write_text("note: {{ text }}")
    monkeypatch.chdir(tmp_path)
    return folder


async def test_templates_render_with_context(templates: Path) -> None:
    reply = await get(Pages(), "/hello/Ada")
    assert (reply.status, reply.text) == (200, "<h1>Hello Ada</h1><i>a</i><i>b</i>")


async def test_html_templates_are_autoescaped(templates: Path) -> None:
    reply = await get(Pages(), "/hello", query="name=<script>alert(1)</script>")
    assert "<script>" not in reply.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in reply.text


async def test_non_html_templates_are_not_escaped(templates: Path) -> None:
    assert (await get(Pages(), "/plain")).text == "note: <b>"


async def test_a_missing_template_is_500(templates: Path) -> None:
    reply = await get(Pages(), "/missing")
    assert (reply.status, reply.text) == (500, "500 Internal Server Error")


def views(parent: Path, text: str) -> Path:
    """A template directory ``views`` in ``parent`` whose ``hello.html`` starts with ``text``."""
    folder = parent / "views"
    folder.mkdir()
    (folder / "hello.html").write_text(text + " {{ name }}")
    return folder


async def test_templates_dir_takes_a_path_that_holds_wherever_the_process_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = views(tmp_path, "from views:")
    monkeypatch.chdir(tmp_path.parent)
    for given in (folder, str(folder)):
        app = Pages(templates_dir=given)
        assert app.templates_dir == given  # read back as given
        assert (await get(app, "/hello/Ada")).text == "from views: Ada"


async def test_a_relative_templates_dir_is_found_from_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    views(tmp_path, "relative:")
    app = Pages(templates_dir="views")
    monkeypatch.chdir(tmp_path)
    assert (await get(app, "/hello/Ada")).text == "relative: Ada"


async def test_the_default_templates_dir_is_templates(templates: Path) -> None:
    assert Pages().templates_dir == "templates"


async def test_assigning_templates_dir_takes_effect_from_the_next_request(
        templates: Path, tmp_path: Path) -> None:
    app = Pages()
    assert (await get(app, "/hello/Ada")).text.startswith("<h1>Hello Ada</h1>")
    other = tmp_path / "other"
    other.mkdir()
    views(other, "assigned:")
    app.templates_dir = other / "views"
    assert (await get(app, "/hello/Ada")).text == "assigned: Ada"


MISSING_JINJA_SCRIPT = """
import asyncio, logging, sys
sys.modules["jinja2"] = None  # as if Jinja2 were not installed
from micropie import App

logging.basicConfig(level=logging.ERROR, stream=sys.stdout, format="LOG %(message)s")

class Pages(App):
    async def index(self) -> str:
        return await self._render_template("index.html")

async def main() -> None:
    sent = []
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}
    async def send(message):
        sent.append(message)
    await Pages()({"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": []},
                  receive, send)
    print("STATUS", sent[0]["status"], sent[1]["body"].decode())

asyncio.run(main())
"""


async def test_without_jinja2_rendering_is_a_500_with_a_logged_hint() -> None:
    output = await run_python(MISSING_JINJA_SCRIPT)
    assert "STATUS 500 500 Internal Server Error" in output, output
    assert "Rendering templates needs Jinja2: pip install jinja2" in output, output
