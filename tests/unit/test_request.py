"""request.py on its own: a Request made from a scope, as middleware and handlers use it.

What an untyped app may assign is in test_untyped_writes.py; here are the other rules of the
module's opening comment: lazy fields, blank values, extras, uploads and adopted scope keys.
"""

import asyncio
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from micropie import Request, UploadedFile
from micropie.request import ALL_FILES_KEY, all_filled, first_filled


def scope(**extra: Any) -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": "/", "query_string": b"", "headers": [], **extra}


def upload(name: str) -> UploadedFile:
    return UploadedFile(filename=name, content_type="text/plain", content=asyncio.Queue())


def test_fields_are_read_lazily_from_the_scope() -> None:
    request = Request(scope(query_string=b"a=1&a=&b=%C3%A9", headers=[(b"X-Name", b"Ada")]))
    assert request.method == "POST"
    assert request.query_params == {"a": ["1", ""], "b": ["é"]}
    assert request.headers == {"x-name": "Ada"}
    assert (request.path_params, request.body_params, request.session, request.files) == ([], {}, {}, {})
    assert (request.body, request.body_parsed) == (b"", False)


def test_reading_a_value_skips_blank_ones() -> None:
    request = Request(scope(query_string=b"n=&n=2&e="))
    assert request.query("n") == "2"
    assert request.query("e", "default") == "default"
    assert request.query("missing") is None
    request.body_params = {"f": ["", "x"]}
    assert request.form("f") == "x"
    assert first_filled(["", "", "c"]) == "c"
    assert all_filled(["", "a", "", "b"]) == ["a", "b"]
    assert all_filled(["", ""]) is None and all_filled(None) is None


def test_json_reads_the_document_or_a_top_level_key() -> None:
    request = Request(scope())
    assert request.json() == {}
    request._json = {"a": 1}
    assert (request.json(), request.json("a"), request.json("b", 2)) == ({"a": 1}, 1, 2)
    request._json = [1, 2]
    assert (request.json(), request.json("a", "none")) == ([1, 2], "none")
    request._json = None  # a body that is JSON null
    assert request.json() is None


def test_extras_read_back_and_only_they_can_be_deleted() -> None:
    request = Request(scope())
    request.user = "ada"
    assert request.user == "ada"  # type: ignore[attr-defined]
    assert request.attribute("user") == "ada" and request.attribute("nobody") is None
    with pytest.raises(AttributeError, match="'nobody'"):
        getattr(request, "nobody")
    del request.user  # type: ignore[attr-defined]
    assert request.attribute("user") is None
    with pytest.raises(AttributeError, match="cannot delete"):
        del request.session


def test_every_upload_is_kept_and_files_holds_the_first() -> None:
    request = Request(scope())
    first, second = upload("1.txt"), upload("2.txt")
    request._add_upload("doc", first)
    request._add_upload("doc", second)
    assert request.files == {"doc": first}
    assert request.all_files("doc") == [first, second]
    assert request.all_files("doc") is not request.all_files("doc")
    assert request.all_files("other") == []


def test_an_outer_layer_s_state_is_adopted_and_shared() -> None:
    session = {"user": "ada"}
    fields = {"f": ["1"]}
    files = {"doc": upload("a.txt")}
    request = Request(scope(session=session, body_params=fields, files=files, json_body={"k": 1},
                            body_parsed=True, **{ALL_FILES_KEY: {"doc": [files["doc"]]}}))
    assert request.session is session and request.body_params is fields and request.files is files
    assert (request.json(), request.body_parsed, request.all_files("doc")) == ({"k": 1}, True, [files["doc"]])


def test_regenerate_session_marks_the_request() -> None:
    request = Request(scope())
    assert request._regenerate_session is False
    request.regenerate_session()
    assert request._regenerate_session is True


@given(st.binary(max_size=200))
def test_no_query_string_makes_reading_it_raise(query: bytes) -> None:
    params = Request(scope(query_string=query)).query_params
    assert all(isinstance(name, str) and all(isinstance(value, str) for value in values)
               for name, values in params.items())
