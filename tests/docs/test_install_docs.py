"""No page or message tells users to install micropie from a package index.

The ``micropie`` on PyPI is MicroPie, another project: ``pip install micropie`` (with extras or a
version, with ``-U``) installs that. This project installs from a checkout (``pip install .``,
``-e .``) or from its wheels (``--find-links DIR``, with or without ``--no-index``), and its
version sorts above every MicroPie release so that a directory holding both gives this one.

Checked: every Markdown page of the repository, and every string in the Python users run or read
(``src/``, ``examples/``, ``build.py``, ``scripts/build-wheels``), where error messages name what
to install. A ``pip install`` command runs to the end of its line, or to a backtick, a double
quote, a comma, a semicolon or a parenthesis, whichever comes first.
"""

import ast
import re
from pathlib import Path

from project import ROOT


# One command: `pip install` and the words after it, a word being a single-quoted string or a
# run of characters that cannot end a command in prose or in a message.
_COMMAND = re.compile(r"pip\s+install((?:(?:[ \t]+|[ \t]*\\\n[ \t]*)(?:'[^'\n]*'|[^\s'`\",;()\\]+))*)")
_WORD = re.compile(r"'[^'\n]*'|[^\s'`\",;()\\]+")
_THIS_PROJECT_BY_NAME = re.compile(r"micropie(\[[\w,\s-]*\])?\s*((==|>=|<=|~=|!=|<|>).*)?", flags=re.I)


def fetches_micropie_from_an_index(command: str) -> bool:
    """Whether ``pip install`` with these words would look for micropie on a package index."""
    words = [word.strip("'") for word in _WORD.findall(command)]
    by_name = any(_THIS_PROJECT_BY_NAME.fullmatch(word) for word in words)
    local = any(word == "--no-index" or word.startswith(("--find-links", "-f")) for word in words)
    return by_name and not local


def problems_in(text: str, where: str) -> list[str]:
    problems = []
    for match in _COMMAND.finditer(text):
        if fetches_micropie_from_an_index(match.group(1)):
            line = text.count("\n", 0, match.start()) + 1
            problems.append(f"{where}:{line}: {match.group().strip()}")
    return problems


def markdown_pages() -> list[Path]:
    # Hidden directories hold virtual environments and caches; site/ is the built documentation.
    return sorted(
        page for page in ROOT.rglob("*.md")
        if not any(part.startswith(".") or part == "site" for part in page.relative_to(ROOT).parts)
    )


def python_sources() -> list[Path]:
    return [
        *sorted((ROOT / "src").rglob("*.py")),
        *sorted((ROOT / "examples").rglob("*.py")),
        ROOT / "build.py",
        ROOT / "scripts" / "build-wheels",
    ]


def strings_of(source: Path) -> list[tuple[int, str]]:
    """Every string constant of a Python file, with its line: messages, docstrings, f-string parts.

    Adjacent literals are one constant to the parser, so a message split over lines is whole.
    """
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_no_page_installs_micropie_from_an_index() -> None:
    pages = markdown_pages()
    assert ROOT / "README.md" in pages and ROOT / "docs" / "index.md" in pages
    problems = [problem for page in pages
                for problem in problems_in(page.read_text(encoding="utf-8"), str(page.relative_to(ROOT)))]
    assert problems == []


def test_no_message_installs_micropie_from_an_index() -> None:
    problems = []
    for source in python_sources():
        for line, value in strings_of(source):
            where = f"{source.relative_to(ROOT)}:{line} (string)"
            problems.extend(problems_in(value, where))
    assert problems == []


def test_the_pages_say_how_to_install_this_project() -> None:
    # Both routes, on the pages a new user reads first.
    for page in ("README.md", "docs/index.md"):
        text = (ROOT / page).read_text(encoding="utf-8")
        assert "pip install '.[all]'" in text, page
        assert re.search(r"pip install --find-links=dist 'micropie\[\w+\]'", text), page
        assert "python scripts/build-wheels" in text, page


def test_the_check_tells_index_installs_from_local_ones() -> None:
    from_an_index = [
        "pip install micropie",
        "pip install micropie uvicorn",
        "pip install -U micropie",
        "pip install 'micropie[redis]'",
        "pip install 'MicroPie[redis,testing]' uvicorn pytest",
        "pip install micropie==1.0.0",
        "python -m pip install --upgrade micropie>=1",
        "`pip install micropie` and then",
        "needs the redis package: pip install 'micropie[redis]', or pip install redis",
        "pip install \\\n    'micropie[all]'",
    ]
    local = [
        "pip install .",
        "pip install -e '.[dev]'",
        "MICROPIE_PURE=1 pip install '.[all]' uvicorn",
        "pip install --find-links=dist 'micropie[redis]' uvicorn",
        "pip install --no-index --find-links dist 'micropie[redis]'",
        "pip install -f dist micropie",
        "pip install dist/micropie-1.0.0-py3-none-any.whl",
        "pip install redis",
        "`pip install redis` and `micropie` itself",
    ]
    assert [text for text in from_an_index if not problems_in(text, "example")] == []
    assert [text for text in local if problems_in(text, "example")] == []
