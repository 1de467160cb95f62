"""The ASGI app uvicorn serves in e2e.py: the benchmark app of the row named by BENCH_APP_MODULE.

Every scenario an end-to-end run uses (GET / and GET /json) is served by the suite's app for
the text scenario, which in every framework also routes /json.
"""

import importlib
import os

from asgitypes import ASGIApp

app: ASGIApp = importlib.import_module(os.environ["BENCH_APP_MODULE"]).build().apps["text"]
