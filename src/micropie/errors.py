"""Client errors raised inside the request pipeline.

Rules:
- A step that rejects a request (body limits, bad JSON, binding, routing) raises ``HTTPError``;
  the conductors turn it into an answer: ``dispatch`` into a response with its status and body,
  ``websocket`` into a close (1008 for a handler's arguments, 1013 for an unavailable session
  store, 1011 otherwise). No other module catches it.
- The body is short text the client can act on: never exception text, paths or values.
"""

from typing import Final

_REASONS: Final = {
    400: "Bad Request",
    404: "Not Found",
    408: "Request Timeout",
    413: "Payload Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class HTTPError(Exception):
    """A request that cannot be served: the status and the text the client gets."""

    def __init__(self, status: int, detail: str = "") -> None:
        reason = _REASONS.get(status, "Error")
        self.status = status
        self.detail = detail
        self.body = f"{status} {reason}: {detail}" if detail else f"{status} {reason}"
        super().__init__(self.body)


INTERNAL_ERROR_BODY: Final = "500 Internal Server Error"
