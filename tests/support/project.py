"""The repository as tests reach it: its paths, build.py and the examples loaded by path, and
strict mypy run over a folder as a user would run it.

Rules:
- Paths are derived here once; test modules never count ``parents[...]`` themselves.
- build.py and the examples are loaded from their files, never imported by name: the tests run
  with ``-P``, and ``import build`` could find the ``build`` package instead.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from micropie import App

ROOT = Path(__file__).resolve().parents[2]
SOURCE_TREE = ROOT / "src"
TESTS = ROOT / "tests"
SUPPORT = TESTS / "support"
APPS = SUPPORT / "apps"
EXAMPLES = ROOT / "examples"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def build_hook() -> ModuleType:
    """build.py, the hatchling hook that compiles the package."""
    return _load("micropie_build_hook", ROOT / "build.py")


def example(name: str) -> App:
    """A new instance of ``examples/<name>.py``'s ``app``, from a fresh import of the module."""
    app = _load(f"examples_{name}", EXAMPLES / f"{name}.py").app
    assert isinstance(app, App)
    return app


def run_mypy(directory: Path, cache: Path, *files: str) -> subprocess.CompletedProcess[str]:
    """``mypy --strict`` over ``files`` in ``directory``, against the installed package only."""
    config = directory / "mypy.ini"
    config.write_text("[mypy]\n")
    environment = {
        name: value for name, value in os.environ.items() if name not in ("MYPYPATH", "PYTHONPATH")
    }
    command = [sys.executable, "-m", "mypy", "--strict", "--config-file", str(config),
               "--cache-dir", str(cache), "--show-error-codes", "--no-color-output", *files]
    return subprocess.run(command, cwd=directory, env=environment, capture_output=True, text=True,
                          timeout=300)
