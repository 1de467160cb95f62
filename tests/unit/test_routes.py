"""The first path segment names the handler; what is and is not a route."""

import functools
from typing import Any, ClassVar

from harness import call, get

from micropie import App


class Site(App):
    title = "a data attribute"
    handlers_seen: ClassVar[list[str]] = []

    async def index(self) -> str:
        return "home"

    async def greet(self, name: str) -> str:
        return f"hello {name}"

    def plain(self) -> str:
        return "sync handler"

    async def _secret(self) -> str:
        return "private"

    async def ws_chat(self) -> str:
        return "websocket only"

    @property
    def computed(self) -> str:
        return "a property"

    @staticmethod
    def static() -> str:
        return "static method"

    @classmethod
    def klass(cls) -> str:
        return f"class method of {cls.__name__}"

    class Nested:
        pass


async def test_root_is_index() -> None:
    reply = await get(Site(), "/")
    assert (reply.status, reply.text) == (200, "home")


async def test_first_segment_names_the_method_and_the_rest_are_parameters() -> None:
    reply = await get(Site(), "/greet/Alice")
    assert (reply.status, reply.text) == (200, "hello Alice")


async def test_sync_handlers_are_served() -> None:
    assert (await get(Site(), "/plain")).text == "sync handler"


async def test_static_and_class_methods_are_routes() -> None:
    assert (await get(Site(), "/static")).text == "static method"
    assert (await get(Site(), "/klass")).text == "class method of Site"


async def test_private_and_websocket_names_are_not_reachable_over_http() -> None:
    for path in ("/_secret", "/ws_chat", "/__init__", "/__call__", "/_redirect"):
        reply = await get(Site(), path)
        assert reply.status == 404, path
        assert reply.text == "404 Not Found"


async def test_non_callable_attributes_are_404_not_index() -> None:
    class Catchall(Site):
        async def index(self, *segments: str) -> str:
            return "index got " + "/".join(segments)

    for path in ("/title", "/computed", "/middlewares", "/request", "/session_backend",
                 "/startup_handlers", "/Nested"):
        reply = await get(Catchall(), path)
        assert reply.status == 404, path


async def test_unknown_name_falls_back_to_an_index_that_takes_positional_parameters() -> None:
    class Catchall(App):
        async def index(self, *segments: str) -> str:
            return "index got " + "/".join(segments)

    reply = await get(Catchall(), "/some/deep/path")
    assert (reply.status, reply.text) == (200, "index got some/deep/path")


async def test_index_with_a_positional_parameter_receives_the_unknown_name() -> None:
    class Pages(App):
        async def index(self, page: str = "home") -> str:
            return f"page {page}"

    assert (await get(Pages(), "/about")).text == "page about"
    assert (await get(Pages(), "/")).text == "page home"


async def test_unknown_name_is_404_when_index_takes_no_positional_parameters() -> None:
    assert (await get(Site(), "/nowhere")).status == 404

    class KeywordIndex(App):
        async def index(self, *, flag: str = "") -> str:
            return "index"

    assert (await get(KeywordIndex(), "/nowhere")).status == 404


async def test_no_index_at_all_is_404() -> None:
    class Empty(App):
        pass

    assert (await get(Empty(), "/")).status == 404
    assert (await get(Empty(), "/anything")).status == 404


async def test_every_method_reaches_the_same_handler() -> None:
    class Methods(App):
        async def thing(self) -> str:
            return self.request.method

    for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"):
        reply = await call(Methods(), method, "/thing")
        # HEAD runs the handler too; only its body is left out (the length says it ran).
        expected = "" if method == "HEAD" else method
        assert (reply.status, reply.text, reply.header("content-length")) == (200, expected, str(len(method)))


async def test_handler_attached_to_an_instance_at_run_time_is_served_and_replaceable() -> None:
    app = App()

    async def hello(self: App, name: str) -> str:
        return f"first {name}"

    setattr(app, "hello", hello.__get__(app))
    assert (await get(app, "/hello/ann")).text == "first ann"

    async def hello_again(self: App, first: str, second: str = "default") -> str:
        return f"second {first} {second}"

    setattr(app, "hello", hello_again.__get__(app))
    assert (await get(app, "/hello/a/b")).text == "second a b"
    assert (await get(app, "/hello/a")).text == "second a default"


async def test_plain_callables_attached_to_an_instance_are_routes() -> None:
    app = App()
    setattr(app, "ping", lambda: "pong")
    setattr(app, "partial", functools.partial(lambda prefix, name: f"{prefix} {name}", "hi"))
    assert (await get(app, "/ping")).text == "pong"
    assert (await get(app, "/partial/bo")).text == "hi bo"


async def test_instance_data_attribute_shadowing_nothing_is_404() -> None:
    app = Site()
    setattr(app, "config", {"debug": True})
    assert (await get(app, "/config")).status == 404


async def test_a_method_replaced_on_the_class_is_seen_on_the_next_request() -> None:
    class Swappable(App):
        async def page(self) -> str:
            return "old"

    app = Swappable()
    assert (await get(app, "/page")).text == "old"

    async def page(self: App, extra: str = "none") -> str:
        return f"new {extra}"

    setattr(Swappable, "page", page)
    assert (await get(app, "/page", query="extra=x")).text == "new x"


async def test_a_class_attribute_turned_into_a_method_becomes_a_route() -> None:
    class Changing(App):
        status: Any = "data"

    app = Changing()
    assert (await get(app, "/status")).status == 404

    def status(self: App) -> str:
        return "now a handler"

    setattr(Changing, "status", status)
    assert (await get(app, "/status")).text == "now a handler"


async def test_subclass_handlers_override_and_inherit() -> None:
    class Child(Site):
        async def greet(self, name: str) -> str:
            return f"child greets {name}"

    app = Child()
    assert (await get(app, "/greet/x")).text == "child greets x"
    assert (await get(app, "/plain")).text == "sync handler"


async def test_metaclass_attributes_are_not_routes() -> None:
    assert (await get(Site(), "/mro")).status == 404


async def test_request_property_gives_the_current_request() -> None:
    class Echo(App):
        async def where(self) -> str:
            return f"{self.request.method} {self.request.scope['path']}"

    assert (await call(Echo(), "PUT", "/where")).text == "PUT /where"


async def test_percent_decoded_and_non_ascii_path_segments_bind() -> None:
    reply = await get(Site(), "/greet/J\u00fcrgen \U0001f600")
    assert reply.text == "hello J\u00fcrgen \U0001f600"


async def test_surrogates_in_a_path_do_not_crash() -> None:
    reply = await get(Site(), "/greet/\udcff")
    assert reply.status == 200
