"""Hatchling build hook: compiles micropie's modules to C extensions with mypyc.

A regular wheel build type-checks the package with the project's strict ``mypy.ini``,
compiles every module under ``src/micropie`` except the ``__init__.py`` files, links the
extensions in a temporary directory and force-includes them into the wheel, whose tag then
names this interpreter and platform (e.g. ``cp311-cp311-linux_x86_64``).  The ``.py``
sources ship beside the extensions; the import system prefers the extensions.

Editable installs, and builds with ``MICROPIE_PURE=1``, compile nothing: their wheel is
``py3-none-any`` and runs the same source as plain Python.

Build with ``pip wheel . -w dist`` (or ``pyproject-build``, or ``python -P -m build``).  A
plain ``python -m build`` in this directory runs this file instead of the ``build``
package; it then stops with a message instead of silently building nothing.

Rules this file keeps:

- Nothing is linked in place.  An extension left next to its ``.py`` in ``src/`` would
  silently replace the pure module in editable installs and test runs.
- mypy, mypyc and setuptools are imported inside the hook methods: hatchling imports this
  file before it has installed what ``dependencies()`` asks for.
- No C compiler, no compiled build: before mypyc runs, a probe extension is built with
  setuptools' ``build_ext``, which picks the compiler as the real build will (``CC``,
  ``CFLAGS`` and the rest honoured).  If it fails, the build stops with a message naming the
  two ways out (a compiler, or the pure build) instead of falling back silently: a
  ``py3-none-any`` wheel spends two to three times as long in the framework per request, and
  whoever installs should choose that.
- The person building sees what is compiled and how long it took, although installers hide
  a backend's output: progress lines go to the terminal when there is one (``tell_user``).
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.builders.wheel import WheelBuilderConfig

PACKAGE = "micropie"
PURE_SWITCH = "MICROPIE_PURE"
# Equal to the dev extra's pins in pyproject.toml (tests/builds/test_mirrors.py), so the type check
# CI runs is the one the compiler runs.  mypyc's behaviour is only verified within this range.
MYPY_REQUIREMENT = "mypy>=2.4,<2.5"
SETUPTOOLS_REQUIREMENT = "setuptools>=77"
# The extra that lists every optional runtime dependency.  mypyc type-checks every
# import the package makes, so those must be importable in the build environment too.
EVERY_OPTIONAL_FEATURE = "all"


def pure_build_requested() -> bool:
    return os.environ.get(PURE_SWITCH, "") == "1"


class _Terminal:
    lines_written = 0


def tell_user(line: str) -> None:
    """Show one line of build progress where the person building will see it.

    pip captures a build backend's output and shows it only with ``-v`` or after a failure,
    so a line on stderr alone goes unseen through a minute-long compile.  When stderr is not
    a terminal but the build has one (pip in a shell), the line goes to the terminal;
    otherwise (CI, logs, ``python -P -m build``) to stderr, where those show it.
    """
    text = f"micropie build: {line}\n"
    if not sys.stderr.isatty():
        try:
            with open("/dev/tty", "w", encoding="utf-8") as terminal:
                # pip's spinner shares the terminal: the first line leaves pip's own line
                # ("Preparing metadata ... -") intact below it; later ones start with a
                # carriage return that overwrites the one spinner character left since.
                terminal.write(("\r" if _Terminal.lines_written else "\n") + text)
            _Terminal.lines_written += 1
            return
        except OSError:
            pass  # no controlling terminal (CI, a service) or no /dev/tty (Windows)
    sys.stderr.write(text)
    sys.stderr.flush()


def describe_interpreter() -> str:
    return f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})"


# Modules shipped as plain Python, by file name, each with the reason. Every other module is
# compiled: the request path runs through all of them, and compiled they are two to three times
# faster there.
INTERPRETED_MODULES: dict[str, str] = {
    # A package __init__ only re-exports; interpreted, its App is an interpreted subclass of the
    # compiled AppCore, whose instances have a __dict__ for handlers attached at run time.
    "__init__.py": "re-exports, and defines the interpreted App (see docs/mypyc.md)",
    "testing.py": "runs in users' tests, never on a request's path; its clients subclass httpx's, "
    "and a compiled subclass of a Python class checks self by exact type, refusing users' "
    "subclasses of the clients",
    "asgi.py": "type aliases only: no code in it runs",
}


def modules_to_compile(package_dir: Path) -> list[Path]:
    """Every module of the package but those in ``INTERPRETED_MODULES``."""
    return sorted(path for path in package_dir.rglob("*.py") if path.name not in INTERPRETED_MODULES)


# mypyc's runtime forwards an exception thrown into a compiled coroutine to the awaitable it is
# suspended on with the three-argument ``throw(type, value, traceback)``. Python 3.12 and later
# deprecate that form for coroutines, generators and asyncio futures, so every cancellation or
# timeout crossing from compiled code into interpreted code warned, and raised where warnings
# are errors (mypyc/mypyc#1214, open). The interpreter's own ``await`` passes the exception
# alone; the patched runtime does the same on 3.12+. See docs/mypyc.md.
RUNTIME_FILE = "misc_ops.c"
RUNTIME_THROW = "res = PyObject_CallFunctionObjArgs(_m, type, value, traceback, NULL);"
RUNTIME_THROW_PATCHED = """#if PY_VERSION_HEX >= 0x030C0000
            res = PyObject_CallOneArg(_m, value);
