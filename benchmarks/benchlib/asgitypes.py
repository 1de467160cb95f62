"""The ASGI vocabulary the harness and the benchmark apps share.

Scopes and received messages are plain dicts because that is what servers build. A message an
app sends is typed as a MutableMapping so that apps typed against Starlette's vocabulary
(MutableMapping) and Falcon's (dict) both fit the one `ASGIApp` alias without casts.
"""

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
SentMessage = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[SentMessage], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
