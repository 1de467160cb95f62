"""What an untyped MicroPie app writes into a request or an application, in both modes.

A MicroPie app assigns whatever it likes: ``request.path_params = ["alice", 5]``,
``request.session = None``, ``app.middlewares = (Auth(),)``. Compiled code trusts the types of
the fields it reads and is not checked when a property is assigned, so before these rules a
tuple in ``path_params`` crashed the compiled server process. Now every assignment is checked
where it happens (``request``, ``settings``): what MicroPie works with is kept or converted,
anything else is a ``TypeError`` naming the attribute, so the request is a logged 500, and the
process always lives.

The property writes arbitrary values into every settable attribute from ``before_request``,
from a handler and from ``after_request``, each batch in a fresh interpreter
(tests/support/apps/untyped_writes.py) so that a crash fails the test instead of the run. In the
compiled run the same batch also runs against the plain-Python source, and the two must
answer alike, byte for byte.
"""

import json
import subprocess
import sys
from typing import Any

import pytest
from harness import call, cookie_from
from project import APPS, SOURCE_TREE
from hypothesis import example, given, settings
from hypothesis import strategies as st

import micropie
from micropie import App, HttpMiddleware, InMemorySessionBackend, Request

WORKER = APPS / "untyped_writes.py"

REQUEST_ATTRIBUTES = [
    "scope", "method", "path_params", "query_params", "body_params", "session", "files", "headers",
    "body", "body_parsed", "_json", "_route_handler", "_subapp", "_subapp_path", "_subapp_mount_path",
    "user",
]
APP_ATTRIBUTES = ["middlewares", "ws_middlewares", "startup_handlers", "shutdown_handlers", "session_backend"]
PLACES = ["before", "handler", "after"]

# Python expressions the worker evaluates into a fresh value for each write.
scalars = st.one_of(
    st.sampled_from([
        "None", "True", "False", "0", "5", "-1", "2**70", "1.5", "float('nan')", "''", "'alice'", "'a/b'",
        "'\\ud800'", "b''", "b'bytes'", "bytearray(b'ba')", "memoryview(b'mv')", "object()", "Opaque()",
        "noop", "tiny_app", "PassThrough()", "InMemorySessionBackend()", "range(3)", "{1, 2}",
        "frozenset()", "...", "len", "type",
    ]),
    st.integers(-(2**80), 2**80).map(repr),
    st.text(max_size=8).map(repr),
    st.binary(max_size=8).map(repr),
)
expressions = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(inner, max_size=4).map(lambda items: "(" + "".join(item + ", " for item in items) + ")"),
        st.dictionaries(st.one_of(st.text(max_size=4).map(repr), st.sampled_from(["1", "None", "b'k'"])),
                        inner, max_size=3)
        .map(lambda entries: "{" + ", ".join(f"{key}: {value}" for key, value in entries.items()) + "}"),
        inner.map(lambda value: f"OrderedDict([('k', {value})])"),
        inner.map(lambda value: f"defaultdict(list, {{'k': {value}}})"),
    ),
    max_leaves=8,
)
request_cases = st.fixed_dictionaries({
    "target": st.just("request"),
    "attribute": st.sampled_from(REQUEST_ATTRIBUTES),
    "expression": expressions,
    "where": st.sampled_from(PLACES),
})
app_cases = st.fixed_dictionaries({
    "target": st.just("app"),
    "attribute": st.sampled_from(APP_ATTRIBUTES),
    "expression": expressions,
    "where": st.sampled_from(PLACES),
})
returned_values = st.one_of(
    st.fixed_dictionaries({
        "target": st.just("hook"),
        "attribute": st.sampled_from(["before_request", "after_request"]),
        "expression": expressions,
        "where": st.just("none"),
    }),
    st.fixed_dictionaries({
        "target": st.just("backend"),
        "attribute": st.sampled_from(["load", "save"]),
        "expression": expressions,
        "where": st.just("none"),
    }),
)
batches = st.lists(st.one_of(request_cases, app_cases, returned_values), min_size=1, max_size=25)


def run_worker(cases: list[dict[str, str]], pure_source: bool) -> list[dict[str, Any]]:
    """The worker's report for ``cases``; fails the test if the interpreter did not finish."""
    command = [sys.executable, str(WORKER)]
    if pure_source:
        command += ["--pure-src", str(SOURCE_TREE)]
    finished = subprocess.run(
        command, input=json.dumps(cases), capture_output=True, text=True, timeout=120,
    )
    lines = finished.stdout.splitlines()
    reports = [json.loads(line) for line in lines[1:]]
    assert finished.returncode == 0, (
        f"the interpreter ended with status {finished.returncode} after {len(reports)} of "
        f"{len(cases)} cases; the next was {cases[len(reports)] if len(reports) < len(cases) else None}\n"
        f"{finished.stderr[-3000:]}"
    )
    assert json.loads(lines[0]) == {"compiled": micropie.COMPILED and not pure_source}
    assert len(reports) == len(cases)
    return reports


