"""Logging in with a session cookie.

Run from the repository root with ``uvicorn examples.login:app`` (or
``uvicorn login:app --app-dir examples``) and open http://127.0.0.1:8000/private in a
Chromium-based browser (see the note on the cookie at the end). Log in as ``demo`` with the
password ``micropie-demo``.

- ``/private`` is the protected page: without a logged-in session it remembers where you were
  going and redirects to ``/login``.
- ``/login`` shows the form (GET) and checks it (POST). A successful login stores the user in
  the session and asks for a new session id, so an id handed out before login (possibly
  planted by an attacker: session fixation) is worthless afterwards.
- ``/logout`` (POST only, so a link or an image on another site cannot log you out) empties
  the session, which deletes it on the server and expires the cookie.
"""

import asyncio
import hashlib
import hmac
import html
import secrets

from micropie import App, WithHeaders, WithStatus

DEMO_USER = "demo"
DEMO_PASSWORD = "micropie-demo"

Reply = str | WithStatus[str] | WithHeaders[str]

# Store only a salted, slow hash of a password, never the password itself.
_SALT = secrets.token_bytes(16)
_ITERATIONS = 100_000


def _password_hash(password: str) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), _SALT, _ITERATIONS)


_DEMO_HASH = _password_hash(DEMO_PASSWORD)


async def credentials_valid(username: str, password: str) -> bool:
    # Hash even for an unknown user, so response times do not reveal which users exist; hash
    # in a worker thread, because it takes long enough to stall every other request.
    candidate = await asyncio.to_thread(_password_hash, password)
    user_ok = hmac.compare_digest(username.encode("utf-8"), DEMO_USER.encode("utf-8"))
    return hmac.compare_digest(candidate, _DEMO_HASH) and user_ok


def login_form(message: str = "") -> str:
    notice = f"<p role=alert>{html.escape(message)}</p>" if message else ""
    return f"""<!doctype html>
<title>Log in</title>
<h1>Log in</h1>
{notice}
<form method="post" action="/login">
  <label>User <input name="username" autocomplete="username"></label>
  <label>Password <input name="password" type="password" autocomplete="current-password"></label>
  <button>Log in</button>
</form>
<p>Try <code>{DEMO_USER}</code> / <code>{DEMO_PASSWORD}</code>.</p>
"""


class LoginApp(App):
    async def index(self) -> str:
        user = self.request.session.get("user")
        if user is None:
            return '<p>You are not logged in. <a href="/login">Log in</a></p>'
        return f'<p>Logged in as {html.escape(user)}. <a href="/private">Private page</a></p>'

    async def login(self, username: str = "", password: str = "") -> Reply:
        if self.request.method != "POST":
            return login_form()
        if not await credentials_valid(username, password):
            return 401, login_form("Wrong user name or password.")
        session = self.request.session
        session["user"] = username
        # The session may already exist (it holds "next"); give it a new id now that it
        # carries a login.
        self.request.regenerate_session()
        destination = str(session.pop("next", "/private"))
        return self._redirect(destination)

    async def private(self) -> Reply:
        session = self.request.session
        user = session.get("user")
        if user is None:
            session["next"] = "/private"
            return self._redirect("/login")
        return f"<h1>Private page</h1><p>Welcome, {html.escape(user)}.</p>"

    async def logout(self) -> Reply:
        if self.request.method != "POST":
            return 405, "Log out with POST.", [("Allow", "POST")]
        self.request.session.clear()
        return self._redirect("/")


# The session cookie keeps its default, Secure, as it should in production. Browsers return
# a Secure cookie over HTTPS, and Chromium-based ones also over plain HTTP to 127.0.0.1 and
# localhost, which they count as secure (tests/live/test_browser.py logs in there with Chromium).
# Served over plain HTTP to another address, the cookie would be dropped and every login
# forgotten: pass session_cookie_secure=False while developing that way.
app = LoginApp()
