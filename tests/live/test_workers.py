"""With Redis, a session survives whichever worker process serves each request.

Real servers with two worker processes, a real HTTP client that opens a new connection for
every request (so the kernel spreads them over both workers), and a cookie jar.
"""

import httpx
import pytest
from live import serving
from redis_server import RedisServer

ENOUGH = 30
MOST = 400


@pytest.mark.parametrize("server", ["uvicorn", "gunicorn"])
def test_a_session_counter_counts_without_a_gap_across_two_workers(server: str, redis_server: RedisServer) -> None:
    env = {"MICROPIE_REDIS_URL": redis_server.url}
    with serving("redis_counter:app", server=server, workers=2, env=env) as running:
        counts: list[int] = []
        pids: set[int] = set()
        # No keep-alive: every request is a new connection, accepted by either worker.
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=running.url, limits=limits, timeout=10) as client:
            while len(counts) < MOST and (len(counts) < ENOUGH or len(pids) < 2):
                reply = client.get("/count")
                assert reply.status_code == 200, reply.text
                counts.append(reply.json()["count"])
                pids.add(reply.json()["pid"])
    assert len(pids) == 2, f"only {pids} answered {len(counts)} requests"
    assert counts == list(range(1, len(counts) + 1))
