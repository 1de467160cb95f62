"""Issue #10: MicroPie 0.32's own ``tests.py`` imports and runs against this package.

``scripts/micropie-suite`` downloads MicroPie 0.32's sdist from PyPI and runs its test file
against the micropie this interpreter imports, so in CI it measures each mode in turn. How many
of those tests pass is a measurement the script prints, not something asserted here: the test
asserts that their file imports and its tests run (exit status 0), against this run's package.
Without access to PyPI the script cannot get the sdist (exit status 3): the test then fails and
says so, as CI needs PyPI anyway.

The normalisation the script applies is checked here too, on messages written out by hand.
"""

import importlib.machinery
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType


import micropie
from project import ROOT

SCRIPT = ROOT / "scripts" / "micropie-suite"
NO_SDIST = 3


def load_script() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("micropie_suite_script", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_micropie_0_32_tests_import_and_run_against_this_package(tmp_path: Path) -> None:
    # The same interpreter and environment as this test, so the same micropie (checked below).
    result = subprocess.run(
        [sys.executable, "-P", str(SCRIPT)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = result.stdout + result.stderr
    assert result.returncode != NO_SDIST, f"MicroPie 0.32's sdist could not be downloaded from PyPI:\n{output}"
    assert result.returncode == 0, output
    ran = re.search(r"^ran (\d+): (\d+) passed, (\d+) failed, (\d+) errors, (\d+) skipped$", result.stdout, re.M)
    assert ran is not None, output
    assert int(ran.group(1)) > 0, output
    assert sum(int(count) for count in ran.groups()[1:]) == int(ran.group(1)), output
    package = Path(micropie.__file__).resolve().parent
    assert f"from {package}\n" in result.stdout, output


def test_normalisation_changes_only_the_wire_format() -> None:
    script = load_script()
    sent_headers = [
        (b"set-cookie", b"session_id=abc; Path=/; HttpOnly; SameSite=Lax; Secure"),
        (b"x-custom", b"Value"),
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", b"2"),
    ]
    start = {"type": "http.response.start", "status": 200, "headers": sent_headers}
    assert script.normalise_message(start) == {
        "type": "http.response.start",
        "status": 200,
        "headers": [
            (b"Set-Cookie", b"session_id=abc; Path=/; SameSite=Lax; HttpOnly; Secure;"),
            (b"X-Custom", b"Value"),
            (b"Content-Type", b"text/html; charset=utf-8"),
        ],
    }
    assert start["headers"] is sent_headers and len(sent_headers) == 4, "the message sent is left as it was"
    body = {"type": "http.response.body", "body": b"OK"}
    assert script.normalise_message(body) == {"type": "http.response.body", "body": b"OK", "more_body": False}
    streamed = {"type": "http.response.body", "body": b"chunk", "more_body": True}
    assert script.normalise_message(streamed) == streamed
    accept = {"type": "websocket.accept", "subprotocol": None, "headers": [(b"set-cookie", b"session_id=x; Path=/")]}
    assert script.normalise_message(accept)["headers"] == [(b"Set-Cookie", b"session_id=x; Path=/;")]
    expired = b"session_id=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Secure"
    assert script.cookie_value(expired) == b"session_id=; Path=/; SameSite=Lax; HttpOnly; Secure; Max-Age=0;"
    assert script.normalise_message({"type": "websocket.send", "text": "hi"}) == {"type": "websocket.send", "text": "hi"}
