"""conversion.py on its own: which annotations convert, and the exact text each type accepts.

Binding through a whole request is tested in test_binding.py and test_lists.py; here each rule
of the module's opening comment is checked on the converter itself, then as properties: a
converter either returns a value of its type or raises ``ConversionError``, whatever it is given.
"""

import asyncio
import math
import typing

import pytest
from hypothesis import given
from hypothesis import strategies as st

from micropie import UploadedFile
from micropie.conversion import ConversionError, Converter, converter_for


def convert(annotation: object, value: object) -> object:
    converter = converter_for(annotation)
    assert converter is not None, annotation
    return converter.convert(value)


@pytest.mark.parametrize("annotation", [None, object, typing.Any, bytes, dict[str, int], "Whatever", tuple[int, int]])
def test_other_annotations_leave_values_as_they_arrive(annotation: object) -> None:
    assert converter_for(annotation) is None


@pytest.mark.parametrize("annotation,text,expected", [
    (int, "-12", -12), (int, "007", 7), (float, "1.5", 1.5), (float, "-.5e3", -500.0), (float, "3", 3.0),
    (bool, "yes", True), (bool, "OFF", False), (bool, "1", True), (str, " kept as sent ", " kept as sent "),
])
def test_text_converts_exactly(annotation: object, text: str, expected: object) -> None:
    result = convert(annotation, text)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("annotation,text", [
    (int, "+1"), (int, " 1"), (int, "1_000"), (int, "١٢"), (int, "1.0"), (int, ""), (int, "9" * 4301),
    (float, "nan"), (float, "inf"), (float, "1e999"), (float, "1,5"), (float, "."), (float, " 1"),
    (bool, "maybe"), (bool, ""),
])
def test_text_outside_the_grammar_is_refused(annotation: object, text: str) -> None:
    with pytest.raises(ConversionError):
        convert(annotation, text)


@pytest.mark.parametrize("annotation,value,expected", [
    (int, 5, 5), (float, 5, 5.0), (float, 2.5, 2.5), (bool, True, True), (str, "x", "x"),
])
def test_a_json_value_of_the_type_passes(annotation: object, value: object, expected: object) -> None:
    result = convert(annotation, value)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("annotation,value", [
    (int, True), (int, 1.0), (float, True), (float, 2**1024), (str, 5), (bool, 1), (int, [1]), (int, {"a": 1}),
])
def test_a_json_value_of_another_type_is_refused(annotation: object, value: object) -> None:
    with pytest.raises(ConversionError):
        convert(annotation, value)


def test_optional_takes_null_and_an_empty_string_for_numbers_and_bools() -> None:
    assert convert(int | None, None) is None
    assert convert(typing.Optional[float], "") is None
    assert convert("bool | None", "") is None
    assert convert(str | None, "") == ""
    with pytest.raises(ConversionError):
        convert(int, None)


def test_an_uploaded_file_must_come_from_the_multipart_parse() -> None:
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    upload = {"filename": "a.txt", "content_type": "text/plain", "content": queue}
    assert convert(UploadedFile, upload) is upload
    for forged in ("a.txt", {"filename": "a.txt", "content_type": "text/plain", "content": "data"}):
        with pytest.raises(ConversionError):
            convert(UploadedFile, forged)


def test_lists_convert_every_element_and_refuse_a_scalar() -> None:
    assert convert(list[int], ["1", 2]) == [1, 2]
    assert convert("list[float]", ["1.5"]) == [1.5]
    assert convert(list, ["a", 1, None]) == ["a", 1, None]
    assert convert(list[int] | None, None) is None
    with pytest.raises(ConversionError):
        convert(list[int], ["1", None])
    with pytest.raises(ConversionError):
        convert(list[str], "not a list")


@pytest.mark.parametrize("annotation,expected", [
    (int, "int"), (float, "float"), (bool, "bool"), (str, "str"), (UploadedFile, "an uploaded file"),
    (list[int], "a list of int"), (list, "a list"),
])
def test_what_a_400_says_the_parameter_must_be(annotation: object, expected: str) -> None:
    converter = converter_for(annotation)
    assert isinstance(converter, Converter)
    assert converter.expected == expected


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@pytest.mark.parametrize("annotation,kind", [(int, int), (float, float), (bool, bool), (str, str)])
@given(value=st.one_of(st.text(max_size=30), json_values))
def test_a_converter_returns_its_type_or_refuses(annotation: type, kind: type, value: object) -> None:
    try:
        result = convert(annotation, value)
    except ConversionError:
        return
    assert type(result) is kind
    if kind is float:
        assert isinstance(result, float) and math.isfinite(result)
