"""A real Redis for tests: its own ``redis-server`` on a free loopback port, never a shared one.

The server keeps nothing on disk (no RDB snapshots, no append-only file) and stops with the
tests. ``.ci/run`` makes sure the binary is installed; without it the fixture fails naming what
to install, rather than skipping anything. Tests look inside with redis-py's synchronous client
(``RedisServer.client()``), the same library the backend uses.
"""

import shutil
import subprocess
import tempfile
import time

import redis

from live import free_port


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1; it can be stopped and started again on its port."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server is not installed; the Redis tests need it "
                "(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)"
            )
        self.binary = binary
        self.port = free_port()
        self.directory = tempfile.TemporaryDirectory(prefix="micropie-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def start(self) -> None:
        command = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", self.directory.name,
            # DEBUG SLEEP makes a slow Redis on demand; the server listens on loopback only.
            "--enable-debug-command", "local",
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        with self.client() as probe:
            while True:
                try:
                    if probe.ping():
                        return
                except redis.ConnectionError:
                    pass
                if self.process.poll() is not None:
                    raise RuntimeError(f"redis-server exited with {self.process.returncode}")
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start within 10 s")
                time.sleep(0.02)

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(10)
        self.process = None

    def close(self) -> None:
        self.stop()
        self.directory.cleanup()

    def data_commands(self) -> dict[str, int]:
        """How many times each command that touches keys has run, from Redis's own statistics
        (connection set-up and the statistics query itself are left out)."""
        with self.client() as probe:
            stats = probe.info("commandstats")
        counts: dict[str, int] = {}
        for name, values in stats.items():
            command = name.removeprefix("cmdstat_")
            if command not in {"info", "client|setinfo", "client", "hello", "ping", "select", "flushall", "config|resetstat"}:
                counts[command] = int(values["calls"])
        return counts

    def reset_statistics(self) -> None:
        with self.client() as probe:
            probe.config_resetstat()
