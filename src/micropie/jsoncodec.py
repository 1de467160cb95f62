"""JSON encoding and decoding, fast and lossless.

Rules:
- orjson does the work. Where orjson would lose or refuse data that the standard library keeps
  (integers beyond 64 bits, non-string keys), the standard library is used instead, so nothing
  a client sent or a handler returned is silently changed.
- ``loads`` raises ``ValueError`` on anything that is not one valid JSON document.
"""

import json
from typing import Final

import orjson

# orjson returns an integer literal beyond its 64-bit range (signed or unsigned) as a float,
# which loses digits; such a float is at least 2**63 in magnitude. Finding one in the parsed
# document (a walk, far cheaper than scanning the text) sends the body to the standard library.
_LOSSY_MAGNITUDE: Final = float(2**63)


def _lossy(value: object, nested: list[object]) -> bool:
    """Whether ``value`` is a suspect float; containers are queued in ``nested`` instead."""
    if isinstance(value, float):
        return value >= _LOSSY_MAGNITUDE or value <= -_LOSSY_MAGNITUDE
    if isinstance(value, (dict, list)):
        nested.append(value)
    return False


def _may_have_lost_digits(document: object) -> bool:
    # Iterative, so that a deeply nested document cannot exhaust the recursion limit.
    nested: list[object] = []
    if _lossy(document, nested):
        return True
    while nested:
        container = nested.pop()
        if isinstance(container, dict):
            for value in container.values():
                if _lossy(value, nested):
                    return True
        elif isinstance(container, list):
            for value in container:
                if _lossy(value, nested):
                    return True
    return False


def loads(data: bytes) -> object:
    document = orjson.loads(data)
    if _may_have_lost_digits(document):
        return json.loads(data)
    return document


def dumps(value: object) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":")).encode("ascii")
