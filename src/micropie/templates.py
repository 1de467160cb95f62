"""Optional Jinja2 rendering for ``App._render_template``.

Rules:
- Templates load from ``./templates`` (relative to the working directory at first use) with
  autoescaping on for HTML and XML, and render asynchronously. The named template is loaded in
  a worker thread; templates it extends or includes are loaded by Jinja2 while rendering, on
  the event loop (each file once: Jinja2 caches what it loaded).
- Jinja2 is optional: without it, rendering logs how to install it and raises, so the request
  fails with a 500 instead of sending an error page as a success.
"""

import asyncio
import logging
from collections.abc import Mapping
from typing import Final, Protocol

logger: Final = logging.getLogger("micropie")


class _Template(Protocol):
    async def render_async(self, **context: object) -> str: ...


class _Environment(Protocol):
    def get_template(self, name: str) -> _Template: ...


class TemplatesUnavailable(Exception):
    """Jinja2 is not installed."""


class TemplateRenderer:
    def __init__(self, directory: str = "templates") -> None:
        self.directory = directory
        self._environment: _Environment | None = None

    def _load_environment(self) -> _Environment:
        environment = self._environment
        if environment is None:
            try:
                import jinja2
            except ImportError:
                logger.error(
                    "Rendering templates needs Jinja2: pip install jinja2"
                )
                raise TemplatesUnavailable("Jinja2 is not installed") from None
            environment = jinja2.Environment(
                loader=jinja2.FileSystemLoader(self.directory),
                autoescape=jinja2.select_autoescape(["html", "htm", "xml"]),
                enable_async=True,
            )
            self._environment = environment
        return environment

    async def render(self, name: str, context: Mapping[str, object]) -> str:
        environment = self._load_environment()
        template = await asyncio.to_thread(environment.get_template, name)
        return await template.render_async(**context)
