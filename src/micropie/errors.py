"""Client errors raised inside the request pipeline.

Rules:
- A step that rejects a request (body limits, bad JSON, binding, routing) raises ``HTTPError``;
  the conductors turn it into an answer: ``dispatch`` into a response with its status and body,
  ``websocket`` into a close (1008 for a handler's arguments, 1013 for an unavailable session
  store, 1011 otherwise). No other module catches it.
- The answer says the status, its reason and a short ``detail`` the client can act on: never
  exception text, paths or values. By default it is MicroPie's plain text
  (``"400 Bad Request: Bad JSON"``); with the ``problem_details`` option, an RFC 9457
  ``application/problem+json`` document (``problem_document``); an application may shape it
  itself by overriding ``App._error_response``.
"""

from typing import Final

_REASONS: Final = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Payload Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

PROBLEM_CONTENT_TYPE: Final = ("Content-Type", "application/problem+json")


def reason(status: int) -> str:
    """The reason phrase of ``status`` (``"Not Found"``), or ``"Error"``."""
    return _REASONS.get(status, "Error")


def plain_body(status: int, detail: str = "") -> str:
    """The plain-text answer: ``"404 Not Found"``, ``"400 Bad Request: Bad JSON"``."""
    return f"{status} {reason(status)}: {detail}" if detail else f"{status} {reason(status)}"


def problem_document(status: int, detail: str = "") -> dict[str, object]:
    """The RFC 9457 problem details of an answer: ``type``, ``title``, ``status``, ``detail``."""
    document: dict[str, object] = {"type": "about:blank", "title": reason(status), "status": status}
    if detail:
        document["detail"] = detail
    return document


class HTTPError(Exception):
    """A request that cannot be served: the status and the detail the client gets."""

    def __init__(self, status: int, detail: str = "") -> None:
        self.status = status
        self.detail = detail
        self.body = plain_body(status, detail)
        super().__init__(self.body)
