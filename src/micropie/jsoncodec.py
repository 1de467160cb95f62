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

# orjson decodes integer literals beyond 64 bits as floats, losing digits; every such literal
# has at least 19 digits. Mapping each digit to "0" turns the search for one into a plain
# substring search (a regex scan here cost several times the parse itself).
_DIGITS_AS_ZERO: Final = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN: Final = b"0" * 19


def loads(data: bytes) -> object:
    if len(data) >= 19 and _LONG_DIGIT_RUN in data.translate(_DIGITS_AS_ZERO):
        return json.loads(data)
    return orjson.loads(data)


def dumps(value: object) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":")).encode("ascii")
