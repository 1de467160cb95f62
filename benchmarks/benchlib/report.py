"""Turns a `Report` into the Markdown printed at the end of a run.

Two tables, rows in the order of rows.py and scenarios in the order of scenarios.py: calls per
second, then ratios (each row ÷ MicroPie 0.29, and our compiled row ÷ the fastest peer). A cell
shows a number only for a scenario that passed its check and was timed; otherwise it says why
not ("FAILED", "n/a", "missing"), and the reasons and notes are listed under the tables.
"""

from benchlib.results import Meta, Report, RowResult, ScenarioResult
from benchlib.rows import BASELINE, OURS, PEERS
from benchlib.scenarios import SCENARIOS

_TITLES = [scenario.title for scenario in SCENARIOS]
_KEYS = [scenario.key for scenario in SCENARIOS]


def _table(body: list[list[str]]) -> list[str]:
    header = ["row", *_TITLES]
    rule = ["---"] + ["---:"] * len(_TITLES)
    return ["| " + " | ".join(cells) + " |" for cells in [header, rule, *body]]


def _scenario(row: RowResult, key: str) -> ScenarioResult | None:
    return row.get("scenarios", {}).get(key)


def _median(row: RowResult | None, key: str) -> float | None:
    result = None if row is None else _scenario(row, key)
    if result is None or result["status"] != "ok":
        return None
    return result["median"]


def _status(status: str) -> str:
    return "FAILED" if status == "failed" else status


def _cell(row: RowResult, key: str) -> str:
    result = _scenario(row, key)
    if result is None:
        return _status(row["status"])
    marker = " *" if "note" in result else ""
    if result["status"] == "ok":
        return f"{result['median']:,.0f}{marker}"
    return _status(result["status"]) + marker


def _ratio(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or denominator is None:
        return "–"
    return f"{numerator / denominator:.2f}×"


def _versus_fastest_peer(rows: dict[str, RowResult], key: str) -> str:
    ours = _median(rows.get(OURS), key)
    peers = [(median, name) for name in PEERS if (median := _median(rows.get(name), key))]
    if ours is None or not peers:
        return "–"
    fastest, name = max(peers)
    return f"{ours / fastest:.2f}× ({name})"


def _notes(rows: list[RowResult]) -> list[str]:
    notes = []
    for row in rows:
        if "reason" in row:
            notes.append(f"- {row['row']}: {_status(row['status'])}: {row['reason']}")
        for scenario in SCENARIOS:
            result = _scenario(row, scenario.key)
            if result is None:
                continue
            texts = [result[field] for field in ("reason", "note") if field in result]
            if texts:
                status = _status(result["status"])
                notes.append(f"- {row['row']}, {scenario.title}: {status}: {'; '.join(texts)}")
    return notes


def _versions(row: RowResult) -> str:
    versions = row.get("versions", {})
    return ", ".join(f"{name} {version}" for name, version in versions.items()) or "–"


def _heading(meta: Meta, rows: list[RowResult]) -> list[str]:
    return [
        "## In-process ASGI benchmark",
        "",
        f"- date: {meta['date']}",
        f"- python: {meta['python']}",
        f"- machine: {meta['machine']}, {meta['cpu']}, load average {meta['load']:.2f} at start",
        f"- method: {meta['calls']:,} calls × {meta['reps']} repetitions per scenario after "
        f"{meta['warmup']:,} warm-up calls; median calls/s, higher is better",
        "- versions:",
        *(f"  - {row['row']}: {_versions(row)}" for row in rows),
    ]


def render(report: Report) -> str:
    rows = report["rows"]
    by_name = {row["row"]: row for row in rows}
    baseline = by_name.get(BASELINE)
    speeds = [[row["row"], *(_cell(row, key) for key in _KEYS)] for row in rows]
    ratios = [
        [row["row"], *(_ratio(_median(row, key), _median(baseline, key)) for key in _KEYS)]
        for row in rows
    ]
    ratios.append([f"{OURS} ÷ fastest peer", *(_versus_fastest_peer(by_name, k) for k in _KEYS)])

    lines = _heading(report["meta"], rows)
    lines += ["", "### Calls per second", "", *_table(speeds)]
    lines += ["", f"### Ratios: each row ÷ {BASELINE}; last line: {OURS} ÷ fastest peer", ""]
    lines += _table(ratios)
    notes = _notes(rows)
    if notes:
        lines += ["", "Notes (* in a cell):", "", *notes]
    return "\n".join(lines) + "\n"
