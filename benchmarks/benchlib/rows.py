"""The rows of the report: which environment, app module and mode each one runs.

Every row runs in its own worker process because our package and PyPI's MicroPie share the
import name `micropie`. The order here is the order of the tables.
"""

from dataclasses import dataclass


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
