"""Real servers for tests: uvicorn, gunicorn with uvicorn workers, hypercorn or granian on
127.0.0.1, in its own process, on a free port.

``serving("module:app")`` starts the server with the same interpreter as the tests (so it runs
the same micropie mode), waits until it accepts connections, and stops it afterwards the way a
process manager does: SIGTERM, which each of these servers treats as a graceful stop (lifespan
shutdown included), then SIGKILL to the whole process group if it has not exited within
``stop_timeout`` seconds. The server process's memory can be read from /proc while it runs,
and what it printed once it has stopped.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from project import APPS, ROOT


@dataclass
class Server:
    url: str
    port: int
    process: "subprocess.Popen[bytes]"
    killed: bool = False
    """Whether the server ignored the graceful stop and had to be killed."""
    _output: str | None = field(default=None, repr=False)

    def memory_kib(self, field: str) -> int:
        """A memory figure of the server process from /proc (e.g. VmRSS, VmHWM), in KiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise KeyError(field)

    def output(self) -> str:
        """Everything the server printed; only once it has exited."""
        if self._output is None:
            assert self.process.stdout is not None
            self._output = self.process.stdout.read().decode("utf-8", "replace")
        return self._output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_command(server: str, app: str, app_dir: Path, port: int, workers: int) -> list[str]:
    """The command line that makes ``server`` serve ``app`` ("module:attribute" in ``app_dir``)
    on 127.0.0.1:``port`` with ``workers`` processes, logging warnings and errors only."""
    python = [sys.executable, "-m", server]
    if server == "uvicorn":
        return [*python, app, "--host", "127.0.0.1", "--port", str(port),
                "--app-dir", str(app_dir), "--log-level", "warning", "--workers", str(workers)]
    if server == "gunicorn":
        return [*python, app, "--bind", f"127.0.0.1:{port}",
                "--chdir", str(app_dir), "--workers", str(workers),
                "--worker-class", "uvicorn_worker.UvicornWorker", "--log-level", "warning"]
    # hypercorn and granian have no --app-dir: given a path, each puts its directory on
    # sys.path and imports the module from there.
    target = str(app_dir / app)
    if server == "hypercorn":
        return [*python, target, "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                "--log-level", "warning"]
    if server == "granian":
        return [*python, target, "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers), "--log-level", "warning"]
    raise ValueError(f"unknown server {server!r}")


@contextlib.contextmanager
def serving(app: str, *, app_dir: Path = APPS, cwd: Path | None = None,
            env: Mapping[str, str] | None = None, timeout: float = 20.0,
            server: str = "uvicorn", workers: int = 1, stop_timeout: float = 10.0) -> Iterator[Server]:
    """Serve ``app`` ("module:attribute", found in ``app_dir``) with ``server`` (uvicorn,
    gunicorn managing uvicorn workers, hypercorn or granian) and ``workers`` processes, run from
    ``cwd`` (default: the repository root) with ``env`` added to the environment."""
    port = free_port()
    command = server_command(server, app, app_dir, port, workers)
    # PYTHONSAFEPATH keeps the working directory off sys.path: micropie must come from the
    # environment under test, never from a stray directory.
    environment = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1", "PYTHONSAFEPATH": "1"}
    # A session of its own, so that the kill that ends a stuck server reaches its workers too.
    process = subprocess.Popen(command, cwd=cwd or ROOT, env=environment, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    running = Server(f"http://127.0.0.1:{port}", port, process)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{server} exited early:\n{running.output()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{server} did not start within {timeout} s") from None
                time.sleep(0.05)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(stop_timeout)
            except subprocess.TimeoutExpired:
                running.killed = True
        # Whatever is left of the group (everything, if the server was stuck; a worker that
        # outlived its manager otherwise) would hold the output pipe open.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        running.output()
        if process.stdout is not None:
            process.stdout.close()
