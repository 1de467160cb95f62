"""The rows of the report: which environment, app module and mode each one runs.

Every row runs in its own worker process because our package and PyPI's MicroPie share the
import name `micropie`. The order here is the order of the tables.

Rules (applied in the row's worker, by `import_app_module`):
- a row whose framework cannot be imported is "missing", not a failure; any other import error
  is raised, as a bug of the harness or the app;
- our rows are timed only with the `micropie` they claim: compiled or not as `expect_compiled`
  says, from src/ exactly when `src_on_path` says so; any other is a "failed" row.
"""

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from benchlib.paths import SRC


@dataclass(frozen=True)
class Row:
    name: str
    env: str
    app_module: str
    # The top-level import whose absence means the row is "missing" rather than "failed".
    framework: str
    # Our pure row imports `micropie` from <repo>/src through PYTHONPATH.
    src_on_path: bool = False
    # For our rows, the `micropie.COMPILED` the worker insists on before timing anything.
    expect_compiled: bool | None = None


ROWS = (
    Row("micropie compiled", "ours-compiled", "apps.micropie", "micropie", expect_compiled=True),
    Row(
        "micropie pure",
        "peers",
        "apps.micropie",
        "micropie",
        src_on_path=True,
        expect_compiled=False,
    ),
    Row("bare ASGI", "peers", "apps.bare", "orjson"),
    Row("MicroPie 0.29", "micropie-0.29", "apps.micropie", "micropie"),
    Row("MicroPie 0.32", "micropie-0.32", "apps.micropie", "micropie"),
    Row("Starlette", "peers", "apps.starlette", "starlette"),
    Row("BlackSheep", "peers", "apps.blacksheep", "blacksheep"),
    Row("Falcon", "peers", "apps.falcon", "falcon"),
)

OURS = "micropie compiled"
BASELINE = "MicroPie 0.29"
# The rows "fastest peer" is taken from: every framework but ours and the bare lower bound.
PEERS = ("MicroPie 0.29", "MicroPie 0.32", "Starlette", "BlackSheep", "Falcon")


def row_named(name: str) -> Row:
    for row in ROWS:
        if row.name.lower() == name.strip().lower():
            return row
    raise KeyError(f"unknown row {name!r}; rows are: {', '.join(r.name for r in ROWS)}")


@dataclass(frozen=True)
class Refusal:
    """Why a row's worker times nothing: status "missing" or "failed", and the reason."""

    status: str
    reason: str


def mode_problem(row: Row) -> str | None:
    """Why the imported `micropie` is not the one this row claims to measure, if it is not."""
    if row.expect_compiled is None:
        return None
    # Imported here: only the environments of our rows are sure to have a `micropie`.
    import micropie

    compiled = getattr(micropie, "COMPILED", None)
    if compiled is not row.expect_compiled:
        return f"micropie.COMPILED is {compiled!r}, expected {row.expect_compiled}"
    location = Path(micropie.__file__ or "").resolve()
    if row.src_on_path != location.is_relative_to(SRC):
        return f"micropie imported from {location}"
    return None


def import_app_module(row: Row) -> ModuleType | Refusal:
    """The row's app module, imported in the row's worker; or why the row must not be timed."""
    try:
        module = importlib.import_module(row.app_module)
    except ModuleNotFoundError as error:
        if (error.name or "").partition(".")[0] != row.framework:
            raise
        return Refusal("missing", str(error))
    problem = mode_problem(row)
    if problem is not None:
        return Refusal("failed", problem)
    return module
