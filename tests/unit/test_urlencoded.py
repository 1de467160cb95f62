"""urlencoded.py on its own: form bodies and query strings, and the limits a form body is under."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from micropie.errors import HTTPError
from micropie.urlencoded import LARGE_FORM, parse_urlencoded


@pytest.mark.parametrize("data,fields", [
    (b"a=1&a=2&b=", {"a": ["1", "2"], "b": [""]}),  # every value, blank ones kept
    (b"&&a=1&&", {"a": ["1"]}),  # empty items are not fields
    (b"name=Ada+Lovelace&x=%26%3D", {"name": ["Ada Lovelace"], "x": ["&="]}),
    (b"caf%C3%A9=%E2%98%83", {"café": ["☃"]}),
    (b"bad=\xff%FF", {"bad": ["\ufffd\ufffd"]}),  # invalid UTF-8 replaced, never dropped
    (b"flag", {"flag": [""]}),
    (b"", {}),
])
def test_fields(data: bytes, fields: dict[str, list[str]]) -> None:
    assert parse_urlencoded(data) == fields


@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
def test_more_fields_than_the_limit_is_413(large: bool) -> None:
    data = b"&".join(b"f%d=1" % index for index in range(LARGE_FORM if large else 11))
    assert (len(data) >= LARGE_FORM) is large
    with pytest.raises(HTTPError) as refused:
        parse_urlencoded(data, max_fields=10)
    assert (refused.value.status, refused.value.body) == (413, "413 Payload Too Large: Too many form fields")
    assert len(parse_urlencoded(b"&&&" * 100 + b"a=1", max_fields=1)) == 1  # empty items are free


@pytest.mark.parametrize("data", [b"a=" + b"x" * 11, b"x" * 11 + b"=1", b"a=" + b"%41" * 11, "a=é".encode() * 1 + b"x" * 9])
def test_a_name_or_value_over_the_limit_after_decoding_is_413(data: bytes) -> None:
    with pytest.raises(HTTPError) as refused:
        parse_urlencoded(data, field_limit=10)
    assert refused.value.body == "413 Payload Too Large: Form field too large"


def test_a_value_exactly_at_the_limit_is_kept() -> None:
    assert parse_urlencoded(b"a=" + b"%41" * 10, field_limit=10) == {"a": ["A" * 10]}


@given(st.binary(max_size=300), st.integers(1, 20), st.integers(1, 40))
def test_any_bytes_give_fields_or_a_413(data: bytes, max_fields: int, field_limit: int) -> None:
    try:
        fields = parse_urlencoded(data, max_fields=max_fields, field_limit=field_limit)
    except HTTPError as refused:
        assert refused.status == 413
        return
    assert sum(len(values) for values in fields.values()) <= max_fields
    for name, values in fields.items():
        assert len(name.encode()) <= field_limit and all(len(value.encode()) <= field_limit for value in values)
