"""Repeated fields: list-typed parameters get every value of their name, and no file is dropped."""

import asyncio
from typing import Any, Optional

import pytest
from harness import CONTENT_TYPE, PassThrough, call, form, get, part, post_form, post_json, read_all

from micropie import App, Request, UploadedFile
from micropie.conversion import converter_for


class Lists(App):
    async def tags(self, tag: list[str]) -> list[str]:
        return tag

    async def ids(self, id: list[int], page: int = 1) -> dict[str, Any]:
        return {"id": id, "page": page}

    async def measures(self, value: list[float] | None = None, flag: Optional[list[bool]] = None) -> dict[str, Any]:
        return {"value": value, "flag": flag}

    async def first(self, tag: str, id: int) -> dict[str, Any]:
        return {"tag": tag, "id": id}

    async def untyped(self, tag):  # type: ignore[no-untyped-def]
        return {"tag": tag}

    async def anything(self, items: list, more: list[dict[str, int]] | None = None) -> dict[str, Any]:  # type: ignore[type-arg]
        return {"items": items, "more": more}

    async def pick(self, ids: list[int], *, names: list[str] | None = None) -> dict[str, Any]:
        return {"ids": ids, "names": names}

    async def documents(self, docs: list[UploadedFile], title: str = "") -> dict[str, Any]:
        contents = [await read_all(upload) for upload in docs]
        return {"title": title, "names": [upload["filename"] for upload in docs],
                "sizes": [len(content) for content in contents],
                "first_in_files": self.request.files["docs"] is docs[0],
                "all_files": [upload["filename"] for upload in self.request.all_files("docs")]}

    async def optional_documents(self, docs: list[UploadedFile] | None = None) -> str:
        return "none" if docs is None else f"{len(docs)} files"

    async def one_document(self, docs: UploadedFile) -> dict[str, Any]:
        return {"name": docs["filename"], "size": len(await read_all(docs))}

    async def ignore_documents(self, title: str) -> dict[str, Any]:
        # Never reads the files: the request must still finish.
        return {"title": title, "count": len(self.request.all_files("docs"))}

    async def everything(self, **fields: Any) -> dict[str, Any]:
        return {name: value if isinstance(value, str) else value["filename"] for name, value in fields.items()}


MISSING_TAG = "400 Bad Request: Missing required parameter 'tag'"


async def test_every_query_value_in_order() -> None:
    assert (await get(Lists(), "/tags", query="tag=b&tag=a&tag=b")).json() == ["b", "a", "b"]


async def test_one_value_is_a_list_of_one() -> None:
    assert (await get(Lists(), "/tags", query="tag=a")).json() == ["a"]


async def test_each_element_converts() -> None:
    assert (await get(Lists(), "/ids", query="id=3&id=-1&id=007&page=2")).json() == {"id": [3, -1, 7], "page": 2}


async def test_float_and_bool_elements_convert() -> None:
    reply = await get(Lists(), "/measures", query="value=1.5&value=2&flag=yes&flag=OFF")
    assert reply.json() == {"value": [1.5, 2.0], "flag": [True, False]}


@pytest.mark.parametrize("query", ["id=1&id=x", "id=1&id=+2", "id=%201", "id=1_000", "id=1.0"])
async def test_one_bad_element_is_400_naming_the_parameter_and_the_element_type(query: str) -> None:
    reply = await get(Lists(), "/ids", query=query)
    assert (reply.status, reply.text) == (400, "400 Bad Request: Parameter 'id' must be a list of int")


async def test_blank_values_count_as_absent_and_are_skipped() -> None:
    assert (await get(Lists(), "/tags", query="tag=&tag=a&tag=")).json() == ["a"]
    assert (await get(Lists(), "/ids", query="id=&id=4")).json() == {"id": [4], "page": 1}


@pytest.mark.parametrize("query", ["", "tag=", "tag=&tag=", "other=a"])
async def test_no_value_and_no_default_is_400_missing(query: str) -> None:
    reply = await get(Lists(), "/tags", query=query)
    assert (reply.status, reply.text) == (400, MISSING_TAG)


async def test_a_default_applies_when_no_value_is_sent() -> None:
    assert (await get(Lists(), "/measures")).json() == {"value": None, "flag": None}


async def test_scalar_and_untyped_parameters_still_take_the_first_value() -> None:
    assert (await get(Lists(), "/first", query="tag=a&tag=b&id=1&id=2")).json() == {"tag": "a", "id": 1}
    assert (await get(Lists(), "/untyped", query="tag=a&tag=b")).json() == {"tag": "a"}


