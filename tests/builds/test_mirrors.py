"""Every copy kept by hand, held to what it copies: one module, so a new copy has one place to
get its guard, and a reader one place to see them all.

Each copy exists for a reason (mypyc needs a table it can read fast, a hatchling hook cannot
import the package it builds, a docstring is prose), and each test says what drifts without it.
Modules are read from their source with ``ast`` where compiled code erases what is compared.
"""

import ast
import re
import sys
import tomllib
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from project import ROOT, SOURCE_TREE, build_hook

import micropie
import micropie.request
import micropie.settings
from micropie.settings import OPTIONS, AppOptions

SOURCE = SOURCE_TREE / "micropie"


def pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def class_node(module: str, class_name: str) -> ast.ClassDef:
    tree = ast.parse((SOURCE / module).read_text())
    return next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == class_name)


def annotations(module: str, class_name: str) -> dict[str, str]:
    """A class's annotated names and their annotations as written (compiled, a TypedDict's
    annotations are erased at run time)."""
    return {
        node.target.id: ast.unparse(node.annotation)
        for node in class_node(module, class_name).body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    }


def properties(module: str, class_name: str) -> set[str]:
    return {
        node.name for node in class_node(module, class_name).body
        if isinstance(node, ast.FunctionDef)
        and any(isinstance(decorator, ast.Name) and decorator.id == "property" for decorator in node.decorator_list)
    }


# --- the options ---------------------------------------------------------------------------------

def test_app_attributes_and_keyword_options_and_the_option_table_list_the_same_options() -> None:
    # App declares each option as an attribute for type checkers, AppOptions as a keyword, and
    # OPTIONS holds its default and check: an option missing from one is unchecked or untyped.
    keywords = annotations("settings.py", "AppOptions")
    attributes = annotations("__init__.py", "App")
    assert set(keywords) == set(OPTIONS) == set(AppOptions.__annotations__)
    assert attributes == keywords


_UNITS = {"MiB": 1024 * 1024, "KiB": 1024, "hours": 3600, "seconds": 1}


def _documented_default(text: str) -> object:
    """A default as App.__init__'s docstring writes it: ``16 MiB``, ``8 hours``, ``None``, ``"x"``…"""
    number = re.fullmatch(r"([\d.]+) (MiB|KiB|hours|seconds)", text)
    if number is not None:
        return int(float(number.group(1)) * _UNITS[number.group(2)])
    return ast.literal_eval(text)


def test_the_defaults_app_init_documents_are_the_defaults() -> None:
    docstring = micropie.App.__init__.__doc__ or ""
    # Each "``name`` (default)"; the session id functions are described in prose instead.
    documented = {
        name: _documented_default(default) for name, default in re.findall(r"``(\w+)`` \(([^)]+)\)", docstring)
    }
    assert documented, "found no option defaults in App.__init__'s docstring"
    for name, default in documented.items():
        assert OPTIONS[name].default == default, name
    undocumented = set(OPTIONS) - set(documented) - {"session_id_factory", "session_id_validator"}
    assert not undocumented, f"App.__init__'s docstring gives no default for {sorted(undocumented)}"


# --- the request's attributes --------------------------------------------------------------------

def test_the_request_attribute_table_matches_the_class() -> None:
    # Pure, a name missing from the table would go to the extras while compiled code writes the
    # field: the two modes would disagree without an error. And a public attribute without its
    # check would take anything an untyped app writes.
    private = set(annotations("request.py", "Request"))
    public = properties("request.py", "Request")
    table = micropie.request._FIELDS
    assert set(table) == private | public
    assert {name for name, check in table.items() if check is not None} == public


# --- packaging ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name,constant", [("mypy", "MYPY_REQUIREMENT"), ("setuptools", "SETUPTOOLS_REQUIREMENT")])
def test_the_tools_the_build_uses_are_the_tools_ci_uses(name: str, constant: str) -> None:
    # mypyc is part of mypy: a different pin would compile with a checker CI never ran; and the
    # build links with the setuptools CI's build-hook tests load.
    dev = [Requirement(text) for text in pyproject()["project"]["optional-dependencies"]["dev"]]
    pinned = [str(requirement.specifier) for requirement in dev if requirement.name == name]
    assert pinned == [str(Requirement(getattr(build_hook(), constant)).specifier)]


def test_the_all_extra_is_every_runtime_extra() -> None:
    # build.py installs the `all` extra into the isolated build so that mypyc sees every import;
    # a dependency left out of it would fail only the compiled build.
    extras = pyproject()["project"]["optional-dependencies"]
    runtime = {"multipart", "templates", "redis", "testing"}
    assert set(extras) == runtime | {"all", "docs", "dev"}, "a new extra: is it a runtime one?"
    together = sorted(requirement for name in runtime for requirement in extras[name])
    assert sorted(extras["all"]) == together


def test_requires_python_admits_exactly_the_pythons_ci_tests() -> None:
    # .ci/run and scripts/build-wheels test and build the classifiers' versions; pip installs on
    # what requires-python admits.
    project = pyproject()["project"]
    prefix = "Programming Language :: Python :: 3."
    classified = {
        int(classifier.removeprefix(prefix))
        for classifier in project["classifiers"]
        if classifier.startswith(prefix) and classifier.removeprefix(prefix).isdigit()
    }
    admitted = {minor for minor in range(40) if f"3.{minor}.0" in SpecifierSet(project["requires-python"])}
    assert classified == admitted
    assert sys.version_info.minor in admitted
