"""The demo app: ``scripts/demo`` serves it on http://127.0.0.1:8000.

A short tour: an HTML index, a greeting bound from the path and a typed query parameter, a JSON
endpoint, a form post, and a visit counter kept in the session.
"""

from micropie import App

PAGE = """<!doctype html>
<title>micropie demo</title>
<h1>micropie is running</h1>
<ul>
  <li><a href="/greet/Ada?times=3">/greet/Ada?times=3</a>: path and typed query binding</li>
  <li><a href="/api/status">/api/status</a>: a dict becomes JSON</li>
  <li><a href="/visits">/visits</a>: a counter kept in your session</li>
</ul>
<form method="post" action="/echo">
  <input name="message" placeholder="say something"> <button>POST it</button>
</form>
"""


class Demo(App):
    async def index(self) -> str:
        return PAGE

    async def greet(self, name: str, times: int = 1) -> str:
        return " ".join([f"Hello, {name}!"] * max(1, min(times, 10)))

    async def api(self, resource: str = "status") -> dict[str, object]:
        return {"resource": resource, "ok": True, "method": self.request.method}

    async def echo(self, message: str = "") -> dict[str, str]:
        return {"you said": message}

    async def visits(self) -> str:
        session = self.request.session
        session["visits"] = int(session.get("visits", 0)) + 1
        return f"You have visited this page {session['visits']} time(s)."


# The demo runs over plain HTTP on localhost, so the session cookie cannot be Secure.
app = Demo(session_cookie_secure=False)
