"""The tests' layout, and shared fixtures.

- ``unit/``: one file per module of ``src/micropie``, named after it, each checking the rules
  of that module's opening comment (``test_binding_lists.py``: binding's list parameters);
- ``conformance/``: the framework against what it promises as a whole: MicroPie's behaviour
  and its own suite, hostile input, fuzzing, what untyped apps write;
- ``live/``: real servers (uvicorn, gunicorn, hypercorn, granian), real clients, a real browser;
- ``docs/``: the README and every page of the documentation, their code run and claims checked;
- ``builds/``: the builds themselves: the mode a run is in, every supported Python, build.py,
  the hand-kept mirrors, and users' type checks;
- ``support/``: what the tests share (on ``sys.path`` from here): ``harness`` drives an app
  through ASGI, ``live`` starts servers, ``project`` knows the repository's paths,
  ``markdown_blocks`` reads the pages, ``redis_server`` runs the tests' own Redis,
  ``fuzz_strategies`` builds hostile requests, and ``apps/`` holds apps the servers load.

Fixtures: Hypothesis profiles for the property-based tests, and the tests' own Redis server,
started once and only if a test asks.

``ci`` is the default: derandomised, so every run tries the same examples, bounded so that the
fuzz file stays fast, and without an example database.
``long`` tries many more, random, examples; select it with ``HYPOTHESIS_PROFILE=long``.
A failure found there prints a ``@reproduce_failure`` blob, since there is no database to
replay it from.
"""

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

# The support modules (harness, live, project…) import as top-level modules from every test
# folder; this conftest loads before any test module does.
sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402
from redis_server import RedisServer  # noqa: E402

# Without a database Hypothesis still keeps caches (of Unicode tables, of constants in the
# code) in its storage directory, by default .hypothesis in the working directory; keep them
# out of the tree.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "micropie-hypothesis"))

settings.register_profile("ci", derandomize=True, max_examples=300, deadline=None, database=None)
settings.register_profile("long", max_examples=5000, deadline=None, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()
