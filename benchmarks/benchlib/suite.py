"""What each app module (apps/) hands the worker: `build() -> Suite`.

`apps` maps a scenario key (see scenarios.py) to the ASGI app that serves it; a scenario whose
key is absent has no equivalent in that framework and is reported "n/a". Most frameworks serve
every scenario from one app; one that can only switch sessions on app-wide gets a second app for
the session scenario, so that the other scenarios do not pay for session middleware.
"""

from dataclasses import dataclass, field

from benchlib.asgi import ASGIApp


@dataclass(frozen=True)
class Suite:
    apps: dict[str, ASGIApp]
    versions: dict[str, str]
    # Shown beside the numbers, e.g. how a framework's session differs from MicroPie's.
    notes: dict[str, str] = field(default_factory=dict)