async def test_every_urlencoded_form_value() -> None:
    reply = await post_form(Lists(), "/ids", "id=1&id=2&page=3&id=3")
    assert reply.json() == {"id": [1, 2, 3], "page": 3}


async def test_query_values_win_over_form_values_without_merging() -> None:
    reply = await post_form(Lists(), "/tags", "tag=form1&tag=form2", query="tag=q")
    assert reply.json() == ["q"]


async def test_every_multipart_text_value() -> None:
    body = form(part("id", b"5"), part("page", b"2"), part("id", b"6"))
    reply = await call(Lists(), "POST", "/ids", body=body, content_type=CONTENT_TYPE)
    assert reply.json() == {"id": [5, 6], "page": 2}


async def test_a_bad_multipart_element_is_400() -> None:
    body = form(part("id", b"5"), part("id", b"five"))
    reply = await call(Lists(), "POST", "/ids", body=body, content_type=CONTENT_TYPE)
    assert (reply.status, reply.text) == (400, "400 Bad Request: Parameter 'id' must be a list of int")


async def test_a_json_array_value() -> None:
    assert (await post_json(Lists(), "/ids", {"id": [1, 2, 10**30]})).json() == {"id": [1, 2, 10**30], "page": 1}
    assert (await post_json(Lists(), "/measures", {"value": [1, 2.5], "flag": [True]})).json() == {
        "value": [1.0, 2.5], "flag": [True]}
    assert (await post_json(Lists(), "/tags", {"tag": []})).json() == []


@pytest.mark.parametrize("value", ["1", 1, {"0": 1}, [1, None], [1, True], [1, 1.5], [[1]], None])
async def test_a_json_value_that_is_not_a_list_of_the_element_type_is_400(value: object) -> None:
    reply = await post_json(Lists(), "/ids", {"id": value})
    assert (reply.status, reply.text) == (400, "400 Bad Request: Parameter 'id' must be a list of int")


async def test_json_null_for_an_optional_list_is_none() -> None:
    assert (await post_json(Lists(), "/measures", {"value": None, "flag": [False]})).json() == {
        "value": None, "flag": [False]}


async def test_json_strings_in_an_array_convert_like_query_text() -> None:
    assert (await post_json(Lists(), "/ids", {"id": ["4", 5]})).json() == {"id": [4, 5], "page": 1}
    reply = await post_json(Lists(), "/ids", {"id": [""]})
    assert reply.status == 400  # inside an array a blank string is a value, and not an int


async def test_lists_of_other_element_types_take_values_as_sent() -> None:
    reply = await get(Lists(), "/anything", query="items=a&items=2")
    assert reply.json() == {"items": ["a", "2"], "more": None}
    reply = await post_json(Lists(), "/anything", {"items": [1, "x", None], "more": [{"a": 1}]})
    assert reply.json() == {"items": [1, "x", None], "more": [{"a": 1}]}
    reply = await post_json(Lists(), "/anything", {"items": "not a list"})
    assert (reply.status, reply.text) == (400, "400 Bad Request: Parameter 'items' must be a list")


async def test_a_path_segment_fills_a_list_with_one_element() -> None:
    assert (await get(Lists(), "/pick/5", query="names=a&names=b")).json() == {"ids": [5], "names": ["a", "b"]}
    reply = await get(Lists(), "/pick/x")
    assert (reply.status, reply.text) == (400, "400 Bad Request: Parameter 'ids' must be a list of int")


# --- files -------------------------------------------------------------------------------------

THREE_FILES = (
    ("a.txt", b"alpha" * 3),
    ("b.bin", bytes(range(256)) * 9000),  # 2.3 MB: spilled to disk past the first 1 MiB
    ("c.txt", b""),
)


def three_files(*extra: bytes) -> bytes:
    return form(*extra, *(part("docs", content, name) for name, content in THREE_FILES))


async def test_three_files_under_one_name_all_arrive_in_order_with_their_sizes() -> None:
    reply = await call(Lists(), "POST", "/documents", body=three_files(part("title", b"t")), content_type=CONTENT_TYPE)
    assert reply.json() == {"title": "t", "names": ["a.txt", "b.bin", "c.txt"], "sizes": [15, 2304000, 0],
                            "first_in_files": True, "all_files": ["a.txt", "b.bin", "c.txt"]}


async def test_files_arriving_in_small_chunks_keep_their_content() -> None:
    body = three_files()
    chunks = [body[index:index + 65536] for index in range(0, len(body), 65536)]
    reply = await call(Lists(), "POST", "/documents", chunks=chunks, content_type=CONTENT_TYPE)
    assert reply.json()["sizes"] == [15, 2304000, 0]


