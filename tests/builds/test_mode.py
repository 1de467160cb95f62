"""The suite runs twice (.ci/run): against src/ as plain Python, and against the installed
mypyc-compiled wheel.  These tests fail a run whose modules are not the kind its mode
promises, so a "compiled" run that silently imported pure code cannot pass, nor the reverse.

MICROPIE_EXPECT_COMPILED: "1" expects the compiled wheel; "0" or unset expects pure Python.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest
from project import SOURCE_TREE, build_hook

import micropie

EXTENSION_SUFFIXES = tuple(importlib.machinery.EXTENSION_SUFFIXES)


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


def source_name(path: Path) -> str:
    """The source file a module comes from: ``dispatch.py`` for ``dispatch.cpython-311-….so``."""
    return path.name.split(".")[0] + ".py"


def interpreted_by_design() -> dict[str, str]:
    """build.py's ``INTERPRETED_MODULES``: the modules no build compiles, by file name."""
    listed: dict[str, str] = build_hook().INTERPRETED_MODULES
    return listed


def test_every_module_is_of_the_kind_its_build_promises() -> None:
    modules = core_modules()
    assert modules, "found no micropie modules"
    interpreted = interpreted_by_design()
    wrong = []
    for module in [micropie, *modules]:
        path = file_of(module)
        if expect_compiled() and source_name(path) not in interpreted:
            if not is_extension(path) or path.is_relative_to(SOURCE_TREE):
                wrong.append(f"{module.__name__}: {path} (expected an extension module outside src/)")
        elif path.suffix != ".py":
            wrong.append(f"{module.__name__}: {path} (expected plain Python)")
    assert not wrong, "\n".join(wrong)


def test_every_module_left_interpreted_exists_and_says_why() -> None:
    names = {source_name(file_of(module)) for module in [micropie, *core_modules()]}
    for name, reason in interpreted_by_design().items():
        assert name in names, f"build.py leaves {name} interpreted, but micropie has no such module"
        assert len(reason) > 20, f"build.py gives no real reason for leaving {name} interpreted"
