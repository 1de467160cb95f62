"""The benchmarks' ASGI vocabulary: micropie's own, read from src/micropie/asgi.py.

Rules:
- One vocabulary: every alias here is src/micropie/asgi.py's, re-exported, never spelled again
  in benchmarks/. A name the benchmarks lack belongs in that file first.
- Read from the file, not imported as `micropie.asgi`: a row's environment has our compiled
  wheel, our src/, or PyPI's MicroPie (a single module, with no `micropie.asgi`) under the name
  `micropie`, and the harness must work the same in each, without importing that `micropie`
  before the row's app does. The file imports only the standard library, so it runs on its own
  anywhere; if it ever imports `micropie`, loading it here fails at once in PyPI's rows.
- Nothing is written into src/: the file is compiled in memory, with no bytecode cache beside
  it (run.py keeps the source tree as it was).
- mypy reads the same names from `micropie.asgi` (src/ on its path), so the types it checks are
  the ones the harness runs with.
"""

import sys
from types import ModuleType
from typing import TYPE_CHECKING

from benchlib.paths import SRC

__all__ = ["ASGIApp", "Message", "Receive", "Scope", "Send"]

VOCABULARY_FILE = SRC / "micropie" / "asgi.py"
# Its own name, never `micropie.asgi`, which belongs to whichever `micropie` the row imports.
_MODULE_NAME = "benchlib.micropie_asgi"


def _load_vocabulary() -> ModuleType:
    module = ModuleType(_MODULE_NAME)
    module.__file__ = str(VOCABULARY_FILE)
    # Registered so that whatever looks a definition's module up by name (typing, dataclasses)
    # finds it, as it would for an imported module.
    sys.modules[_MODULE_NAME] = module
    code = compile(VOCABULARY_FILE.read_text(encoding="utf-8"), str(VOCABULARY_FILE), "exec")
    exec(code, module.__dict__)
    return module


if TYPE_CHECKING:
    from micropie.asgi import ASGIApp, Message, Receive, Scope, Send
else:
    _vocabulary = _load_vocabulary()
    ASGIApp = _vocabulary.ASGIApp
    Message = _vocabulary.Message
    Receive = _vocabulary.Receive
    Scope = _vocabulary.Scope
    Send = _vocabulary.Send
