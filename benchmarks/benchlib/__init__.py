"""The benchmarks' library: what the entry scripts (the `*.py` files beside this folder) and
the apps under test (apps/) share. Nothing in it is run on its own.

Rules:
- Imports go one way: entry scripts and apps import from here; modules here import the standard
  library and each other, never an entry script or an app module.
- Every module may be imported inside a row's environment (a worker, a served app), which holds
  only that row's framework and its dependencies: so only the standard library at module level.
"""