#else
            res = PyObject_CallFunctionObjArgs(_m, type, value, traceback, NULL);
#endif"""


def use_patched_runtime(extensions: list[Any], patched_dir: Path) -> None:
    """Compile ``extensions`` against a copy of mypyc's runtime with the ``throw()`` fix.

    The generated C ``#include``s the runtime's ``.c`` files through the include path, so a
    patched copy listed in place of the original is what gets compiled.
    """
    from mypyc.build import include_dir

    original = Path(include_dir())
    shutil.copytree(original, patched_dir)
    runtime_file = patched_dir / RUNTIME_FILE
    text = runtime_file.read_text(encoding="utf-8")
    if text.count(RUNTIME_THROW) != 1:
        raise RuntimeError(
            f"mypyc's {RUNTIME_FILE} no longer holds the three-argument throw() call this build "
            f"patches ({RUNTIME_THROW!r}); check whether this mypy still needs the patch "
            "(see docs/mypyc.md) and update build.py"
        )
    runtime_file.write_text(text.replace(RUNTIME_THROW, RUNTIME_THROW_PATCHED), encoding="utf-8")
    for extension in extensions:
        extension.include_dirs = [
            str(patched_dir / Path(directory).relative_to(original))
            if Path(directory).is_relative_to(original)
            else directory
            for directory in extension.include_dirs
        ]


def build_extensions(extensions: list[Any], workdir: Path) -> dict[str, str]:
    """Compile and link ``extensions`` with setuptools' ``build_ext`` under ``workdir``.

    Returns a map of each built file to its path relative to the build's library directory.
    """
    from setuptools import Distribution
    from setuptools.command.build_ext import build_ext

    command = build_ext(Distribution({"name": PACKAGE, "ext_modules": extensions}))
    command.inplace = False
    command.build_lib = str(workdir / "lib")
    command.build_temp = str(workdir / "temp")
    command.ensure_finalized()
    command.run()

    lib = Path(command.build_lib)
    return {output: Path(output).relative_to(lib).as_posix() for output in command.get_outputs()}


# The smallest extension module: it needs the compiler, Python's headers and the linker, as
# every module mypyc generates does.
COMPILER_PROBE = """#include <Python.h>

static struct PyModuleDef probe = {PyModuleDef_HEAD_INIT, "micropie_compiler_probe", NULL, -1, NULL};

PyMODINIT_FUNC PyInit_micropie_compiler_probe(void) { return PyModule_Create(&probe); }
"""


