"""The benchmark app in Falcon's ASGI flavour, written as its documentation writes one.

JSON goes through orjson via a `JSONHandler` on both request and response media handlers, the
switch Falcon documents, so that JSON cost matches the MicroPie rows. The form is read through
Falcon's media API (`get_media` with the built-in URL-encoded handler). Falcon has no session
mechanism without extra packages, so the session scenario is n/a.
"""

from importlib import metadata

import falcon
import falcon.asgi
import falcon.media
import orjson

from benchlib.asgi import ASGIApp
from benchlib.scenarios import GREETING, HELLO, SCENARIOS
from benchlib.suite import Suite


class Index:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = HELLO


class Greeting:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = GREETING


class Greet:
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, name: str
    ) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = f"Hello {name} {req.get_param('x')}"


class Login:
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        form = await req.get_media()
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = f"Hi {form['username']}"


class Echo:
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = await req.get_media()


def build() -> Suite:
    app = falcon.asgi.App()
    json_handler = falcon.media.JSONHandler(dumps=orjson.dumps, loads=orjson.loads)
    app.req_options.media_handlers[falcon.MEDIA_JSON] = json_handler
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = json_handler
    app.add_route("/", Index())
    app.add_route("/json", Greeting())
    app.add_route("/greet/{name}", Greet())
    app.add_route("/login", Login())
    app.add_route("/echo", Echo())

    apps: dict[str, ASGIApp] = {
        scenario.key: app for scenario in SCENARIOS if scenario.key != "session"
    }
    return Suite(
        apps=apps,
        versions={"falcon": metadata.version("falcon"), "orjson": metadata.version("orjson")},
        notes={"session": "no session mechanism without extra packages"},
    )
