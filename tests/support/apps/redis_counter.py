"""A session counter kept in Redis, served by several worker processes in the tests."""

import os

from micropie import App
from micropie.redis_sessions import RedisSessionBackend


class CounterApp(App):
    async def count(self) -> dict[str, int]:
        session = self.request.session
        count = int(session.get("count", 0)) + 1
        session["count"] = count
        return {"count": count, "pid": os.getpid()}


app = CounterApp(RedisSessionBackend(os.environ["MICROPIE_REDIS_URL"]), session_cookie_secure=False)
