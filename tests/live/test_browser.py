"""The examples in a real browser: headless Chromium, driven by Playwright, against the example
served by uvicorn on 127.0.0.1 (``tests/support/live.py``).

Rules:
- The browser is Debian's Chromium at ``/usr/bin/chromium``, never Playwright's own download,
  which cannot be fetched here. ``.ci/run`` installs it (``apt-get install chromium``) as it
  does ``redis-server``; without it these tests fail and say so: they are never skipped.
- Every test starts the browser with a fresh profile, so no cookie outlives its test.
- The browser talks to the loopback server only: no proxy, no network services of its own.

What they show is what the tutorial, the sessions guide and ``examples/login.py`` say: the
session cookie is ``Secure``, and Chromium still keeps it over plain HTTP to ``127.0.0.1`` and
``localhost``, which it counts as secure; to any other address over plain HTTP it drops it.
"""

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright

from live import Server, serving
from project import ROOT

CHROMIUM = Path("/usr/bin/chromium")

# A name that is not loopback to the browser, though the host resolver sends it there: a plain
# HTTP origin the browser does not count as secure (.test is reserved, RFC 6761).
ELSEWHERE = "plain.test"

LAUNCH_ARGUMENTS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--no-proxy-server",
    f"--host-resolver-rules=MAP {ELSEWHERE} 127.0.0.1",
]


@pytest.fixture(scope="module")
def login_server() -> Iterator[Server]:
    with serving("login:app", app_dir=ROOT / "examples") as server:
        yield server


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run .ci/run, which installs Debian's chromium "
                    "(as root: apt-get install chromium)", pytrace=False)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def browser(playwright: Playwright) -> Iterator[BrowserContext]:
    with tempfile.TemporaryDirectory(prefix="micropie-chromium-") as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=LAUNCH_ARGUMENTS, headless=True)
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            context.close()


def log_in(page: Page, base: str) -> None:
    """Go to the private page, be sent to the form, and fill it in as a person would."""
    page.goto(f"{base}/private")
    assert page.url == f"{base}/login"
    page.get_by_label("User").fill("demo")
    page.get_by_label("Password").fill("micropie-demo")
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_login_survives_a_reload_over_plain_http_to(host: str, login_server: Server,
                                                      browser: BrowserContext) -> None:
    base = f"http://{host}:{login_server.port}"
    page = browser.new_page()
    log_in(page, base)
    assert page.url == f"{base}/private"
    assert "Welcome, demo." in page.inner_text("body")

    page.reload()
    assert page.url == f"{base}/private"
    assert "Welcome, demo." in page.inner_text("body")
    page.goto(f"{base}/")
    assert "Logged in as demo." in page.inner_text("body")

    [cookie] = browser.cookies()
    assert (cookie["name"], cookie["domain"]) == ("session_id", host)
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Lax"


def test_over_plain_http_to_another_address_the_secure_cookie_is_dropped(
        login_server: Server, browser: BrowserContext) -> None:
    base = f"http://{ELSEWHERE}:{login_server.port}"
    page = browser.new_page()
    log_in(page, base)
    # The server logged the user in, but the browser did not keep the cookie that says so.
    assert page.url == f"{base}/login"
    assert browser.cookies() == []
