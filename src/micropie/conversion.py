"""Typed conversion of bound parameter values.

Rules:
- Only ``int``, ``float``, ``bool``, ``str``, ``UploadedFile`` and ``X | None`` of those convert;
  any other annotation (or none) leaves values exactly as they arrive, as MicroPie does.
- A ``list`` annotation (``list[X]``, ``list``, ``typing.List[X]``, optionally ``| None``) makes
  a list converter: binding hands it every value of the name as a list, and each element
  converts as a scalar ``X`` would (an ``X`` that does not convert leaves elements as they
  arrive, ``None`` included). Elements of a convertible type are never optional: ``None`` or a
  blank string in a ``list[int]`` is a ``ConversionError``; ``| None`` applies to the list (JSON null gives None). A value that is
  not a list (a JSON string for ``list[str]``) is a ``ConversionError``.
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
# Elements of a list whose element type does not convert: kept as they arrive.
_AS_SENT: Final = 5

_TRUE_WORDS: Final = frozenset({"true", "1", "yes", "on"})
_FALSE_WORDS: Final = frozenset({"false", "0", "no", "off"})
_FLOAT_TEXT: Final = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_TYPE_CODES: Final[dict[object, int]] = {int: _INT, float: _FLOAT, bool: _BOOL, str: _STR, UploadedFile: _FILE}
_NAME_CODES: Final = {"int": _INT, "float": _FLOAT, "bool": _BOOL, "str": _STR, "UploadedFile": _FILE}
_LIST_PREFIXES: Final = ("list[", "List[", "typing.List[")
_LIST_NAMES: Final = frozenset({"list", "List", "typing.List"})
# JSON integers this large or larger have no float (float() would raise OverflowError).
_FLOAT_INTEGER_LIMIT: Final = 2**1024
# What a 400 says the parameter must be, by type code: of a scalar, then of a list.
_EXPECTED: Final = ("int", "float", "bool", "str", "an uploaded file", "")
_EXPECTED_LIST: Final = (
    "a list of int",
    "a list of float",
    "a list of bool",
    "a list of str",
    "a list of uploaded files",
    "a list",
)


class ConversionError(Exception):
    """A value that does not convert to the parameter's annotated type."""


class Converter:
    """Converts one parameter's incoming value (a list of values, if ``many``) to its annotated type."""

    def __init__(self, code: int, optional: bool, many: bool = False) -> None:
        self.code = code
        self.optional = optional
        self.many = many
        self.expected = _EXPECTED_LIST[code] if many else _EXPECTED[code]
        # Text (from the path, query or a form) converts to itself: binding skips the call.
        self.keeps_text = code == _STR and not many

    def convert(self, value: object) -> object:
        if value is None:
            if self.optional:
                return None
            raise ConversionError(self.expected)
        if self.many:
            if not isinstance(value, list):
                raise ConversionError(self.expected)
            return [self._element(item) for item in value]
        if isinstance(value, str):
            if self.optional and not value and self.code != _STR and self.code != _FILE:
                return None
            return self._from_text(value)
        return self._from_json(value)

    def _element(self, value: object) -> object:
        if self.code == _AS_SENT:
            return value
        if isinstance(value, str):
            return self._from_text(value)
        if value is None:
            raise ConversionError(self.expected)
        return self._from_json(value)

    def _from_text(self, text: str) -> object:
        code = self.code
        if code == _STR or code == _AS_SENT:
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
        if code == _AS_SENT:
            return value
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


class _Shape:
    """What an annotation asks for: a type code, and whether it is optional and a list."""

    def __init__(self, code: int, optional: bool, many: bool) -> None:
        self.code = code
        self.optional = optional
        self.many = many


def _parse_annotation(annotation: object) -> _Shape | None:
    """The shape of a convertible annotation, else None."""
    if isinstance(annotation, str):
        return _parse_annotation_text(annotation)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        arguments = typing.get_args(annotation)
        members = [argument for argument in arguments if argument is not type(None)]
        if len(members) == 1 and len(arguments) == 2:
            inner = _parse_required(members[0])
            if inner is not None:
                inner.optional = True
            return inner
        return None
    return _parse_required(annotation)


def _parse_required(annotation: object) -> _Shape | None:
    code = _TYPE_CODES.get(annotation)
    if code is not None:
        return _Shape(code, False, False)
    if annotation is list or typing.get_origin(annotation) is list:
        arguments = typing.get_args(annotation)
        element = _TYPE_CODES.get(arguments[0]) if len(arguments) == 1 else None
        return _Shape(_AS_SENT if element is None else element, False, True)
    return None


def _parse_annotation_text(text: str) -> _Shape | None:
    """The same for an annotation left as text (``from __future__ import annotations``)."""
    compact = text.replace(" ", "")
    for prefix in ("Optional[", "typing.Optional["):
        if compact.startswith(prefix) and compact.endswith("]"):
            return _optional(_parse_required_text(compact[len(prefix):-1]))
    parts = compact.split("|")
    if len(parts) == 1:
        return _parse_required_text(compact)
    if len(parts) == 2 and "None" in parts:
        return _optional(_parse_required_text(parts[1] if parts[0] == "None" else parts[0]))
    return None


def _optional(shape: _Shape | None) -> _Shape | None:
    if shape is not None:
        shape.optional = True
    return shape


def _parse_required_text(text: str) -> _Shape | None:
    code = _NAME_CODES.get(text)
    if code is not None:
        return _Shape(code, False, False)
    if text in _LIST_NAMES:
        return _Shape(_AS_SENT, False, True)
    for prefix in _LIST_PREFIXES:
        if text.startswith(prefix) and text.endswith("]"):
            element = _NAME_CODES.get(text[len(prefix):-1])
            return _Shape(_AS_SENT if element is None else element, False, True)
    return None


def converter_for(annotation: object) -> Converter | None:
    """The converter for a parameter annotated ``annotation``, or None to pass values as-is."""
    shape = _parse_annotation(annotation)
    if shape is None:
        return None
    return Converter(shape.code, shape.optional, shape.many)
