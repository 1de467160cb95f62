"""Where the benchmarks and the repository they measure are.

Rules:
- Every path into the repository is derived here, from this file's place, so that a script
  runs from any working directory and no module counts parent directories on its own.
"""

from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO = BENCH_DIR.parent
# Our pure row imports `micropie` from here.
SRC = REPO / "src"
