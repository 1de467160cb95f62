"""JSON encoding and decoding, fast and lossless.

Rules:
- orjson does the work. Where orjson would lose or refuse data that the standard library keeps
  (integers beyond 64 bits, non-string keys), the standard library is used instead, so nothing
  a client sent or a handler returned is silently changed.
- ``loads`` raises ``ValueError`` on anything that is not one valid JSON document.
"""

import json
import re
from typing import Final

import orjson

# orjson decodes integer literals beyond 64 bits as floats, losing digits.
_LONG_INTEGER: Final = re.compile(rb"\d{19}")


def loads(data: bytes) -> object:
    if len(data) >= 19 and _LONG_INTEGER.search(data) is not None:
        return json.loads(data)
    return orjson.loads(data)


def dumps(value: object) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":")).encode("ascii")
