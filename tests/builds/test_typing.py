"""User apps are type-checked against the installed package.

mypy runs as a user's would: from a directory outside the repository, with no ``MYPYPATH`` and
no project configuration, so it finds ``micropie`` where the environment installed it (the
editable install in pure mode, the wheel's ``.py`` files and ``py.typed`` in compiled mode).
The examples must pass ``--strict`` there, and common mistakes must be real errors, not values
of type ``Any`` slipping through.
"""

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from project import EXAMPLES, run_mypy


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


def test_the_examples_pass_strict_mypy_against_the_installed_package(
    tmp_path: Path, mypy_cache: Path
) -> None:
    names = sorted(path.name for path in EXAMPLES.glob("*.py"))
    assert "login.py" in names and "middleware.py" in names
    for name in names:
        shutil.copy(EXAMPLES / name, tmp_path / name)
    result = run_mypy(tmp_path, mypy_cache, *names)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Success: no issues found in {len(names)} source files" in result.stdout


@dataclass(frozen=True)
class Mistake:
    """A wrong line in a user's app, and the error mypy must report for it."""

    name: str
    code: str
    error_code: str
    message: str


MISTAKES = [
    Mistake(
        "option of the wrong type",
        'app = App(body_timeout="5")',
        "arg-type",
        'Argument "body_timeout" to "App" has incompatible type "str"',
    ),
    Mistake(
        "misspelt request attribute",
        """
class Typo(App):
    async def index(self) -> str:
        return str(self.request.sesion)  # here
""",
        "attr-defined",
        '"Request" has no attribute "sesion"',
    ),
    Mistake(
        "query value used without a None check",
        """
class Counter(App):
    async def index(self) -> int:
        return self.request.query("n") + 1  # here
""",
        "operator",
        "Unsupported operand types",
    ),
    Mistake(
        "middleware hook with the wrong signature",
        """
class Extra(HttpMiddleware):
    async def before_request(self, request: Request, extra: int) -> None:  # here
        return None

    async def after_request(
        self, request: Request, status_code: int, response_body: object,
        extra_headers: list[tuple[str, str]],
    ) -> None:
        return None
""",
        "override",
        'Signature of "before_request" incompatible with supertype',
    ),
    Mistake(
        "middleware response of the wrong type",
        """
class Teapot(HttpMiddleware):
    async def before_request(self, request: Request) -> ResponseOverride | None:
        return {"status_code": "418"}  # here

    async def after_request(
        self, request: Request, status_code: int, response_body: object,
        extra_headers: list[tuple[str, str]],
    ) -> None:
        return None
""",
        "return-value",
        'Incompatible return value type (got "dict[str, str]", expected "ResponseOverride | None")',
    ),
    Mistake(
        "session backend returning the wrong type",
        """
class Backend(SessionBackend):
    async def load(self, session_id: str) -> str:  # here
        return ""

    async def save(self, session_id: str, data: dict[str, Any], timeout: int) -> None:
        return None
""",
        "override",
        'Return type "Coroutine[Any, Any, str]" of "load" incompatible with return type',
    ),
    Mistake(
        "WebSocket.send_text given an int",
        """
async def send_number(ws: WebSocket) -> None:
    await ws.send_text(1)  # here
""",
        "arg-type",
        'Argument 1 to "send_text" of "WebSocket" has incompatible type "int"; expected "str"',
    ),
    Mistake(
        "WebSocket text taken for an int",
        """
async def read_number(ws: WebSocket) -> int:
    return await ws.receive_text()  # here
""",
        "return-value",
        'Incompatible return value type (got "str", expected "int")',
    ),
    Mistake(
        "misspelt option attribute",
        """
def configure(app: App) -> None:
    app.max_body_sise = 4  # here
""",
        "attr-defined",
        '"App" has no attribute "max_body_sise"',
    ),
    Mistake(
        "option attribute of the wrong type",
        """
def configure_size(app: App) -> None:
    app.max_body_size = "big"  # here
""",
        "assignment",
        'Incompatible types in assignment (expression has type "str", variable has type "int | None")',
    ),
    Mistake(
        "unknown keyword option",
        """
def make() -> App:
    return App(max_body_sise=4)  # here
""",
        "call-arg",
        'Unexpected keyword argument "max_body_sise" for "App"',
    ),
    Mistake(
        "template name passed by keyword",
        """
class Page(App):
    async def index(self) -> str:
        return await self._render_template(name="page.html")  # here
""",
        "call-arg",
        'Too few arguments for "_render_template"',
    ),
]

HEADER = """\
from typing import Any

from micropie import App, HttpMiddleware, Request, SessionBackend, WebSocket
from micropie.middleware import ResponseOverride
"""


