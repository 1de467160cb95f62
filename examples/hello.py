"""Hello world.

Run from the repository root with ``uvicorn examples.hello:app`` (or
``uvicorn hello:app --app-dir examples``), then open http://127.0.0.1:8000/ and
http://127.0.0.1:8000/greet/Ada.
"""

from micropie import App


class Hello(App):
    async def index(self) -> str:
        return "Hello, World!"

    async def greet(self, name: str = "World") -> str:
        # ``name`` comes from the path (/greet/Ada) or the query string (/greet?name=Ada).
        return f"Hello, {name}!"


app = Hello()