def check_report(report: dict[str, Any]) -> None:
    case = report["case"]
    for status, body, complete in report["answers"]:
        assert complete, f"an unfinished response for {case}"
        assert status in (200, 400, 404, 500), f"{status} {body!r} for {case}"
        if status == 500:
            assert body == "500 Internal Server Error"
    statuses = [answer[0] for answer in report["answers"]]
    if 500 in statuses:
        log = "\n".join(report["log"])
        assert case["attribute"] in log, f"a 500 whose log does not name {case['attribute']!r}: {case}\n{log}"


@settings(max_examples=20)
@given(batches)
@example([
    {"target": "request", "attribute": "path_params", "expression": "('alice', 5)", "where": "before"},
    {"target": "request", "attribute": "path_params", "expression": "['alice', 5]", "where": "before"},
    {"target": "request", "attribute": "session", "expression": "[1]", "where": "handler"},
    {"target": "request", "attribute": "body_params", "expression": "{'f': 'x'}", "where": "before"},
    {"target": "app", "attribute": "middlewares", "expression": "(PassThrough(),)", "where": "handler"},
    {"target": "app", "attribute": "session_backend", "expression": "object()", "where": "after"},
])
def test_any_value_written_anywhere_gets_the_same_clean_answer_in_both_modes(cases: list[dict[str, str]]) -> None:
    reports = run_worker(cases, pure_source=False)
    for report in reports:
        check_report(report)
    if micropie.COMPILED:
        pure = run_worker(cases, pure_source=True)
        for compiled_report, pure_report in zip(reports, pure):
            assert compiled_report["answers"] == pure_report["answers"], compiled_report["case"]


# --- what MicroPie apps write, and what they get -----------------------------------------------


class Route(HttpMiddleware):
    """Routes explicitly, as MicroPie's explicit-routing example does, with a preset value."""

    def __init__(self, attribute: str, value: object) -> None:
        super().__init__()
        self.attribute = attribute
        self.value = value

    async def before_request(self, request: Request) -> None:
        setattr(request, self.attribute, self.value)

    async def after_request(self, request: Request, status_code: int, response_body: object,
                            extra_headers: list[tuple[str, str]]) -> None:
        return None


class Users(App):
    async def user(self, name: object, user_id: int) -> dict[str, object]:
        return {"name": name, "id": user_id, "params": list(self.request.path_params)}

    async def loose(self, name: object, user_id: object) -> dict[str, object]:
        return {"name": name, "id": user_id}


def users_with(attribute: str, value: object) -> Users:
    app = Users()
    app.middlewares.append(Route(attribute, value))
    return app


@pytest.mark.parametrize("value", [["alice", 5], ("alice", 5), ("alice", "5")])
async def test_preset_path_params_bind_as_in_micropie(value: object) -> None:
    reply = await call(users_with("path_params", value), "GET", "/user")
    assert (reply.status, reply.json()) == (200, {"name": "alice", "id": 5, "params": ["alice", 5 if value != ("alice", "5") else "5"]})


async def test_a_non_text_segment_binds_as_it_is_where_nothing_is_annotated() -> None:
    reply = await call(users_with("path_params", ["alice", 5.5]), "GET", "/loose")
    assert reply.json() == {"name": "alice", "id": 5.5}


async def test_a_non_text_segment_converts_like_a_json_value() -> None:
    reply = await call(users_with("path_params", ["alice", 5.5]), "GET", "/user")
    assert (reply.status, reply.text) == (400, "400 Bad Request: Parameter 'user_id' must be int")


@pytest.mark.parametrize("attribute,value,message", [
    ("path_params", 5, "request.path_params must be a list (or another sequence) of path segments, not int"),
    ("path_params", {"a": 1}, "request.path_params must be a list (or another sequence) of path segments, not dict"),
    ("query_params", {"q": "x"}, "request.query_params must be a dict of lists of str, not dict"),
    ("body_params", [("a", "b")], "request.body_params must be a dict of lists of str, not list"),
    ("session", [1], "request.session must be a dict, not list"),
    ("files", {"f": "not a file"}, "request.files must be a dict of uploaded files (dicts) by field name, not dict"),
    ("headers", {"x": 1}, "request.headers must be a dict of str to str, not dict"),
    ("method", None, "request.method must be a str, not NoneType"),
    ("scope", "x", "request.scope must be a dict (an ASGI scope), not str"),
    ("body", "text", "request.body must be bytes, not str"),
    ("_route_handler", 5, "request._route_handler must be a str (a handler's name), not int"),
    ("_subapp", "app", "request._subapp must be an ASGI application, not str"),
])
async def test_a_value_the_framework_cannot_use_is_a_500_naming_the_attribute(
    attribute: str, value: object, message: str, caplog: pytest.LogCaptureFixture,
) -> None:
    app = users_with(attribute, value)
    if attribute == "_subapp":
        app.middlewares.append(Route("_subapp_path", "/"))
    reply = await call(app, "GET", "/user/alice/5")
    assert (reply.status, reply.text) == (500, "500 Internal Server Error")
    assert message in caplog.text


