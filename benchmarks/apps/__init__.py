"""The apps under test: the same routes in every framework, and the wrapper e2e.py serves.

Rules:
- Each framework's module offers `build() -> Suite` (benchlib/suite.py) serving the scenarios
  of benchlib/scenarios.py, written the way that framework's documentation writes an app;
  `build_upload()` and `build_routes(count)` for scaling.py where the framework has them.
- A module here imports its framework and the benchlib modules the apps share (the ASGI
  vocabulary, the scenarios, the suite), nothing else of the harness: it runs in the row's
  environment, where nothing else may be installed.
- A module is named for its framework and reached only as `apps.<name>`, never with apps/ on
  `sys.path`, where `apps/micropie.py` would shadow the `micropie` it measures.
"""
