"""Servers on 127.0.0.1 that the scripts start as processes: a free port, waiting for one to
listen, stopping one.

Rules:
- A server is stopped as Ctrl-C would stop it, so that it runs its shutdown (the e2e app writes
  its garbage-collection figures then); only one that has not stopped after 20 s is killed.
"""

import signal
import socket
import subprocess
import time


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_listening(port: int, process: "subprocess.Popen[bytes]") -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("uvicorn exited before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("uvicorn did not start listening")


def stop_server(process: "subprocess.Popen[bytes]") -> None:
    """Stop a server as Ctrl-C would (so it runs its shutdown), killing it after 20 s."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
