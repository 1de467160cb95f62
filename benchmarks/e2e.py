"""End to end: every framework under the same uvicorn (httptools), loaded by wrk on loopback.

    python benchmarks/e2e.py                          # 3 rounds of 5 s per framework and path
    python benchmarks/e2e.py --rounds 5 --seconds 8 --only "micropie compiled,BlackSheep"

Needs `wrk` (Debian: apt-get install wrk). Every row's uvicorn (one worker process on 127.0.0.1,
`--http httptools`, access logging off, from the row's own environment) is started at once and
warmed for two seconds; then the rows are loaded in turn, round after round, the order rotating
each round, so that the machine's drift over minutes falls on every row alike. wrk runs one
thread with 64 connections. The report gives each row's median requests per second and median
99th-percentile latency over the rounds, ratios to the best peer, and the garbage collections
each server ran per 100,000 requests (counted in the server by apps/e2e_app.py). Both processes
share the machine's cores, as any loopback benchmark does.
"""

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchlib.envs import prepare, row_environment
from benchlib.loopback import free_port, stop_server, wait_until_listening
from benchlib.paths import BENCH_DIR
from benchlib.rows import PEERS, row_named

DEFAULT_ROWS = ("micropie compiled", "MicroPie 0.32", "Starlette", "BlackSheep", "Falcon")
PATHS = (("GET text", "/"), ("GET JSON", "/json"))


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


class Running:
    """One row's server, started and warmed."""

    def __init__(self, name: str) -> None:
        row = row_named(name)
        env = prepare(row.env)
        if env.python is None:
            raise RuntimeError(env.problem)
        self.name = name
        self.port = free_port()
        self.report = Path(tempfile.mkstemp(prefix="e2e-gc-", suffix=".json")[1])
        environment = {**row_environment(row), "BENCH_APP_MODULE": row.app_module, "BENCH_GC_REPORT": str(self.report)}
        self.process = subprocess.Popen(
            [env.python, "-m", "uvicorn", "apps.e2e_app:app", "--host", "127.0.0.1", "--port", str(self.port),
             "--http", "httptools", "--no-access-log", "--log-level", "warning", "--lifespan", "on"],
            cwd=BENCH_DIR, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until_listening(self.port, self.process)
        self.base = f"http://127.0.0.1:{self.port}"

    def stop(self) -> dict[str, Any]:
        """Stop the server; what its garbage collector did (empty if it wrote nothing)."""
        stop_server(self.process)
        try:
            figures: dict[str, Any] = json.loads(self.report.read_text() or "{}")
        finally:
            self.report.unlink(missing_ok=True)
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default=",".join(DEFAULT_ROWS))
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    servers: list[Running] = []
    try:
        for name in options.only.split(","):
            print(f"starting {name}", file=sys.stderr, flush=True)
            servers.append(Running(name))
        for server in servers:
            load(server.base + "/", 2)
        samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for round_index in range(options.rounds):
            order = servers[round_index % len(servers):] + servers[:round_index % len(servers)]
            for server in order:
                for title, path in PATHS:
                    rate, p99 = load(server.base + path, options.seconds)
                    samples.setdefault((server.name, title), []).append((rate, p99))
                    print(f"round {round_index + 1}: {server.name:18} {title:9} {rate:10,.0f}/s  p99 {p99:.2f} ms",
                          file=sys.stderr, flush=True)
    finally:
        collected = {server.name: server.stop() for server in servers}
    render(samples, collected, [server.name for server in servers], options)


def render(samples: dict[tuple[str, str], list[tuple[float, float]]], collected: dict[str, dict[str, Any]],
           names: list[str], options: argparse.Namespace) -> None:
    medians = {key: (statistics.median(r for r, _ in values), statistics.median(p for _, p in values))
               for key, values in samples.items()}
    titles = [title for title, _ in PATHS]
    print(f"{options.rounds} rounds of {options.seconds} s per row and path, wrk -t1 -c64; medians.\n")
    print("| row | " + " | ".join(f"{t} req/s | {t} p99" for t in titles) + " | gen0 / gen1 / gen2 per 100k requests |")
    print("| --- |" + " ---: | ---: |" * len(titles) + " ---: |")
    for name in names:
        cells = [f"{medians[name, t][0]:,.0f} | {medians[name, t][1]:.2f} ms" for t in titles]
        gc_figures = collected.get(name, {})
        requests = gc_figures.get("requests", 0)
        if requests:
            per = [count * 100_000 / requests for count in gc_figures["collections"]]
            longest = max(gc_figures["longest_ms"])
            gc_cell = f"{per[0]:,.0f} / {per[1]:,.0f} / {per[2]:,.0f} (longest pause {longest:.1f} ms)"
        else:
            gc_cell = "–"
        print(f"| {name} | " + " | ".join(cells) + f" | {gc_cell} |")
    ours = "micropie compiled"
    peers = [name for name in names if name in PEERS]
    if ours not in names or not peers:
        return
    print("\nmicropie compiled against the best peer (throughput: ours ÷ best, higher is better; p99: "
          "ours ÷ best, lower is better):\n")
    for title in titles:
        best_rate = max(peers, key=lambda name: medians[name, title][0])
        best_p99 = min(peers, key=lambda name: medians[name, title][1])
        print(f"- {title}: throughput {medians[ours, title][0] / medians[best_rate, title][0]:.2f}× ({best_rate}), "
              f"p99 {medians[ours, title][1] / medians[best_p99, title][1]:.2f}× ({best_p99})")


if __name__ == "__main__":
    main()
