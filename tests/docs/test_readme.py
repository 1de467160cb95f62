"""The README's code blocks run, and do what the README says they do (the documentation's
blocks are tests/docs/test_docs.py's)."""

from markdown_blocks import README, command_problems, excerpt_problems, python_blocks, titled

from micropie import App
from micropie.testing import TestClient


def test_hello_world() -> None:
    app: App = titled(README, "hello.py").run()["app"]
    with TestClient(app) as client:
        assert client.get("/").text == "Hello, World!"
        assert client.get("/greet/Ada?times=2").text == "Hello, Ada! Hello, Ada!"
        refused = client.get("/greet/Ada?times=many")
        assert (refused.status_code, refused.text) == (400, "400 Bad Request: Parameter 'times' must be int")


def test_every_python_block_is_checked_here() -> None:
    assert [block.title for block in python_blocks(README)] == ["hello.py"]
    assert excerpt_problems(README) == []


def test_the_commands_name_what_exists() -> None:
    assert command_problems(README) == []
