"""Decoding ``application/x-www-form-urlencoded`` data: form bodies and query strings.

Rules:
- The bytes are decoded as UTF-8 with invalid bytes replaced, then each name and value is
  percent-decoded (``+`` is a space). Blank values are kept as "" (reading treats them as
  absent, see ``request``); empty ``&&`` items are not fields.
- Under limits (form bodies; a query string has none): at most ``max_fields`` fields and no
  name or value over ``field_limit`` bytes (UTF-8, after percent-decoding). Either is a 413,
  found before the rest is decoded, so the work a hostile body causes is bounded by the limits
  rather than by its size.
- Data of ``LARGE_FORM`` bytes or more is decoded one item at a time, so it is never copied
  whole into a second text (``body`` also parses such a body in a worker thread).
"""

import re
from itertools import islice
from typing import Final
from urllib.parse import unquote_plus

from micropie.errors import HTTPError

LARGE_FORM: Final = 64 * 1024

_FORM_ITEM: Final = re.compile(rb"[^&]+")


def too_many_fields() -> HTTPError:
    return HTTPError(413, "Too many form fields")


def field_too_large() -> HTTPError:
    return HTTPError(413, "Form field too large")


def _decoded_within(raw: str, limit: int) -> str:
    """``raw`` percent-decoded; ``HTTPError`` 413 if that is more than ``limit`` bytes of UTF-8."""
    # Decoding shrinks at most threefold ("%41" → "A"), so a longer raw text is refused unread.
    if len(raw) > 3 * limit:
        raise field_too_large()
    text = unquote_plus(raw) if "%" in raw or "+" in raw else raw
    if len(text) > limit or (not text.isascii() and len(text.encode("utf-8")) > limit):
        raise field_too_large()
    return text


def _add_field(fields: dict[str, list[str]], item: str, field_limit: int | None) -> None:
    """Add one ``name=value`` item to ``fields``."""
    name, _, value = item.partition("=")
    # A character sent is at most four bytes once decoded: a short item needs no size check.
    if field_limit is not None and len(item) * 4 > field_limit:
        name = _decoded_within(name, field_limit)
        value = _decoded_within(value, field_limit)
    else:
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
    values = fields.get(name)
    if values is None:
        fields[name] = [value]
    else:
        values.append(value)


def parse_urlencoded(
    data: bytes, max_fields: int | None = None, field_limit: int | None = None
) -> dict[str, list[str]]:
    """Field name → values of urlencoded ``data``, with at most ``max_fields`` fields of at most
    ``field_limit`` bytes each (None: no limit)."""
    fields: dict[str, list[str]] = {}
    if max_fields is not None and len(data) >= LARGE_FORM:
        # A large body is walked one item at a time, so only the items read are ever decoded;
        # the regular expression skips runs of empty items in C. (An explicit loop: compiled,
        # a generator expression would be run to its end at once.)
        count = 0
        for match in islice(_FORM_ITEM.finditer(data), max_fields + 1):
            count += 1
            if count > max_fields:
                raise too_many_fields()
            _add_field(fields, match.group().decode("utf-8", "replace"), field_limit)
        return fields
    items = data.decode("utf-8", "replace").split("&")
    if max_fields is not None and len(items) > max_fields and len(items) - items.count("") > max_fields:
        raise too_many_fields()
    for item in items:
        if item:
            _add_field(fields, item, field_limit)
    return fields
