"""Filling handler parameters from the request, and typed conversion."""

from typing import Any, Optional

import pytest
from harness import call, get, post_form, post_json

from micropie import App


class Binder(App):
    async def both(self, name: str, x: str) -> str:
        return f"{name}|{x}"

    async def defaults(self, a: str, b: str = "B", c: Any = None) -> str:
        return f"{a}|{b}|{c}"

    async def rest(self, first: str, *others: str) -> str:
        return f"{first}|{','.join(others)}"

    async def keywords(self, *, token: str, page: str = "1") -> str:
        return f"{token}|{page}"

    async def extras(self, known: str = "-", **others: Any) -> dict[str, Any]:
        return {"known": known, "others": others}

    async def json_types(self, count: Any, flag: Any, ratio: Any, items: Any, nothing: Any) -> dict[str, str]:
        return {name: type(value).__name__ for name, value in
                {"count": count, "flag": flag, "ratio": ratio, "items": items, "nothing": nothing}.items()}

    async def untyped(self, value):  # type: ignore[no-untyped-def]
        return f"{type(value).__name__}:{value}"

    async def typed(self, n: int, ratio: float = 0.5, on: bool = False, label: str = "") -> dict[str, Any]:
        return {"n": n, "ratio": ratio, "on": on, "label": label}

    async def optional(self, n: int | None = 7, m: Optional[float] = None) -> dict[str, Any]:
        return {"n": n, "m": m}

    async def many(self, *numbers: int) -> int:
        return sum(numbers)

    async def sessions(self, user: str = "anonymous") -> str:
        return user


async def test_path_then_query() -> None:
    reply = await get(Binder(), "/both/bob", query="x=1")
    assert reply.text == "bob|1"


async def test_query_supplies_positional_parameters_not_in_the_path() -> None:
    assert (await get(Binder(), "/both", query="name=ann&x=2")).text == "ann|2"


async def test_path_wins_over_query() -> None:
    assert (await get(Binder(), "/both/path", query="name=query&x=1")).text == "path|1"


async def test_first_query_value_is_used() -> None:
    assert (await get(Binder(), "/both/a", query="x=1&x=2")).text == "a|1"


async def test_query_wins_over_form() -> None:
    reply = await call(Binder(), "POST", "/both", query="x=query", body=b"name=form&x=form",
                       content_type="application/x-www-form-urlencoded")
    assert reply.text == "form|query"


async def test_form_fields_bind() -> None:
    assert (await post_form(Binder(), "/both", "name=ann&x=%20y+z")).text == "ann| y z"


async def test_blank_values_count_as_absent_as_in_micropie() -> None:
    missing = await post_form(Binder(), "/both", "name=&x=")
    assert (missing.status, missing.text) == (400, "400 Bad Request: Missing required parameter 'name'")
    assert (await post_form(Binder(), "/both", "name=&name=ann&x=1")).text == "ann|1"
    assert (await get(Binder(), "/both/a", query="x=&x=2")).text == "a|2"
    assert (await get(Binder(), "/defaults/a", query="b=&c=")).text == "a|B|None"
    assert (await get(Binder(), "/typed", query="n=3&ratio=&on=")).json() == {"n": 3, "ratio": 0.5, "on": False, "label": ""}
    assert (await get(Binder(), "/extras", query="known=&other=&kept=1")).json() == {"known": "-", "others": {"kept": "1"}}
    # A blank JSON string is a value, not an absent field.
    assert (await post_json(Binder(), "/both", {"name": "", "x": ""})).text == "|"


async def test_json_object_keys_bind_with_their_json_types() -> None:
    document = {"count": 3, "flag": True, "ratio": 0.5, "items": [1, 2], "nothing": None}
    reply = await post_json(Binder(), "/json_types", document)
    assert reply.json() == {"count": "int", "flag": "bool", "ratio": "float", "items": "list",
                            "nothing": "NoneType"}


async def test_json_that_is_not_an_object_binds_nothing() -> None:
    reply = await post_json(Binder(), "/both", ["name", "x"])
    assert reply.status == 400
    assert reply.text == "400 Bad Request: Missing required parameter 'name'"


async def test_defaults_fill_what_the_request_lacks() -> None:
    assert (await get(Binder(), "/defaults/a")).text == "a|B|None"
    assert (await get(Binder(), "/defaults/a/b/c")).text == "a|b|c"


async def test_missing_required_parameter_is_400_naming_it() -> None:
    reply = await get(Binder(), "/both/only-name")
    assert reply.status == 400
    assert reply.text == "400 Bad Request: Missing required parameter 'x'"


async def test_var_positional_takes_the_remaining_segments() -> None:
    assert (await get(Binder(), "/rest/a/b/c")).text == "a|b,c"
    assert (await get(Binder(), "/rest/a")).text == "a|"


async def test_keyword_only_parameters_bind_by_name_never_from_the_path() -> None:
    assert (await get(Binder(), "/keywords", query="token=t&page=3")).text == "t|3"
    reply = await get(Binder(), "/keywords/from-path")
    assert reply.status == 400
    assert "token" in reply.text


async def test_var_keyword_receives_every_unbound_name() -> None:
    reply = await call(Binder(), "POST", "/extras", query="known=k&q=1",
                       body=b'{"j": [1], "known": "ignored"}', content_type="application/json")
    assert reply.json() == {"known": "k", "others": {"q": "1", "j": [1]}}


