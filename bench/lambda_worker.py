"""One benchmark process in the Lambda shape: import handlers as the runtime does, invoke them.

`cold DIR MODULE.FUNCTION`: put DIR first on sys.path (Lambda's /var/task), import the handler,
serve one chat event, print its status. The parent times spawn to that line.
`ttfb RUNS`: time boto3 ConverseStream to its first text delta (the streaming floor).
`warm BUNDLE PORT WARMUP REQUESTS`: load the floor and the gateway's handler, then alternate
requests, in random order, between the floor and the handler, then between the floor and the
gateway's HTTP server on PORT (the Web Adapter path), so drift hits both sides alike; print µs
per request of each as JSON.
The chat body and API Gateway's request context come from BENCH_CHAT_BODY and
BENCH_REQUEST_CONTEXT (bench/run.py). The gateway's log lines go to /dev/null; results go to
the original stdout.
"""

from __future__ import annotations

import http.client
import importlib
import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
# Long enough for the server to write its log line after answering (about 0.1 ms of work).
IDLE_AFTER_HTTP_SECONDS = 0.002
Handler = Callable[[dict[str, Any], object], dict[str, Any]]


def chat_event(body: str, context: str) -> dict[str, Any]:
    """The REST API proxy event API Gateway sends for a chat request (`context`: its JSON)."""
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
        "requestContext": json.loads(context),
        "body": body,
        "isBase64Encoded": False,
    }


def load_handler(directory: str, dotted: str) -> Handler:
    """Import `module.function` from `directory` as the Lambda runtime imports the handler."""
    sys.path.insert(0, directory)
    module_name, _, function_name = dotted.rpartition(".")
    handler: Handler = getattr(importlib.import_module(module_name), function_name)
    return handler


def cold(directory: str, dotted: str, body: str, context: str, out: Any) -> None:
    """Import and serve one request; report the status."""
    result = load_handler(directory, dotted)(chat_event(body, context), None)
    out.write(f"{result['statusCode']}\n")
    out.flush()


def warm(
    bundle: str, port: int, warmup: int, requests: int, body: str, context: str, out: Any
) -> None:
    """µs per request of the floor, the gateway's handler and the gateway over HTTP.

    Two phases, each against the floor in random order every round: the handler, then HTTP.
    The server finishes its work (the log line) after its answer, so after an HTTP request the
    worker waits for it to go idle: otherwise whatever ran next would pay for it.
    """
    floor = load_handler(str(BENCH_DIR), "floor_handler.handler")
    gateway = load_handler(bundle, "gateway.lambda_handler.handler")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    # The Web Adapter forwards the event's requestContext in this header.
    headers = {
        "content-type": "application/json",
        "x-api-key": "bench",
        "x-amzn-request-context": context,
    }
    event = chat_event(body, context)

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
    samples: dict[str, list[float]] = {"floor": [], "gateway": [], "http_floor": [], "http": []}
    shuffle = random.Random(7).shuffle  # noqa: S311 - an order, not a secret
    for phase in ("gateway", "http"):
        floor_key = "floor" if phase == "gateway" else "http_floor"
        for index in range(warmup + requests):
            order = ["floor", phase]
            shuffle(order)
            for name in order:
                started = time.perf_counter()
                status = calls[name]()
                elapsed = (time.perf_counter() - started) * 1e6
                if status != 200:
                    raise SystemExit(f"{name} answered {status}")
                if index >= warmup:
                    samples[floor_key if name == "floor" else name].append(elapsed)
                if name == "http":
                    time.sleep(IDLE_AFTER_HTTP_SECONDS)
    out.write(json.dumps(samples) + "\n")
    out.flush()


def ttfb(runs: int, body: str, out: Any) -> None:
    """Ms from calling ConverseStream with boto3 to its first text delta, `runs` times."""
    import boto3

    request = json.loads(body)
    messages: Any = [
        {"role": m["role"], "content": [{"text": m["content"]}]} for m in request["messages"]
    ]
    client = boto3.client("bedrock-runtime")
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        stream = client.converse_stream(modelId=request["model"], messages=messages)["stream"]
        for event in stream:
            if "contentBlockDelta" in event:
                samples.append((time.perf_counter() - started) * 1000)
                break
        stream.close()
    out.write(json.dumps(samples) + "\n")
    out.flush()


def main() -> None:
    """Dispatch on the first argument; keep the real stdout for results only."""
    out = os.fdopen(os.dup(1), "w")
    sys.stdout = Path(os.devnull).open("w")  # noqa: SIM115 - for the whole process
    body = os.environ["BENCH_CHAT_BODY"]
    context = os.environ["BENCH_REQUEST_CONTEXT"]
    if sys.argv[1] == "cold":
        cold(sys.argv[2], sys.argv[3], body, context, out)
    elif sys.argv[1] == "ttfb":
        ttfb(int(sys.argv[2]), body, out)
    else:
        args = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        warm(*args, body, context, out)


if __name__ == "__main__":
    main()
