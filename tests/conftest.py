"""Shared fixtures: Hypothesis profiles for the property-based tests (tests/test_fuzz.py), and
the tests' own Redis server (tests/redis_server.py), started once and only if a test asks.

``ci`` is the default: derandomised, so every run tries the same examples, bounded so that the
fuzz file stays fast, and without an example database.
``long`` tries many more, random, examples; select it with ``HYPOTHESIS_PROFILE=long``.
A failure found there prints a ``@reproduce_failure`` blob, since there is no database to
replay it from.
"""

import os
import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import settings
from redis_server import RedisServer

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