async def test_var_keyword_gets_form_fields() -> None:
    reply = await post_form(Binder(), "/extras", "a=1&b=2&a=3")
    assert reply.json() == {"known": "-", "others": {"a": "1", "b": "2"}}


async def test_unannotated_parameters_receive_strings() -> None:
    assert (await get(Binder(), "/untyped/42")).text == "str:42"


async def test_typed_parameters_convert_from_strings() -> None:
    reply = await get(Binder(), "/typed/5", query="ratio=2.5&on=YES&label=7")
    assert reply.json() == {"n": 5, "ratio": 2.5, "on": True, "label": "7"}


@pytest.mark.parametrize("word,value", [("true", True), ("1", True), ("On", True), ("yes", True),
                                        ("false", False), ("0", False), ("OFF", False), ("no", False)])
async def test_bool_words(word: str, value: bool) -> None:
    assert (await get(Binder(), "/typed/1", query=f"on={word}")).json()["on"] is value


@pytest.mark.parametrize("query,name,expected", [
    ("n=abc", "n", "int"), ("n=1.5", "n", "int"), ("n=1_000", "n", "int"), ("n=%D9%A3", "n", "int"),
    ("n=1&ratio=x", "ratio", "float"), ("n=1&ratio=nan", "ratio", "float"),
    ("n=1&ratio=inf", "ratio", "float"), ("n=1&on=maybe", "on", "bool"),
])
async def test_values_that_do_not_convert_are_400_naming_parameter_and_type(
    query: str, name: str, expected: str
) -> None:
    reply = await get(Binder(), "/typed", query=query)
    assert reply.status == 400
    assert reply.text == f"400 Bad Request: Parameter '{name}' must be {expected}"


async def test_json_values_of_the_annotated_type_pass_through() -> None:
    reply = await post_json(Binder(), "/typed", {"n": 3, "ratio": 1, "on": False, "label": "x"})
    assert reply.json() == {"n": 3, "ratio": 1.0, "on": False, "label": "x"}


@pytest.mark.parametrize("document,name", [
    ({"n": True}, "n"), ({"n": 1.0}, "n"), ({"n": "3", "label": 5}, "label"),
    ({"n": 1, "on": 1}, "on"), ({"n": [1]}, "n"), ({"n": None}, "n"),
])
async def test_json_values_of_another_type_are_400(document: dict[str, Any], name: str) -> None:
    reply = await post_json(Binder(), "/typed", document)
    assert reply.status == 400
    assert f"Parameter '{name}' must be" in reply.text


async def test_json_strings_convert_like_query_strings() -> None:
    reply = await post_json(Binder(), "/typed", {"n": "12"})
    assert reply.json()["n"] == 12


async def test_optional_types() -> None:
    assert (await get(Binder(), "/optional")).json() == {"n": 7, "m": None}
    assert (await get(Binder(), "/optional", query="n=&m=")).json() == {"n": 7, "m": None}
    assert (await get(Binder(), "/optional", query="n=4&m=0.25")).json() == {"n": 4, "m": 0.25}
    assert (await post_json(Binder(), "/optional", {"n": None})).json() == {"n": None, "m": None}
    assert (await get(Binder(), "/optional", query="n=x")).status == 400


async def test_var_positional_with_a_type_converts_each_segment() -> None:
    assert (await get(Binder(), "/many/1/2/3")).text == "6"
    assert (await get(Binder(), "/many/1/two")).status == 400


async def test_string_annotations_from_future_import_convert() -> None:
    namespace: dict[str, Any] = {}
    exec(
        "from __future__ import annotations\n"
        "from micropie import App\n"
        "class Later(App):\n"
        "    async def add(self, a: int, b: int | None = None) -> int:\n"
        "        return a + (b or 0)\n"
        "    async def missing(self, a: Undefined) -> str:\n"
        "        return type(a).__name__\n",
        namespace,
    )
    app = namespace["Later"]()
    assert (await get(app, "/add/2", query="b=3")).text == "5"
    assert (await get(app, "/add/x")).status == 400
    assert (await get(app, "/missing/1")).text == "str"


async def test_session_values_never_bind() -> None:
    class Sessions(Binder):
        async def login(self) -> str:
            self.request.session["user"] = "admin"
            return "ok"

    app = Sessions(session_cookie_secure=False)
    login = await get(app, "/login")
    cookie = login.header("set-cookie")
    assert cookie is not None
    session_id = cookie.split(";")[0].split("=")[1]
    reply = await get(app, "/sessions", cookies={"session_id": session_id})
    assert reply.text == "anonymous"


async def test_metadata_is_computed_once_per_function() -> None:
    import inspect

    calls = 0
    real_signature = inspect.signature

    def counting_signature(*args: Any, **kwargs: Any) -> inspect.Signature:
        nonlocal calls
        calls += 1
        return real_signature(*args, **kwargs)

    class Counted(App):
        async def page(self, n: int) -> int:
            return n

    app = Counted()
    inspect.signature = counting_signature
    try:
        assert (await get(app, "/page/1")).text == "1"
        first = calls
        for number in range(5):
            assert (await get(app, f"/page/{number}")).text == str(number)
    finally:
        inspect.signature = real_signature
    assert first >= 1
    assert calls == first
