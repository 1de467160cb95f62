"""Real servers for tests: uvicorn (or gunicorn with uvicorn workers) on 127.0.0.1, in its own
process, on a free port.

``serving("module:app")`` starts the server with the same interpreter as the tests (so it runs
the same micropie mode), waits until it accepts connections, and stops it afterwards. The server
process's memory can be read from /proc while it runs.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


@dataclass
class Server:
    url: str
    port: int
    process: "subprocess.Popen[bytes]"

    def memory_kib(self, field: str) -> int:
        """A memory figure of the server process from /proc (e.g. VmRSS, VmHWM), in KiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise KeyError(field)

    def output(self) -> str:
        """Everything the server printed; only once it has exited."""
        assert self.process.stdout is not None
        return self.process.stdout.read().decode("utf-8", "replace")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_command(server: str, app: str, app_dir: Path, port: int, workers: int) -> list[str]:
    if server == "uvicorn":
        return [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
                "--app-dir", str(app_dir), "--log-level", "warning", "--workers", str(workers)]
    if server == "gunicorn":
        return [sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}",
                "--chdir", str(app_dir), "--workers", str(workers),
                "--worker-class", "uvicorn_worker.UvicornWorker", "--log-level", "warning"]
    raise ValueError(f"unknown server {server!r}")


@contextlib.contextmanager
def serving(app: str, *, app_dir: Path = TESTS / "apps", cwd: Path | None = None,
            env: Mapping[str, str] | None = None, timeout: float = 20.0,
            server: str = "uvicorn", workers: int = 1) -> Iterator[Server]:
    """Serve ``app`` ("module:attribute", found in ``app_dir``) with ``server`` (uvicorn, or
    gunicorn managing uvicorn workers) and ``workers`` processes, run from ``cwd`` (default:
    the repository root) with ``env`` added to the environment."""
    port = free_port()
    command = server_command(server, app, app_dir, port, workers)
    # PYTHONSAFEPATH keeps the working directory off sys.path: micropie must come from the
    # environment under test, never from a stray directory.
    environment = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1", "PYTHONSAFEPATH": "1"}
    process = subprocess.Popen(command, cwd=cwd or ROOT, env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    running = Server(f"http://127.0.0.1:{port}", port, process)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[2]} exited early:\n{running.output()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{command[2]} did not start within {timeout} s") from None
                time.sleep(0.05)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