@dataclass(frozen=True)
class Report:
    output: str
    lines: dict[str, int]
    errors: dict[int, list[str]]


@pytest.fixture(scope="module")
def mistakes_report(tmp_path_factory: pytest.TempPathFactory, mypy_cache: Path) -> Report:
    """mypy's errors for one module holding every mistake, by line."""
    source = HEADER
    lines: dict[str, int] = {}
    for mistake in MISTAKES:
        code = mistake.code.strip("\n")
        offset = source.count("\n") + 2
        if "# here" in code:
            marked = next(index for index, line in enumerate(code.splitlines()) if "# here" in line)
        else:
            marked = 0
        lines[mistake.name] = offset + marked
        source += "\n" + code + "\n"
    directory = tmp_path_factory.mktemp("mistakes")
    (directory / "mistakes.py").write_text(source)
    result = run_mypy(directory, mypy_cache, "mistakes.py")
    errors: dict[int, list[str]] = {}
    for match in re.finditer(r"^mistakes\.py:(\d+): error: (.*)$", result.stdout, re.MULTILINE):
        errors.setdefault(int(match[1]), []).append(match[2])
    return Report(result.stdout + result.stderr, lines, errors)


@pytest.mark.parametrize("mistake", MISTAKES, ids=[mistake.name for mistake in MISTAKES])
def test_mypy_reports_the_mistake(mistakes_report: Report, mistake: Mistake) -> None:
    line = mistakes_report.lines[mistake.name]
    reported = mistakes_report.errors.get(line, [])
    assert any(
        mistake.message in error and error.endswith(f"[{mistake.error_code}]") for error in reported
    ), f"expected {mistake.message!r} [{mistake.error_code}] on line {line}:\n{mistakes_report.output}"


def test_mypy_reports_nothing_but_the_mistakes(mistakes_report: Report) -> None:
    unexpected = set(mistakes_report.errors) - set(mistakes_report.lines.values())
    assert not unexpected, mistakes_report.output


MICROPIE_STYLE = """\
import functools
from typing import Any

from micropie import JINJA_INSTALLED, MULTIPART_INSTALLED, App, HttpMiddleware, Request
from micropie import WebSocketMiddleware, WebSocketRequest
from micropie.middleware import ResponseOverride


class Timing(HttpMiddleware):
    async def before_request(self, request: Request) -> dict[str, Any] | None:
        return None

    async def after_request(
        self, request: Request, status_code: int, response_body: Any, extra_headers: list[Any]
    ) -> dict[str, Any] | None:
        return {"headers": [*extra_headers, ("X-Timing", "1")]}


class Typed(HttpMiddleware):
    async def before_request(self, request: Request) -> ResponseOverride | None:
        return {"status_code": 403, "body": "no"}

    async def after_request(
        self, request: Request, status_code: int, response_body: object,
        extra_headers: list[tuple[str, str]],
    ) -> ResponseOverride | None:
        return None


class Guard(WebSocketMiddleware):
    async def before_websocket(self, request: WebSocketRequest) -> dict[str, Any] | None:
        return {"code": 1008, "reason": "no"}

    async def after_websocket(self, request: WebSocketRequest) -> None:
        return None


class Site(App):
    async def _greet(self, greeting: str, name: str) -> str:
        return f"{greeting}, {name}"

    hello = functools.partialmethod(_greet, "Hello")


app = Site(max_body_size=1024, body_timeout=None, allowed_origins=["https://example.com"])
app.max_body_size = 4
app.session_cookie_secure = False
limit: int | None = app.max_body_size
flags: tuple[bool, bool] = (MULTIPART_INSTALLED, JINJA_INSTALLED)
app.middlewares.extend([Timing(), Typed()])
app.ws_middlewares.append(Guard())
"""


def test_micropie_style_apps_and_typed_hooks_pass_strict_mypy(tmp_path: Path, mypy_cache: Path) -> None:
    (tmp_path / "site.py").write_text(MICROPIE_STYLE)
    result = run_mypy(tmp_path, mypy_cache, "site.py")
    assert result.returncode == 0, result.stdout + result.stderr


WRAPPED = """\
import httpx
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from micropie import App


class Api(App):
    async def index(self) -> str:
        return "ok"


api = Api()
app = GZipMiddleware(CORSMiddleware(api, allow_origins=["https://example.com"]))
client = httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="https://testserver")
"""


def test_an_app_passes_where_starlette_and_httpx_expect_an_asgi_app(tmp_path: Path, mypy_cache: Path) -> None:
    (tmp_path / "wrapped.py").write_text(WRAPPED)
    result = run_mypy(tmp_path, mypy_cache, "wrapped.py")
    assert result.returncode == 0, result.stdout + result.stderr
