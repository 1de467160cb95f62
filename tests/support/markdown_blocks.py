"""The fenced code blocks of the project's Markdown pages (README.md and docs/), for the tests
that run them (tests/docs/test_readme.py, tests/docs/test_docs.py).

Rules the pages follow, and these helpers rely on:
- A Python block with a title (```` ```python title="guestbook.py" ````, shown above the block
  on the site) is a whole file: the tests run it, and check what the page says it does.
- A Python block without a title is an excerpt of a titled block on the same page: split at
  its lines that are ``...`` alone (the parts left out), each run of lines appears verbatim,
  in order, in that file, so the excerpt runs when the file does.
- A shell block (``sh``) holds commands, one a line (``#`` starts a comment). What a command
  names must exist: the extras of ``pip install 'micropie[...]'``, the other packages it
  installs (each one the tests use), the ``module:app`` a server serves and the test file
  pytest runs (titled blocks of the same page, or ``examples.NAME:app``, the repository's
  ``examples/NAME.py``), a server's options (in its ``--help``), and the project's own scripts.
"""

import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from project import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"

_FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```[ \t]*$", flags=re.S | re.M)
_TITLE = re.compile(r'title="([^"]+)"')


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int
    """The line of the page where the code starts (after the opening fence)."""
    language: str
    title: str
    """The block's title attribute, "" if it has none."""
    code: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    def run(self, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
        """Execute the block as a module would run; line numbers in tracebacks are the page's."""
        globals_ = {"__name__": Path(self.title).stem or "block"} if namespace is None else namespace
        padded = "\n" * (self.line - 1) + self.code
        exec(compile(padded, str(self.page), "exec"), globals_)
        return globals_

    def parts(self) -> list[str]:
        """The runs of lines of an excerpt, split at the ``...`` lines that stand for what it omits."""
        runs: list[list[str]] = [[]]
        for line in self.code.splitlines():
            if line.strip() == "...":
                runs.append([])
            else:
                runs[-1].append(line)
        return ["\n".join(run).strip("\n") for run in runs if "".join(run).strip()]


def blocks(page: Path) -> list[Block]:
    text = page.read_text()
    found = []
    for match in _FENCE.finditer(text):
        title = _TITLE.search(match.group(2))
        line = text.count("\n", 0, match.start(3)) + 1
        found.append(Block(page, line, match.group(1), title.group(1) if title else "", match.group(3)))
    return found


def docs_pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def python_blocks(page: Path) -> list[Block]:
    return [block for block in blocks(page) if block.language == "python"]


def titled(page: Path, title: str) -> Block:
    """The Python block titled ``title`` on ``page``."""
    matches = [block for block in python_blocks(page) if block.title == title]
    assert len(matches) == 1, f"{page}: {len(matches)} Python blocks titled {title!r}"
    return matches[0]


def excerpt_problems(page: Path) -> list[str]:
    """Untitled Python blocks of ``page`` that are not excerpts of one of its titled blocks."""
    files = [block for block in python_blocks(page) if block.title]
    problems = []
    for excerpt in python_blocks(page):
        if excerpt.title:
            continue
        if not any(_contains_in_order(whole.code, excerpt.parts()) for whole in files):
            problems.append(f"{excerpt.where}: not an excerpt of any titled block on the page")
    return problems


def _contains_in_order(text: str, parts: list[str]) -> bool:
    position = 0
    for part in parts:
        found = text.find(part, position)
        if found < 0:
            return False
        position = found + len(part)
    return bool(parts)


# -- shell blocks -------------------------------------------------------------------------

SERVERS = ("uvicorn", "gunicorn", "granian", "hypercorn")
_PROJECT_SCRIPTS = (".ci/run", ".ci/test", "scripts/demo", "scripts/micropie-suite")


def commands(page: Path) -> list[tuple[Block, list[str]]]:
    """Every command of the page's shell blocks, split as the shell would split it."""
    found = []
    for block in blocks(page):
        if block.language != "sh":
            continue
        for line in block.code.splitlines():
            words = shlex.split(line, comments=True)
            while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
                words = words[1:]  # an environment assignment before the command
            if words:
                found.append((block, words))
    return found


@cache
def _pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\[<>=!~;\s]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _tested_packages() -> set[str]:
    """What the project's own tests install: the dev and docs extras."""
    extras = _pyproject()["project"]["optional-dependencies"]
    return {_requirement_name(requirement) for name in ("dev", "docs", "testing") for requirement in extras[name]}


@cache
def _help_text(program: str) -> str:
    result = subprocess.run([sys.executable, "-m", program, "--help"], capture_output=True, text=True, timeout=60)
    return result.stdout + result.stderr


def _check_pip(words: list[str], problems: list[str], where: str) -> None:
    if words[1] == "wheel":
        return
    assert words[1] == "install", f"{where}: pip {words[1]}"
    extras = set(_pyproject()["project"]["optional-dependencies"])
    for word in words[2:]:
        if word.startswith("-"):
            continue
        match = re.fullmatch(r"(micropie|\.)(?:\[([\w,-]+)\])?", word)
        if match:
            for extra in (match.group(2) or "").split(","):
                if extra and extra not in extras:
                    problems.append(f"{where}: micropie has no extra {extra!r}")
        elif _requirement_name(word) not in _tested_packages():
            problems.append(f"{where}: {word} is not a package the tests install")


def _check_server(words: list[str], page: Path, problems: list[str], where: str) -> None:
    program = words[0]
    help_text = _help_text(program)
    for word in words[1:]:
        option = word.split("=", 1)[0]
        if option.startswith("--") and option not in help_text:
            problems.append(f"{where}: {program} has no option {option}")
    targets = [word for word in words[1:] if re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", word)]
    if len(targets) != 1:
        problems.append(f"{where}: {program} serves no module:app")
        return
    module, attribute = targets[0].split(":")
    if module.startswith("examples."):
        path = ROOT / "examples" / f"{module.removeprefix('examples.')}.py"
        name, code = f"examples/{path.name}", path.read_text() if path.is_file() else None
        missing = f"no {name}"
    else:
        block = {block.title: block for block in python_blocks(page)}.get(f"{module}.py")
        name, code = f"{module}.py", None if block is None else block.code
        missing = f"no block titled {name} on the page"
    if code is None:
        problems.append(f"{where}: {missing}")
    elif not re.search(rf"^{attribute}\b.*=", code, flags=re.M):
        problems.append(f"{where}: {name} defines no {attribute}")


def command_problems(page: Path, allowed: Iterable[str] = ()) -> list[str]:
    """What the page's shell commands name that does not exist; ``allowed``: other programs."""
    problems: list[str] = []
    files = {block.title for block in python_blocks(page)}
    for block, words in commands(page):
        where = f"{block.where}: {' '.join(words)}"
        program = words[0]
        if program == "pip":
            _check_pip(words, problems, where)
        elif program in SERVERS:
            _check_server(words, page, problems, where)
        elif program == "pytest":
            missing = [word for word in words[1:] if word.endswith(".py") and word not in files]
            if missing:
                problems.append(f"{where}: no block titled {missing[0]} on the page")
        elif program in _PROJECT_SCRIPTS or (program == "bash" and words[1] in _PROJECT_SCRIPTS):
            script = words[1] if program == "bash" else program
            if not (ROOT / script).is_file():
                problems.append(f"{where}: {script} does not exist")
        elif program == "python" and words[1:2] != ["-m"]:
            path = ROOT / words[1]
            if not path.is_file() and words[1] not in files:
                problems.append(f"{where}: {words[1]} does not exist")
        elif program not in allowed:
            problems.append(f"{where}: a command the tests do not know")
    return problems
