"""Typed conversion of bound parameter values.

Rules:
- Only ``int``, ``float``, ``bool``, ``str``, ``UploadedFile`` and ``X | None`` of those convert;
  any other annotation (or none) leaves values exactly as they arrive, as MicroPie does.
- Strings from the path, query or a form convert; a JSON value already of the annotated type
  passes through (a JSON int is accepted for ``float`` if a float can hold it); anything else is
  a ``ConversionError``.
  ``bool`` is never accepted as an int, whatever Python's class hierarchy says.
- The accepted text is exact; nothing around it is trimmed:
  - ``int``: an optional ``-`` and ASCII digits (``-12``, ``007``). No ``+``, no whitespace, no
    ``_`` separators, no other scripts' digits, at most 4300 digits (Python's own limit).
  - ``float``: an optional ``-``, ASCII digits with at most one ``.`` (at least one digit), and an
    optional exponent (``e``/``E``, optional sign, digits); the result must be finite, so
    ``nan``, ``inf`` and ``1e999`` are refused.
  - ``bool``: true/false, 1/0, yes/no, on/off, in any case.
- An ``UploadedFile`` parameter accepts only a file the multipart parse produced (its content is
  a queue); a string, or a JSON object shaped like a file, is a ``ConversionError``.
- For ``X | None``, JSON null and (for ``int``, ``float`` and ``bool``) an empty string that
  reaches conversion (a JSON string or a path segment; blank query and form values count as
  absent before that, see ``binding``) give None.
- The converter is chosen once per handler (``converter_for``), never per request.
"""

import asyncio
import math
import re
import types
import typing
from typing import Final

from micropie.request import UploadedFile

_INT: Final = 0
_FLOAT: Final = 1
_BOOL: Final = 2
_STR: Final = 3
_FILE: Final = 4

_TRUE_WORDS: Final = frozenset({"true", "1", "yes", "on"})
_FALSE_WORDS: Final = frozenset({"false", "0", "no", "off"})
_FLOAT_TEXT: Final = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_TYPE_CODES: Final[dict[object, int]] = {int: _INT, float: _FLOAT, bool: _BOOL, str: _STR, UploadedFile: _FILE}
_NAME_CODES: Final = {"int": _INT, "float": _FLOAT, "bool": _BOOL, "str": _STR, "UploadedFile": _FILE}
# JSON integers this large or larger have no float (float() would raise OverflowError).
_FLOAT_INTEGER_LIMIT: Final = 2**1024
# What a 400 says the parameter must be, by type code.
_EXPECTED: Final = ("int", "float", "bool", "str", "an uploaded file")


class ConversionError(Exception):
    """A value that does not convert to the parameter's annotated type."""


class Converter:
    """Converts one parameter's incoming values to its annotated type."""

    def __init__(self, code: int, optional: bool) -> None:
        self.code = code
        self.optional = optional
        self.expected = _EXPECTED[code]

    def convert(self, value: object) -> object:
        if value is None:
            if self.optional:
                return None
            raise ConversionError(self.expected)
        if isinstance(value, str):
            if self.optional and not value and self.code != _STR and self.code != _FILE:
                return None
            return self._from_text(value)
        return self._from_json(value)

    def _from_text(self, text: str) -> object:
        code = self.code
        if code == _STR:
            return text
        if code == _INT:
            digits = text[1:] if text.startswith("-") else text
            if digits.isascii() and digits.isdigit():
                try:
                    return int(text)
                except ValueError:  # beyond Python's limit on digits
                    pass
        elif code == _FLOAT:
            if _FLOAT_TEXT.fullmatch(text) is not None:
                number = float(text)
                if math.isfinite(number):
                    return number
        elif code == _BOOL:
            word = text.lower()
            if word in _TRUE_WORDS:
                return True
            if word in _FALSE_WORDS:
                return False
        raise ConversionError(self.expected)

    def _from_json(self, value: object) -> object:
        code = self.code
        if code == _FILE:
            if isinstance(value, dict) and isinstance(value.get("content"), asyncio.Queue):
                return value
        elif isinstance(value, bool):
            if code == _BOOL:
                return value
        elif isinstance(value, int):
            if code == _INT:
                return value
            if code == _FLOAT and -_FLOAT_INTEGER_LIMIT < value < _FLOAT_INTEGER_LIMIT:
                return float(value)
        elif isinstance(value, float):
            if code == _FLOAT:
                return value
        raise ConversionError(self.expected)


def _parse_annotation(annotation: object) -> tuple[int, bool] | None:
    """(type code, optional) for a convertible annotation, else None."""
    if isinstance(annotation, str):
        return _parse_annotation_text(annotation)
    code = _TYPE_CODES.get(annotation)
    if code is not None:
        return (code, False)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(members) == 1 and len(typing.get_args(annotation)) == 2:
            inner = _TYPE_CODES.get(members[0])
            if inner is not None:
                return (inner, True)
    return None


def _parse_annotation_text(text: str) -> tuple[int, bool] | None:
    """The same for an annotation left as text (``from __future__ import annotations``)."""
    compact = text.replace(" ", "")
    for prefix in ("Optional[", "typing.Optional["):
        if compact.startswith(prefix) and compact.endswith("]"):
            inner = _NAME_CODES.get(compact[len(prefix):-1])
            return None if inner is None else (inner, True)
    parts = compact.split("|")
    if len(parts) == 1:
        code = _NAME_CODES.get(compact)
        return None if code is None else (code, False)
    if len(parts) == 2 and "None" in parts:
        other = parts[1] if parts[0] == "None" else parts[0]
        code = _NAME_CODES.get(other)
        return None if code is None else (code, True)
    return None


def converter_for(annotation: object) -> Converter | None:
    """The converter for a parameter annotated ``annotation``, or None to pass values as-is."""
    parsed = _parse_annotation(annotation)
    if parsed is None:
        return None
    code, optional = parsed
    return Converter(code, optional)
