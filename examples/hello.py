"""Hello world: ``uvicorn examples.hello:app``."""

from micropie import App


class Hello(App):
    async def index(self) -> str:
        return "Hello, World!"

    async def greet(self, name: str = "World") -> str:
        return f"Hello, {name}!"


app = Hello()