@pytest.mark.parametrize("attribute,value,read_back", [
    ("path_params", "ab", ["a", "b"]),
    ("path_params", None, []),
    ("query_params", {"q": ("x", "y")}, {"q": ["x", "y"]}),
    ("body_params", None, {}),
    ("session", None, {}),
    ("body", bytearray(b"raw"), b"raw"),
    ("body", memoryview(b"raw"), b"raw"),
    ("body_parsed", 1, True),
    ("body_parsed", [], False),
    ("headers", None, {"host": "testserver"}),
])
def test_what_micropie_works_with_is_converted(attribute: str, value: object, read_back: object) -> None:
    request = Request({"type": "http", "method": "GET", "headers": [(b"host", b"testserver")]})
    setattr(request, attribute, value)
    assert getattr(request, attribute) == read_back


def test_values_of_the_documented_type_are_kept_as_they_are() -> None:
    request = Request({"type": "http", "method": "GET"})
    segments, fields, session = ["a"], {"x": ["1"]}, {"user": "ada"}
    request.path_params = segments
    request.query_params = fields
    request.session = session
    segments.append("b")
    assert request.path_params is segments and request.path_params == ["a", "b"]
    assert request.query_params is fields
    assert request.session is session


async def test_a_session_set_by_middleware_is_saved() -> None:
    app = users_with("session", {"user": "ada"})
    first = await call(app, "GET", "/loose/a/b")
    assert cookie_from(first) is not None
    assert await app.session_backend.load(cookie_from(first) or "") == {"user": "ada"}


class Duck:
    """A middleware by shape only: MicroPie would call it; neither build of this one does."""

    async def before_request(self, request: Request) -> None:
        return None

    async def after_request(self, *args: object) -> None:
        return None


@pytest.mark.parametrize("value,message", [
    ((Duck(),), "app.middlewares must hold HttpMiddleware instances, not Duck"),
    (None, "app.middlewares must be a list, not NoneType"),
])
def test_application_attributes_are_checked_when_assigned(value: object, message: str) -> None:
    app = Users()
    with pytest.raises(TypeError, match=message):
        setattr(app, "middlewares", value)
    assert app.middlewares == []


def test_a_tuple_of_middleware_becomes_a_list() -> None:
    app = Users()
    middleware = Route("user", "ada")
    setattr(app, "middlewares", (middleware,))
    assert app.middlewares == [middleware]
    setattr(app, "session_backend", InMemorySessionBackend())
    with pytest.raises(TypeError, match="app.session_backend must be a SessionBackend, not object"):
        setattr(app, "session_backend", object())


async def test_a_duck_typed_middleware_appended_later_is_a_500_naming_the_list(caplog: pytest.LogCaptureFixture) -> None:
    app = Users()
    app.middlewares.append(Duck())  # type: ignore[arg-type]
    reply = await call(app, "GET", "/loose/a/b")
    assert (reply.status, reply.text) == (500, "500 Internal Server Error")
    assert "app.middlewares must hold HttpMiddleware instances, not Duck" in caplog.text


async def test_an_outer_layer_that_leaves_an_unusable_session_in_the_scope_gets_a_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def outer(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await Users()({**scope, "session": [1]}, receive, send)

    reply = await call(outer, "GET", "/loose/a/b")
    assert (reply.status, reply.text) == (500, "500 Internal Server Error")
    assert "request.session must be a dict, not list" in caplog.text


class UntypedBackend(InMemorySessionBackend):
    """A MicroPie-style backend: it returns what it likes for an id it does not know."""

    def __init__(self, missing: object) -> None:
        super().__init__()
        self.missing = missing

    async def load(self, session_id: str) -> Any:
        return self.missing


async def test_a_backend_that_loads_none_gives_an_empty_session() -> None:
    reply = await call(Users(UntypedBackend(None)), "GET", "/loose/a/b",
                       cookies={"session_id": "0b8a2f5e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"})
    assert (reply.status, reply.json()) == (200, {"name": "a", "id": "b"})


async def test_a_backend_that_loads_something_else_is_a_500_naming_it(caplog: pytest.LogCaptureFixture) -> None:
    reply = await call(Users(UntypedBackend([1])), "GET", "/loose/a/b",
                       cookies={"session_id": "0b8a2f5e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"})
    assert (reply.status, reply.text) == (500, "500 Internal Server Error")
    assert "UntypedBackend.load returned a list, not a dict" in caplog.text
