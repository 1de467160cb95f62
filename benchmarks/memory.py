"""Memory soak: one million in-process requests mixing every scenario, resident memory watched.

    python benchmarks/memory.py                    # 1,000,000 requests, compiled and pure
    python benchmarks/memory.py --requests 200000 --only "micropie compiled"

Each row runs in its own process (see run.py for why). The worker checks every scenario
first, warms up, then cycles through the scenarios; it reads VmRSS from /proc after warm-up
and every tenth of the way, and counts the objects the garbage collector tracks, before and
after. A framework that keeps something per request shows both numbers climbing. The goal for
micropie: growth under 5 MB after warm-up, and no growth in tracked objects.
"""

import argparse
import asyncio
import gc
import json
import sys
from pathlib import Path

from benchlib.envs import prepare, run_worker
from benchlib.procstatus import status_kib
from benchlib.rows import row_named

DEFAULT_ROWS = ("micropie compiled", "micropie pure")


async def soak(row_name: str, requests: int) -> dict[str, object]:
    import importlib

    from benchlib.inprocess import Receiver, checked_scope, discard
    from benchlib.scenarios import SCENARIOS

    row = row_named(row_name)
    suite = importlib.import_module(row.app_module).build()
    plan = []
    for scenario in SCENARIOS:
        app = suite.apps.get(scenario.key)
        if app is not None:
            plan.append((app, await checked_scope(app, scenario), Receiver(scenario.request_message())))
    warmup = 50_000

    async def run(count: int) -> None:
        for index in range(count):
            app, scope, receive = plan[index % len(plan)]
            receive.pending = True
            await app(dict(scope), receive, discard)

    await run(warmup)
    gc.collect()
    objects_before = len(gc.get_objects())
    samples = [status_kib("VmRSS")]
    step = requests // 10
    for _ in range(10):
        await run(step)
        samples.append(status_kib("VmRSS"))
    gc.collect()
    return {
        "row": row_name,
        "requests": step * 10,
        "rss_kib": samples,
        "growth_kib": samples[-1] - samples[0],
        "tracked_objects_growth": len(gc.get_objects()) - objects_before,
    }


def worker_main(row_name: str, requests: int) -> None:
    print(json.dumps(asyncio.run(soak(row_name, requests))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--only", default=",".join(DEFAULT_ROWS))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        worker_main(options.worker, options.requests)
        return
    print("| row | requests | RSS after warm-up | RSS at end | growth | tracked objects growth |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name in options.only.split(","):
        row = row_named(name)
        result = run_worker(Path(__file__).resolve(), row, prepare(row.env), "--requests", str(options.requests))
        if isinstance(result, str):
            print(f"| {row.name} | {result} | | | | |")
            continue
        samples = result["rss_kib"]
        print(f"| {row.name} | {result['requests']:,} | {samples[0] / 1024:.1f} MB | "
              f"{samples[-1] / 1024:.1f} MB | {result['growth_kib'] / 1024:+.2f} MB | "
              f"{result['tracked_objects_growth']:+,} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
