"""build.py's C compiler check: where no working compiler is found, the compiled build stops
before mypyc runs, with a message naming the pure build (docs/guides/compiled-or-pure.md).

The check builds a probe extension with setuptools' ``build_ext``, the command that later
builds the real extensions, so it chooses the compiler as they would and honours ``CC``.
scripts/build-wheels checks the same end to end: pip, the sdist and ``CC=/nonexistent/cc``.
"""

from pathlib import Path
from typing import Any

import pytest
from project import ROOT, build_hook



@pytest.mark.parametrize("compiler", ["/nonexistent/cc", "false"], ids=["missing", "runs but fails"])
def test_a_compiler_that_does_not_work_is_named_with_the_ways_out(
    compiler: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CC", compiler)
    problem = build_hook().c_compiler_problem(tmp_path)
    assert problem is not None
    assert "needs a working C compiler" in problem
    assert f"CC={compiler}" in problem
    assert "MICROPIE_PURE=1 pip install" in problem
    assert "py3-none-any" in problem
    if compiler.startswith("/"):
        assert compiler in problem.split("CC=")[0]  # the error itself, not only our echo of CC


def test_the_compiler_of_this_machine_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The compiled build runs on this machine (CI builds it here), so the check must pass.
    monkeypatch.delenv("CC", raising=False)
    assert build_hook().c_compiler_problem(tmp_path) is None


def test_the_build_stops_before_compiling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC", "/nonexistent/cc")
    monkeypatch.delenv("MICROPIE_PURE", raising=False)
    module = build_hook()
    hook = module.MypycBuildHook(str(ROOT), {}, None, None, str(tmp_path), "wheel")
    build_data: dict[str, Any] = {"force_include": {}}
    with pytest.raises(module.NoCompiler, match="MICROPIE_PURE=1 pip install"):
        hook.initialize("standard", build_data)
    assert build_data == {"force_include": {}}