async def test_a_scalar_file_parameter_gets_the_first_file() -> None:
    reply = await call(Lists(), "POST", "/one_document", body=three_files(), content_type=CONTENT_TYPE)
    assert reply.json() == {"name": "a.txt", "size": 15}


async def test_var_keyword_still_gets_the_first_file() -> None:
    reply = await call(Lists(), "POST", "/everything", body=three_files(), content_type=CONTENT_TYPE)
    assert reply.json() == {"docs": "a.txt"}


async def test_files_nobody_reads_do_not_stall_the_request() -> None:
    reply = await asyncio.wait_for(
        call(Lists(), "POST", "/ignore_documents", body=three_files(part("title", b"x")), content_type=CONTENT_TYPE),
        timeout=10,
    )
    assert reply.json() == {"title": "x", "count": 3}


async def test_no_file_for_an_optional_file_list_is_none() -> None:
    reply = await call(Lists(), "POST", "/optional_documents", body=form(part("x", b"1")), content_type=CONTENT_TYPE)
    assert reply.text == "none"


async def test_no_file_for_a_required_file_list_is_400_missing() -> None:
    reply = await call(Lists(), "POST", "/documents", body=form(part("title", b"t")), content_type=CONTENT_TYPE)
    assert (reply.status, reply.text) == (400, "400 Bad Request: Missing required parameter 'docs'")


@pytest.mark.parametrize("query", ["docs=a.txt", "docs=a&docs=b"])
async def test_text_for_a_file_list_is_400(query: str) -> None:
    reply = await get(Lists(), "/documents", query=query)
    assert (reply.status, reply.text) == (400, "400 Bad Request: Parameter 'docs' must be a list of uploaded files")


async def test_a_malformed_body_after_the_files_is_400_not_a_partial_list() -> None:
    body = three_files()[:-20]  # cut inside the closing boundary
    reply = await call(Lists(), "POST", "/documents", body=body, content_type=CONTENT_TYPE)
    assert (reply.status, reply.text) == (400, "400 Bad Request: Malformed multipart body")


async def test_a_request_without_files_lists_none() -> None:
    seen: list[list[UploadedFile]] = []

    class Peek(App):
        async def index(self) -> str:
            seen.append(self.request.all_files("docs"))
            return "ok"

    await post_form(Peek(), "/", "docs=text")
    assert seen == [[]]


async def test_all_files_is_a_new_list_each_call() -> None:
    class Mutating(App):
        async def index(self) -> int:
            self.request.all_files("docs").clear()
            return len(self.request.all_files("docs"))

    reply = await call(Mutating(), "POST", "/", body=three_files(), content_type=CONTENT_TYPE)
    assert reply.json() == 3


async def test_a_mounted_micropie_app_sees_every_file() -> None:
    class Child(Lists):
        pass

    class Mount(PassThrough):
        async def before_request(self, request: Request) -> None:
            if request.scope["path"].startswith("/child/"):
                request._subapp = Child()
                request._subapp_path = request.scope["path"][len("/child"):]
                request._subapp_mount_path = "/child"

    parent = App()
    parent.middlewares.append(Mount())
    reply = await call(parent, "POST", "/child/documents", body=three_files(), content_type=CONTENT_TYPE)
    assert reply.json()["sizes"] == [15, 2304000, 0]


# --- annotations -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("annotation", "expected", "optional"),
    [
        ("list[int]", "a list of int", False),
        ("List[ float ]", "a list of float", False),
        ("typing.List[bool]", "a list of bool", False),
        ("list[str] | None", "a list of str", True),
        ("None | list[UploadedFile]", "a list of uploaded files", True),
        ("Optional[list[int]]", "a list of int", True),
        ("list", "a list", False),
        ("list[Decimal]", "a list", False),
        (list[int], "a list of int", False),
        (list[UploadedFile] | None, "a list of uploaded files", True),
        (Optional[list[str]], "a list of str", True),
        (list, "a list", False),
    ],
)
def test_list_annotations_written_as_types_or_text(annotation: object, expected: str, optional: bool) -> None:
    converter = converter_for(annotation)
    assert converter is not None
    assert (converter.many, converter.expected, converter.optional) == (True, expected, optional)


@pytest.mark.parametrize("annotation", ["list[int] | str", list[int] | str, "dict[str, int]", tuple[int]])
def test_other_annotations_are_not_lists(annotation: object) -> None:
    converter = converter_for(annotation)
    assert converter is None or not converter.many
