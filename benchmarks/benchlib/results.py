"""The shape of what a worker reports and what `results/latest.json` holds.

A worker writes one `RowResult`; the orchestrator adds rows it could not run (status "missing")
and wraps them all in a `Report`. Statuses: a row is "ok", "missing" (its framework could not be
installed or imported) or "failed" (it ran but must not be reported as numbers); a scenario is
"ok" (timed), "failed" (its correctness check failed, so it was never timed) or "n/a" (the
framework has no equivalent feature).
"""

from typing import NotRequired, TypedDict


class ScenarioResult(TypedDict):
    status: str
    median: NotRequired[float]
    reps: NotRequired[list[float]]
    reason: NotRequired[str]
    note: NotRequired[str]


class RowResult(TypedDict):
    row: str
    status: str
    reason: NotRequired[str]
    versions: NotRequired[dict[str, str]]
    scenarios: NotRequired[dict[str, ScenarioResult]]


class Meta(TypedDict):
    date: str
    python: str
    machine: str
    cpu: str
    # The 1-minute load average when the run started: above ~0.5 others share the CPUs.
    load: float
    calls: int
    reps: int
    warmup: int


class Report(TypedDict):
    meta: Meta
    rows: list[RowResult]
