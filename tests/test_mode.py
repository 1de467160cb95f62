"""The suite runs twice (.ci/run): against src/ as plain Python, and against the installed
mypyc-compiled wheel.  These tests fail a run whose modules are not the kind its mode
promises, so a "compiled" run that silently imported pure code cannot pass, nor the reverse.

MICROPIE_EXPECT_COMPILED: "1" expects the compiled wheel; "0" or unset expects pure Python.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

import micropie

EXTENSION_SUFFIXES = tuple(importlib.machinery.EXTENSION_SUFFIXES)
SOURCE_TREE = Path(__file__).resolve().parents[1] / "src"


def expect_compiled() -> bool:
    value = os.environ.get("MICROPIE_EXPECT_COMPILED", "0")
    if value not in ("0", "1"):
        pytest.fail(f"MICROPIE_EXPECT_COMPILED must be '0' or '1', not {value!r}")
    return value == "1"


def fail_discovery(name: str) -> None:
    pytest.fail(f"cannot import {name} while looking for micropie's modules")


def core_modules() -> list[ModuleType]:
    """Every micropie module but the package ``__init__`` files, found on the package path."""
    return [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(
            micropie.__path__, f"{micropie.__name__}.", onerror=fail_discovery
        )
        if not info.ispkg
    ]


def file_of(module: ModuleType) -> Path:
    assert module.__file__ is not None, f"{module.__name__} has no __file__"
    return Path(module.__file__).resolve()


def is_extension(path: Path) -> bool:
    return path.name.endswith(EXTENSION_SUFFIXES)


def test_compiled_flag_matches_expected_mode() -> None:
    assert micropie.COMPILED is expect_compiled()


def test_every_core_module_is_of_the_expected_kind() -> None:
    modules = core_modules()
    assert modules, "found no micropie modules"
    if expect_compiled():
        wrong = [
            f"{module.__name__}: {file_of(module)}"
            for module in modules
            if not is_extension(file_of(module)) or file_of(module).is_relative_to(SOURCE_TREE)
        ]
        kind = "extension modules installed outside src/"
    else:
        wrong = [
            f"{module.__name__}: {file_of(module)}"
            for module in modules
            if file_of(module).suffix != ".py"
        ]
        kind = "pure Python modules (.py)"
    assert not wrong, f"expected {kind}, but found:\n" + "\n".join(wrong)


def test_package_init_is_interpreted_in_both_modes() -> None:
    assert file_of(micropie).name == "__init__.py"
