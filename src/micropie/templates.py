"""Optional Jinja2 rendering for ``App._render_template``.

Rules:
- Templates load from one directory, the ``templates_dir`` option (``settings``), by default
  ``templates``. A relative path is looked up from the working directory each time a template
  is loaded, as MicroPie's does (it is Jinja2's ``FileSystemLoader``); an absolute one, such as
  ``Path(__file__).parent / "templates"``, holds wherever the process runs.
- Autoescaping is on for HTML and XML, and templates render asynchronously. The named template
  is loaded in a worker thread; templates it extends or includes are loaded by Jinja2 while
  rendering, on the event loop (each file once: Jinja2 caches what it loaded).
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


DEFAULT_TEMPLATES_DIR: Final = "templates"
"""The default ``templates_dir``: ``templates``, from the working directory."""


class TemplatesUnavailable(Exception):
    """Jinja2 is not installed."""


class TemplateRenderer:
    """Renders the templates of one directory; made again when the directory changes."""

    def __init__(self, directory: str) -> None:
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
