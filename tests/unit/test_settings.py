"""settings.py on its own and through an app: every option has its default, is checked when
the app is made and when assigned (a bad value is a ValueError naming it), reads back as given,
and an assignment takes effect from the next request while a request in flight keeps the
settings it started with. Options as attributes are MicroPie's API, kept here.
"""

import asyncio
from typing import Any

import pytest
from harness import RecordingBackend, WebSocketSession, call, cookie_from, get, post_form

import micropie
import micropie.sessions
from micropie import App
from micropie.settings import OPTIONS


DEFAULTS: dict[str, object] = {
    "body_timeout": 5.0,
    "max_body_size": 16 * 1024 * 1024,
    "max_form_field_size": 1024 * 1024,
    "max_form_fields": 1000,
    "session_timeout": 8 * 3600,
    "session_cookie_secure": True,
    "session_id_factory": micropie.sessions.new_session_id,
    "session_id_validator": micropie.sessions.validate_session_id,
    "allowed_origins": None,
    "templates_dir": "templates",
    "problem_details": False,
}


def test_every_option_reads_back_its_default() -> None:
    app = App()
    assert set(DEFAULTS) == set(OPTIONS)
    for name, value in DEFAULTS.items():
        assert getattr(app, name) == value, name


def test_options_read_back_as_given_and_checked() -> None:
    app = App(max_body_size=10, body_timeout=2, allowed_origins=["https://a.example"], session_id_validator=None)
    assert (app.max_body_size, app.body_timeout, app.session_id_validator) == (10, 2.0, None)
    assert app.allowed_origins == frozenset({"https://a.example"})


BAD_VALUES: list[tuple[str, object]] = [
    ("body_timeout", 0), ("body_timeout", "5"), ("max_body_size", -1), ("max_body_size", True),
    ("max_form_field_size", 1.5), ("max_form_fields", 0), ("session_timeout", None),
    ("session_cookie_secure", 1), ("session_id_factory", "uuid"), ("session_id_validator", 3),
    ("allowed_origins", "https://a.example"), ("allowed_origins", [1]),
    ("templates_dir", ""), ("templates_dir", b"templates"), ("templates_dir", None),
    ("problem_details", "yes"), ("problem_details", 1),
]


@pytest.mark.parametrize("name,value", BAD_VALUES)
def test_a_bad_value_is_refused_at_construction_and_on_assignment(name: str, value: object) -> None:
    with pytest.raises(ValueError, match=name):
        App(**{name: value})  # type: ignore[arg-type]
    app = App()
    before = getattr(app, name)
    with pytest.raises(ValueError, match=name):
        setattr(app, name, value)
    assert getattr(app, name) == before, "a refused value must leave the option as it was"


def test_an_unknown_option_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="max_body_sise"):
        App(max_body_sise=4)  # type: ignore[call-arg]


async def test_an_assigned_body_limit_takes_effect_from_the_next_request() -> None:
    class Echo(App):
        async def index(self) -> dict[str, list[str]]:
            return self.request.body_params

    app = Echo()
    assert (await post_form(app, "/", "a=12345678")).status == 200
    app.max_body_size = 4
    assert app.max_body_size == 4
    assert (await post_form(app, "/", "a=12345678")).status == 413
    app.max_body_size = None
    app.max_form_field_size = 3
    assert (await post_form(app, "/", "a=1234")).status == 413
    app.max_form_field_size = None
    app.max_form_fields = 1
    assert (await post_form(app, "/", "a=1&b=2")).status == 413


async def test_an_assigned_body_timeout_takes_effect() -> None:
    class Echo(App):
        async def index(self) -> dict[str, list[str]]:
            return self.request.body_params

    app = Echo()
    app.body_timeout = 0.05
    reply = await call(app, "POST", "/", chunks=[b"a=1", b"&b=2"], pause=0.2,
                       content_type="application/x-www-form-urlencoded")
    assert reply.status == 408


class Sessions(App):
    async def put(self, value: str) -> str:
        self.request.session["value"] = value
        return "stored"


async def test_assigned_session_options_take_effect() -> None:
    backend = RecordingBackend()
    app = Sessions(backend)
    app.session_timeout = 60
    app.session_cookie_secure = False
    app.session_id_factory = lambda: "0b8a2f5e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
    reply = await get(app, "/put/x")
    assert cookie_from(reply) == "0b8a2f5e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
    assert "secure" not in (reply.header("set-cookie") or "").lower()
    assert backend.saves == [("0b8a2f5e-1c3d-4e5f-8a9b-0c1d2e3f4a5b", {"value": "x"}, 60)]
    app.session_id_validator = lambda value: None  # every cookie refused from now on
    assert (await get(app, "/put/y", cookies={"session_id": "0b8a2f5e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"})).status == 500
    assert backend.loads == []


async def test_assigned_allowed_origins_take_effect() -> None:
    class Echo(App):
        async def ws_index(self, socket: Any) -> None:
            await socket.accept()
            await socket.close()

    app = Echo()
    app.allowed_origins = ["https://good.example"]
    session = WebSocketSession(app, "/", headers=[(b"origin", b"https://evil.example")])
    session.start()
    assert (await session.next_message())["code"] == 1008
    await session.finish()


async def test_a_request_in_flight_keeps_the_limits_it_started_with() -> None:
    class Slow(App):
        async def index(self) -> dict[str, list[str]]:
            return self.request.body_params

    app = Slow()
    release = asyncio.Event()
    chunks = [b"a=1", b"23456789"]

    async def receive() -> dict[str, Any]:
        if len(chunks) == 1:
            await release.wait()
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"",
             "headers": [(b"content-type", b"application/x-www-form-urlencoded")]}
    task = asyncio.ensure_future(app(scope, receive, send))
    await asyncio.sleep(0.01)
    app.max_body_size = 4
    release.set()
    await task
    assert sent[0]["status"] == 200


