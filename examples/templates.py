"""Rendering Jinja2 templates.

Run from the repository root with ``uvicorn examples.templates:app`` (or
``uvicorn templates:app --app-dir examples``); then open http://127.0.0.1:8000/?name=Ada and
http://127.0.0.1:8000/?name=<b>Ada</b> (the markup shows as text: HTML templates are
autoescaped). ``/fruits/apple/pear`` renders a list from the path.

``_render_template`` takes the template name as its only positional argument, so every keyword,
``name`` included, is free for the template's context.

The templates are in ``examples/templates``. The ``templates_dir`` option names that directory
from this file, so the server finds them wherever it is started; its default, ``templates``,
would be looked up from the working directory.
"""

from pathlib import Path

from micropie import App


class Pages(App):
    async def index(self, name: str = "World") -> str:
        return await self._render_template("page.html", name=name, title="Hello")

    async def fruits(self, *fruits: str) -> str:
        return await self._render_template("fruits.html", title="Fruits", fruits=fruits)


app = Pages(templates_dir=Path(__file__).parent / "templates")