def c_compiler_problem(workdir: Path) -> str | None:
    """Why no extension module can be built here, or ``None`` when one can.

    Builds a probe extension in ``workdir`` exactly as the real build will: setuptools'
    ``build_ext`` chooses the compiler, honouring ``CC``, ``CFLAGS``, ``LDSHARED`` and the
    rest of the environment.  Any failure (no compiler, a broken one, no ``Python.h``) is
    reported as the message that ends the build.
    """
    from setuptools import Extension

    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "micropie_compiler_probe.c"
    source.write_text(COMPILER_PROBE, encoding="ascii")
    probe = Extension("micropie_compiler_probe", [str(source)])
    try:
        build_extensions([probe], workdir)
    except Exception as error:  # CompileError, LinkError, DistutilsExecError, no MSVC, ...
        compiler = f"CC={os.environ['CC']}" if "CC" in os.environ else "the default; CC chooses another"
        return (
            f"micropie's compiled build needs a working C compiler and Python's headers, and "
            f"building a test extension failed ({type(error).__name__}: {error}; compiler: "
            f"{compiler}).\n"
            "Either install them (Debian/Ubuntu: apt-get install gcc python3-dev; Fedora: dnf "
            "install gcc python3-devel; macOS: xcode-select --install), or install the pure-Python "
            "build, which runs the same code more slowly and needs no compiler:\n"
            f"  {PURE_SWITCH}=1 pip install <this sdist or checkout>\n"
            "  or the py3-none-any wheel: pip install --find-links <its directory> micropie"
        )
    return None


def compile_extensions(root: Path, sources: list[Path], workdir: Path) -> dict[str, str]:
    """Compile ``sources`` into ``workdir``; map each built file to its path in the wheel.

    The map includes mypyc's shared library (``<hash>__mypyc.<abi suffix>``), which holds
    the code of all modules and is imported as a top-level module by each module's shim.
    """
    from mypyc.build import mypycify

    started = time.monotonic()
    extensions = mypycify(
        # The project's config brings strict mode and mypy_path (the stubs) along;
        # mypyc refuses to compile code that mypy reports anything about.
        ["--config-file", str(root / "mypy.ini"), *(str(path) for path in sources)],
        opt_level="3",
        target_dir=str(workdir / "c"),
    )
    use_patched_runtime(extensions, workdir / "lib-rt")
    translated = time.monotonic()
    tell_user(f"type-checked and translated to C in {translated - started:.0f} s; compiling the C")

    built = build_extensions(extensions, workdir)
    if len(built) != len(extensions):
        raise RuntimeError(f"expected {len(extensions)} extensions, built {sorted(built)}")
    tell_user(f"C compiled and linked in {time.monotonic() - translated:.0f} s")
    return built


class NoCompiler(Exception):
    """The compiled build cannot run here; the message says what to do instead."""


class MypycBuildHook(BuildHookInterface[WheelBuilderConfig]):
    _workdir: Path | None = None

    def dependencies(self) -> list[str]:
        if pure_build_requested():
            return []
        core = self.metadata.core
        return [
            MYPY_REQUIREMENT,
            SETUPTOOLS_REQUIREMENT,
            *core.dependencies,
            *core.optional_dependencies.get(EVERY_OPTIONAL_FEATURE, []),
        ]

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable" or pure_build_requested():
            return

        root = Path(self.root)
        sources = modules_to_compile(root / "src" / PACKAGE)
        if not sources:
            raise RuntimeError(f"no modules to compile under {root / 'src' / PACKAGE}")

        workdir = Path(tempfile.mkdtemp(prefix=f"{PACKAGE}-mypyc-"))
        try:
            problem = c_compiler_problem(workdir / "probe")
            if problem is not None:
                raise NoCompiler(problem)
            started = time.monotonic()
            tell_user(
                f"compiling {len(sources)} modules with mypyc for {describe_interpreter()}; "
                f"this takes a minute or two ({PURE_SWITCH}=1 builds the pure wheel instead)"
            )
            built = compile_extensions(root, sources, workdir)
            tell_user(f"compiled {len(sources)} modules in {time.monotonic() - started:.0f} s")
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        # hatchling copies these into the wheel after initialize() returns, so the
        # directory must outlive this call; finalize() removes it.
        self._workdir = workdir

        build_data["force_include"].update(built)
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None


if __name__ == "__main__":
    sys.exit(
        "build.py is micropie's hatchling build hook, not the `build` package that "
        "`python -m build` meant to run. Build with `pip wheel . -w dist`, "
        "`pyproject-build` or `python -P -m build`."
    )
