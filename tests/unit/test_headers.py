"""headers.py on its own: decoding what clients send, and what a handler's headers become.

The rules (the module's opening comment) are checked one by one, then as properties over
arbitrary bytes and values: no input can make decoding raise, and nothing a handler returns
puts a control character on the wire.
"""

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from micropie.headers import HTML_TYPE, JSON_TYPE, NO_BODY, STREAMED, content_length, decode_headers
from micropie.headers import encode_header, header_value, parse_cookies, response_headers, scan_head


def test_names_compare_without_case_and_repeated_headers_join() -> None:
    raw = [(b"X-Tag", b"a"), (b"x-tag", b"b"), (b"Cookie", b"a=1"), (b"cookie", b"b=2")]
    assert decode_headers(raw) == {"x-tag": "a, b", "cookie": "a=1; b=2"}
    assert header_value(raw, b"x-tag") == "a, b"
    assert header_value(raw, b"cookie", "; ") == "a=1; b=2"
    assert header_value(raw, b"missing") is None


def test_handlers_read_utf8_and_the_pipeline_reads_latin1() -> None:
    raw = [(b"x-name", "Zoë".encode()), (b"content-type", b"text/plain; charset=\xff")]
    assert decode_headers(raw)["x-name"] == "Zoë"
    assert decode_headers(raw)["content-type"] == "text/plain; charset=\ufffd"
    assert scan_head(raw).content_type == "text/plain; charset=\xff"


def test_the_head_finds_the_four_headers_the_pipeline_reads_in_one_pass() -> None:
    head = scan_head([
        (b"Content-Length", b"5"), (b"COOKIE", b"a=1"), (b"cookie", b"b=2"),
        (b"transfer-encoding", b"chunked"), (bytearray(b"content-type"), bytearray(b"text/plain")),
    ])
    assert (head.content_length, head.cookie, head.transfer_encoding, head.content_type) == (
        "5", "a=1; b=2", "chunked", "text/plain"
    )
    empty = scan_head([])
    assert (empty.content_length, empty.cookie, empty.transfer_encoding, empty.content_type) == (None,) * 4


@pytest.mark.parametrize("header,cookies", [
    ("session_id=abc; theme=dark", {"session_id": "abc", "theme": "dark"}),
    ("a=1; a=2", {"a": "1"}),  # the first occurrence wins
    (" spaced = value ;;", {"spaced": "value"}),
    ("no-equals; =nameless; ok=1", {"ok": "1"}),
    ("a=b=c", {"a": "b=c"}),
    ("", {}),
])
def test_cookies(header: str, cookies: dict[str, str]) -> None:
    assert parse_cookies(header) == cookies


@pytest.mark.parametrize("name,value", [
    ("X-Injected", "ok\r\nSet-Cookie: evil=1"),
    ("X-Null", "a\x00b"),
    ("X-Del", "a\x7fb"),
    ("Bad Name", "value"),
    ("", "value"),
    ("X-Snowman", "☃"),
    (5, "value"),
])
def test_an_unsafe_header_is_dropped_and_logged(name: object, value: object, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="micropie"):
        assert encode_header(name, value) is None
    assert "Rejected response header" in caplog.text


def test_a_safe_header_is_lower_cased_and_encoded() -> None:
    assert encode_header("X-Count", 3) == (b"x-count", b"3")
    assert encode_header("X-Tab", "a\tb") == (b"x-tab", b"a\tb")
    assert encode_header("X-Latin", "café") == (b"x-latin", "café".encode("latin-1"))


def test_the_handler_s_content_type_replaces_the_default_and_the_length_is_the_framework_s() -> None:
    extra = [("Content-Type", "text/plain"), ("Content-Length", "999"), ("X-A", "1")]
    assert response_headers(extra, HTML_TYPE, 5) == [
        (b"x-a", b"1"), (b"content-type", b"text/plain"), (b"content-length", b"5"),
    ]
    assert extra == [("Content-Type", "text/plain"), ("Content-Length", "999"), ("X-A", "1")]


def test_a_streamed_body_keeps_a_handler_s_length_and_gets_none_of_its_own() -> None:
    assert response_headers([("Content-Length", "10")], JSON_TYPE, STREAMED) == [
        (b"content-length", b"10"), JSON_TYPE,
    ]
    assert response_headers(None, JSON_TYPE, STREAMED) == [JSON_TYPE]


def test_a_status_without_a_body_has_no_length() -> None:
    assert response_headers([("Content-Length", "10")], HTML_TYPE, NO_BODY) == [HTML_TYPE]
    assert response_headers(None, HTML_TYPE, NO_BODY) == [HTML_TYPE]


@pytest.mark.parametrize("entry", ["X-A: 1", ("X-A",), ("X-A", "1", "2"), None])
def test_an_entry_that_is_not_a_pair_is_a_malformed_result(entry: object) -> None:
    with pytest.raises(ValueError, match="not a \\(name, value\\) pair"):
        response_headers([entry], HTML_TYPE, 0)


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 10**9])
def test_content_length(size: int) -> None:
    assert content_length(size) == (b"content-length", str(size).encode())


raw_headers = st.lists(st.tuples(st.binary(max_size=20), st.binary(max_size=40)), max_size=8)


@given(raw_headers)
def test_no_request_headers_make_decoding_raise(raw: list[tuple[bytes, bytes]]) -> None:
    decoded = decode_headers(raw)
    assert all(name == name.lower() for name in decoded)
    head = scan_head(raw)
    if head.cookie is not None:
        parse_cookies(head.cookie)
    for name in decoded:
        parse_cookies(decoded[name])


header_values = st.one_of(st.text(max_size=20), st.integers(), st.binary(max_size=10), st.none(), st.floats())


@given(st.lists(st.tuples(st.text(max_size=12), header_values), max_size=6))
def test_nothing_a_handler_returns_puts_a_control_character_on_the_wire(extra: list[tuple[str, object]]) -> None:
    for name, value in response_headers(extra, HTML_TYPE, 3):
        assert name == name.lower()
        assert not any(byte < 0x20 and byte != 0x09 or byte == 0x7F for byte in name + value)
