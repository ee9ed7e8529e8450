"""One benchmark process in the Lambda shape: import handlers as the runtime does, invoke them.

`cold DIR MODULE.FUNCTION`: put DIR first on sys.path (Lambda's /var/task), import the handler,
serve one chat event, print its status. The parent times spawn to that line.
`warm BUNDLE PORT WARMUP REQUESTS`: load the floor and the gateway's handler, then alternate
requests between them and the gateway's HTTP server on PORT (the Web Adapter path), so drift
hits all three alike; print µs per request of each as JSON.
The gateway's log lines go to /dev/null; results go to the original stdout.
"""

from __future__ import annotations

import http.client
import importlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
Handler = Callable[[dict[str, Any], object], dict[str, Any]]


def chat_event(body: str) -> dict[str, Any]:
    """The REST API proxy event API Gateway sends for a chat request."""
    return {
        "resource": "/{proxy+}",
        "path": "/v1/chat/completions",
        "httpMethod": "POST",
        "headers": {"content-type": "application/json", "x-api-key": "bench"},
        "multiValueHeaders": {
            "content-type": ["application/json"],
            "x-api-key": ["bench"],
        },
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "requestContext": {"identity": {"sourceIp": "10.0.0.1"}, "stage": "v1"},
        "body": body,
        "isBase64Encoded": False,
    }


def load_handler(directory: str, dotted: str) -> Handler:
    """Import `module.function` from `directory` as the Lambda runtime imports the handler."""
    sys.path.insert(0, directory)
    module_name, _, function_name = dotted.rpartition(".")
    handler: Handler = getattr(importlib.import_module(module_name), function_name)
    return handler


def cold(directory: str, dotted: str, body: str, out: Any) -> None:
    """Import and serve one request; report the status."""
    result = load_handler(directory, dotted)(chat_event(body), None)
    out.write(f"{result['statusCode']}\n")
    out.flush()


def warm(bundle: str, port: int, warmup: int, requests: int, body: str, out: Any) -> None:
    """Alternate floor, in-process gateway and HTTP gateway requests; report µs of each."""
    floor = load_handler(str(BENCH_DIR), "floor_handler.handler")
    gateway = load_handler(bundle, "gateway.lambda_handler.handler")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"content-type": "application/json", "x-api-key": "bench"}
    event = chat_event(body)
    samples: dict[str, list[float]] = {"floor": [], "gateway": [], "http": []}

    def over_http() -> int:
        connection.request("POST", "/v1/chat/completions", body, headers)
        response = connection.getresponse()
        response.read()
        return response.status

    calls: dict[str, Callable[[], int]] = {
        "floor": lambda: int(floor(event, None)["statusCode"]),
        "gateway": lambda: int(gateway(event, None)["statusCode"]),
        "http": over_http,
    }
    for index in range(warmup + requests):
        for name, call in calls.items():
            started = time.perf_counter()
            status = call()
            elapsed = (time.perf_counter() - started) * 1e6
            if status != 200:
                raise SystemExit(f"{name} answered {status}")
            if index >= warmup:
                samples[name].append(elapsed)
    out.write(json.dumps(samples) + "\n")
    out.flush()


def main() -> None:
    """Dispatch on the first argument; keep the real stdout for results only."""
    out = os.fdopen(os.dup(1), "w")
    sys.stdout = Path(os.devnull).open("w")  # noqa: SIM115 - for the whole process
    body = os.environ["BENCH_CHAT_BODY"]
    if sys.argv[1] == "cold":
        cold(sys.argv[2], sys.argv[3], body, out)
    else:
        warm(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), body, out)


if __name__ == "__main__":
    main()
