"""What a cold start loads: only the code of the route it serves.

Lambda compiles every module it imports at a cold start (its code directory is read-only), so
each one shows in the cold-start ratio (bench/README.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lambdas.gateway.routes import ImportedOnFirstUse, routes
from tests.conftest import routing_json

ROOT = Path(__file__).resolve().parents[2]
ROUTE_MODULES = (
    "completions",
    "chat",
    "embeddings",
    "images",
    "passthrough",
    "compare",
    "responses_api",
    "responses_stream",
    "usage_route",
)

LOADED_AFTER_IMPORT = """
import json, sys
import lambdas.gateway.lambda_handler
print(json.dumps(sorted(sys.modules)))
"""


def test_every_lazily_imported_handler_resolves_to_a_function() -> None:
    lazy = [route.handler for route in routes() if isinstance(route.handler, ImportedOnFirstUse)]
    assert len(lazy) == len(routes()) - 1  # all but /health
    for handler in lazy:
        assert callable(handler.resolve()), f"{handler.module}.{handler.function}"


def test_the_lambda_handler_imports_no_route_server_or_event_loop_before_a_request() -> None:
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "GATEWAY_ROUTING": routing_json(["amazon.nova-micro-v1:0"]),
        "GATEWAY_AUTH": "api-gateway",
    }
    done = subprocess.run(
        [sys.executable, "-c", LOADED_AFTER_IMPORT],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    loaded = set(json.loads(done.stdout))
    assert "lambdas.gateway.core" in loaded
    unwanted = {f"lambdas.gateway.{name}" for name in ROUTE_MODULES}
    unwanted |= {"asyncio", "uvicorn", "boto3", "botocore"}
    assert not unwanted & loaded, sorted(unwanted & loaded)
