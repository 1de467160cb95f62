"""End to end: each framework under the same uvicorn (httptools), loaded by wrk on loopback.

    python benchmarks/e2e.py                     # 10 s per framework and path, 64 connections
    python benchmarks/e2e.py --seconds 5 --only "micropie compiled,Starlette"

Needs `wrk` (Debian: apt-get install wrk). For each row, uvicorn runs one worker process on
127.0.0.1 with `--http httptools`, access logging off; wrk (one thread, 64 connections) first
warms it for two seconds, then measures GET / (text) and GET /json for a bounded time. The
report gives requests per second and the 99th percentile latency, and ratios against our
compiled row. Both processes share the machine's cores, as any loopback benchmark does.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

from envs import BENCH_DIR, prepare
from rows import row_named

DEFAULT_ROWS = ("micropie compiled", "MicroPie 0.32", "Starlette", "BlackSheep", "Falcon")
PATHS = (("GET text", "/"), ("GET JSON", "/json"))


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


def found(pattern: str, text: str) -> str:
    match = re.search(pattern, text, re.M)
    if match is None:
        raise RuntimeError(f"no {pattern!r} in wrk's output:\n{text}")
    return match.group(1)


def to_ms(value: str) -> float:
    unit = found(r"(us|ms|s)$", value)
    return float(value[: -len(unit)]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def load(url: str, seconds: int) -> tuple[float, float]:
    """Requests per second and p99 latency (ms) of one wrk run against ``url``."""
    output = subprocess.run(
        ["wrk", "-t1", "-c64", f"-d{seconds}s", "--latency", url],
        capture_output=True, text=True, check=True,
    ).stdout
    rate = float(found(r"Requests/sec:\s+([\d.]+)", output))
    p99 = found(r"^\s+99%\s+(\S+)", output)
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"wrk saw errors against {url}:\n{output}")
    return rate, to_ms(p99)


def measure(row_name: str, seconds: int) -> dict[str, tuple[float, float]]:
    row = row_named(row_name)
    env = prepare(row.env)
    if env.python is None:
        raise RuntimeError(env.problem)
    port = free_port()
    environment = {**os.environ, "BENCH_APP_MODULE": row.app_module}
    environment.pop("PYTHONPATH", None)
    if row.src_on_path:
        environment["PYTHONPATH"] = str(BENCH_DIR.parent / "src")
    server = subprocess.Popen(
        [env.python, "-m", "uvicorn", "e2e_app:app", "--host", "127.0.0.1", "--port", str(port),
         "--http", "httptools", "--no-access-log", "--log-level", "warning"],
        cwd=BENCH_DIR, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_listening(port, server)
        base = f"http://127.0.0.1:{port}"
        load(base + "/", 2)
        return {title: load(base + path, seconds) for title, path in PATHS}
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--only", default=",".join(DEFAULT_ROWS))
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    results: dict[str, dict[str, tuple[float, float]]] = {}
    for name in options.only.split(","):
        print(f"serving {name}", file=sys.stderr, flush=True)
        try:
            results[name] = measure(name, options.seconds)
        except Exception as error:
            print(f"{name}: {error}", file=sys.stderr)
    ours = results.get("micropie compiled")
    titles = [title for title, _ in PATHS]
    header = " | ".join(f"{t} req/s | {t} p99 | ours ÷ row" for t in titles)
    print(f"| row | {header} |")
    print("| --- |" + " ---: | ---: | ---: |" * len(titles))
    for name, figures in results.items():
        cells = []
        for title in titles:
            rate, p99 = figures[title]
            ratio = f"{ours[title][0] / rate:.2f}×" if ours else "–"
            cells.append(f"{rate:,.0f} | {p99:.2f} ms | {ratio}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
