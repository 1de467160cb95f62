"""Typed conversion of bound parameter values.

Rules:
- Only ``int``, ``float``, ``bool``, ``str`` and ``X | None`` of those convert; any other
  annotation (or none) leaves values exactly as they arrive, as MicroPie does.
- Strings from the path, query or a form convert; a JSON value already of the annotated type
  passes through (a JSON int is accepted for ``float``); anything else is a ``ConversionError``.
  ``bool`` is never accepted as an int, whatever Python's class hierarchy says.
- Strings convert strictly: ASCII digits only (no ``_`` separators, no other scripts), finite
  floats, and booleans spelt true/false, 1/0, yes/no, on/off in any case.
- For ``X | None``, JSON null and (for non-``str`` X) the empty string give None.
- The converter is chosen once per handler (``converter_for``), never per request.
"""

import math
import types
import typing
from typing import Final

_INT: Final = 0
_FLOAT: Final = 1
_BOOL: Final = 2
_STR: Final = 3

_TRUE_WORDS: Final = frozenset({"true", "1", "yes", "on"})
_FALSE_WORDS: Final = frozenset({"false", "0", "no", "off"})
_TYPE_CODES: Final[dict[object, int]] = {int: _INT, float: _FLOAT, bool: _BOOL, str: _STR}
_NAME_CODES: Final = {"int": _INT, "float": _FLOAT, "bool": _BOOL, "str": _STR}


class ConversionError(Exception):
    """A value that does not convert to the parameter's annotated type."""


class Converter:
    """Converts one parameter's incoming values to its annotated type."""

    def __init__(self, code: int, optional: bool, type_name: str) -> None:
        self.code = code
        self.optional = optional
        self.type_name = type_name

    def convert(self, value: object) -> object:
        if value is None:
            if self.optional:
                return None
            raise ConversionError(self.type_name)
        if isinstance(value, str):
            if self.optional and not value and self.code != _STR:
                return None
            return self._from_text(value)
        return self._from_json(value)

    def _from_text(self, text: str) -> object:
        code = self.code
        if code == _STR:
            return text
        if code == _BOOL:
            word = text.strip().lower()
            if word in _TRUE_WORDS:
                return True
            if word in _FALSE_WORDS:
                return False
            raise ConversionError(self.type_name)
        if not text.isascii() or "_" in text:
            raise ConversionError(self.type_name)
        try:
            if code == _INT:
                return int(text)
            number = float(text)
        except ValueError:
            raise ConversionError(self.type_name) from None
        if not math.isfinite(number):
            raise ConversionError(self.type_name)
        return number

    def _from_json(self, value: object) -> object:
        code = self.code
        if isinstance(value, bool):
            if code == _BOOL:
                return value
        elif isinstance(value, int):
            if code == _INT:
                return value
            if code == _FLOAT:
                return float(value)
        elif isinstance(value, float):
            if code == _FLOAT:
                return value
        raise ConversionError(self.type_name)


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
    name = ("int", "float", "bool", "str")[code]
    return Converter(code, optional, name)
