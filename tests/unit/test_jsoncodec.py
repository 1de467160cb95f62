"""jsoncodec.py on its own: exact decoding, the stated depth limit, and encoding that never
changes a result to fit the fast encoder."""

import gc
import json

import pytest

from micropie import jsoncodec

MAX_DEPTH = jsoncodec.MAX_DEPTH


@pytest.mark.parametrize("document,deep", [
    # Brackets inside strings, escaped quotes and backslashes do not nest.
    (b'["' + b"[" * 600 + b'"]', False),
    (b'["\\\\\\"' + b"{" * 600 + b'"]', False),
    (b'["\\\\", ' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"]", True),
    (b'{"a": "]]]]", "b": ' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}", True),
    (b'{"k": ' * (MAX_DEPTH - 1) + b'"]"' + b"}" * (MAX_DEPTH - 1), False),
    (b'{"k": ' * MAX_DEPTH + b"{}" + b"}" * MAX_DEPTH, True),
    (b"[" + b"[]," * 5000 + b"[]]", False),
])
def test_the_depth_limit_counts_only_brackets_outside_strings(document: bytes, deep: bool) -> None:
    assert jsoncodec.too_deep(document) is deep
    if deep:
        with pytest.raises(ValueError, match="nested more than"):
            jsoncodec.loads(document)
    else:
        assert jsoncodec.loads(document) == json.loads(document)


@pytest.mark.parametrize("text", ["", "{", "[1,]", "nul", '{"a": NaN}', "[1e999]", "1 2", '"\\ud800"x'])
def test_anything_that_is_not_one_valid_document_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        jsoncodec.loads(text.encode())


def test_integers_keep_their_exact_value() -> None:
    assert jsoncodec.loads(b"[18446744073709551616, -1, 0.5]") == [2**64, -1, 0.5]


def nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("value,decoded", [
    ({"big": 2**70}, {"big": 2**70}),  # past 64 bits
    ({1: "int key"}, {"1": "int key"}),  # a key that is not a string
    (nested(300), nested(300)),  # past orjson's depth
    ({"nan": float("nan"), "inf": float("inf")}, {"nan": None, "inf": None}),
])
def test_what_the_fast_encoder_refuses_is_encoded_by_the_other(value: object, decoded: object) -> None:
    assert json.loads(jsoncodec.dumps(value)) == decoded


def test_a_large_document_leaves_the_collector_as_it_was() -> None:
    document = json.dumps([{"n": index} for index in range(20_000)]).encode()
    assert len(document) >= jsoncodec.LARGE_DOCUMENT
    was = gc.isenabled()
    try:
        for enabled in (True, False):
            gc.enable() if enabled else gc.disable()
            jsoncodec.loads(document)
            with pytest.raises(ValueError):
                jsoncodec.loads(document[:-1])
            assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
