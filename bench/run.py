"""Benchmark the gateway against the raw boto3 floor, side by side in one run (ratios, not ms).

Measures, against the same local Bedrock emulator on loopback:
- cold start: a fresh process imports the code and serves its first chat request;
- warm overhead: per-request latency after warm-up;
- the Lambda asset's zipped size.
Goals (DEVELOPERS.md): cold <= 1.5x floor, warm <= 1.3x floor, asset < 5 MiB zipped.
Run with `make bench`; results also go to bench/results/latest.json.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lambdas.gateway.routing import Routing  # noqa: E402
from local.emulator import start_emulator  # noqa: E402
from model_catalog import all_models  # noqa: E402
from stacks.components.gateway_bundle import build_gateway_bundle  # noqa: E402

MODEL = "amazon.nova-micro-v1:0"
# As synthesis writes it: the enabled model's spec travels with the routing.
ROUTING = Routing(
    enabled=(all_models()[MODEL],), aliases={}, geography=None, known_ids=frozenset(all_models())
).to_json()
CHAT_BODY = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "Hello"}]})
COLD_RUNS = int(os.environ.get("BENCH_COLD_RUNS", "10"))
WARM_REQUESTS = int(os.environ.get("BENCH_WARM_REQUESTS", "1000"))
WARMUP = 100

FLOOR_COLD = """
import time, json
start = time.perf_counter()
import boto3
client = boto3.client("bedrock-runtime")
def handler(event):
    messages = [{"role": "user", "content": [{"text": "Hello"}]}]
    r = client.converse(modelId=event["model"], messages=messages)
    return {"statusCode": 200, "body": json.dumps(r["output"])}
handler({"model": "__MODEL__"})
print((time.perf_counter() - start) * 1000, flush=True)
""".replace("__MODEL__", MODEL)

GATEWAY_COLD = """
import asyncio, os, time
start = time.perf_counter()
from lambdas.gateway.app import GatewayApp
from lambdas.gateway.settings import Settings
app = GatewayApp(Settings.from_env(os.environ))
body = __BODY__.encode()
sent = []
async def receive():
    return {"type": "http.request", "body": body, "more_body": False}
async def send(message):
    sent.append(message)
scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions",
         "headers": [(b"authorization", b"Bearer bench")]}
asyncio.run(app(scope, receive, send))
assert sent[0]["status"] == 200, sent
print((time.perf_counter() - start) * 1000, flush=True)
""".replace("__BODY__", repr(CHAT_BODY))


def free_port() -> int:
    """Return a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_env(emulator_url: str) -> dict[str, str]:
    """Environment shared by every measured process."""
    return {
        **os.environ,
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": emulator_url,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "GATEWAY_ROUTING": ROUTING,
        "GATEWAY_API_KEY": "bench",
        # As the stacks configure the Lambda: one request at a time, no thread hand-off.
        "GATEWAY_THREADED_CALLS": "false",
        "PYTHONPATH": str(ROOT),
    }


def cold_once(code: str, env: dict[str, str]) -> float:
    """Run `code` in a fresh interpreter; ms from spawn until it reports its first answer.

    The clock stops when the answer line arrives, not at process exit, so this compares
    with the server path, which is timed to its first response.
    """
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    elapsed = (time.perf_counter() - started) * 1000
    process.wait()
    assert process.returncode == 0 and line.strip(), "cold-start script failed"
    return elapsed


def spawn_gateway(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """Start the gateway server as the Web Adapter does, on `port`."""
    return subprocess.Popen(
        [sys.executable, "-m", "lambdas.gateway.server"],
        env={**env, "PORT": str(port)},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def cold_uvicorn_once(env: dict[str, str]) -> float:
    """Spawn the server as the Web Adapter does; ms from spawn to the first chat answer."""
    port = free_port()
    started = time.perf_counter()
    process = spawn_gateway(env, port)
    try:
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request(
                    "POST",
                    "/v1/chat/completions",
                    CHAT_BODY,
                    {"authorization": "Bearer bench", "content-type": "application/json"},
                )
                response = connection.getresponse()
                response.read()
                assert response.status == 200, response.status
                return (time.perf_counter() - started) * 1000
            except ConnectionRefusedError:
                time.sleep(0.002)
    finally:
        process.terminate()
        process.wait()


def floor_client(emulator_url: str) -> Any:
    """A plain boto3 bedrock-runtime client on the emulator, as the floor handler uses."""
    import boto3

    return boto3.client(
        "bedrock-runtime",
        endpoint_url=emulator_url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 - the emulator ignores credentials
    )


def warm_floor(emulator_url: str) -> list[float]:
    """Per-request µs of the bare boto3 converse call."""
    client = floor_client(emulator_url)
    messages: Any = [{"role": "user", "content": [{"text": "Hello"}]}]
    samples = []
    for index in range(WARMUP + WARM_REQUESTS):
        started = time.perf_counter()
        client.converse(modelId=MODEL, messages=messages)
        if index >= WARMUP:
            samples.append((time.perf_counter() - started) * 1e6)
    return samples


def warm_gateway_http(env: dict[str, str]) -> list[float]:
    """Per-request µs through uvicorn over HTTP (client included), as behind the Web Adapter."""
    port = free_port()
    process = spawn_gateway(env, port)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        headers = {"authorization": "Bearer bench", "content-type": "application/json"}
        samples = []
        index = 0
        while index < WARMUP + WARM_REQUESTS:
            try:
                started = time.perf_counter()
                connection.request("POST", "/v1/chat/completions", CHAT_BODY, headers)
                response = connection.getresponse()
                response.read()
            except (ConnectionRefusedError, http.client.RemoteDisconnected):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                time.sleep(0.01)
                continue
            assert response.status == 200, response.status
            if index >= WARMUP:
                samples.append((time.perf_counter() - started) * 1e6)
            index += 1
        return samples
    finally:
        process.terminate()
        process.wait()


def warm_gateway_in_process(emulator_url: str) -> list[float]:
    """Per-request µs of the ASGI app called directly: the gateway's own cost, no HTTP hop."""
    import asyncio

    from lambdas.gateway import app as app_module
    from lambdas.gateway.app import GatewayApp
    from lambdas.gateway.settings import Settings

    env = bench_env(emulator_url)
    # In this process boto3 reads its endpoint and credentials from the real environment.
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
    application = GatewayApp(Settings.from_env(env))
    # The per-request log line goes to stdout; the HTTP measurement discards it too.
    app_module.write_record = lambda record, stream=None: None  # type: ignore[attr-defined]
    body = CHAT_BODY.encode()
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/chat/completions",
        "headers": [(b"authorization", b"Bearer bench")],
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def run() -> list[float]:
        samples = []
        statuses: list[int] = []

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(int(message["status"]))  # type: ignore[call-overload]

        for index in range(WARMUP + WARM_REQUESTS):
            started = time.perf_counter()
            await application(scope, receive, send)  # type: ignore[arg-type]
            if index >= WARMUP:
                samples.append((time.perf_counter() - started) * 1e6)
        assert set(statuses) == {200}, set(statuses)
        return samples

    return asyncio.run(run())


STREAM_CHUNK_DELAY_MS = 20
TTFB_RUNS = int(os.environ.get("BENCH_TTFB_RUNS", "30"))


def ttfb_floor(emulator_url: str) -> list[float]:
    """Ms from calling ConverseStream with boto3 to its first text delta."""
    client = floor_client(emulator_url)
    messages: Any = [{"role": "user", "content": [{"text": "Hello"}]}]
    samples = []
    for _ in range(TTFB_RUNS):
        started = time.perf_counter()
        stream = client.converse_stream(modelId=MODEL, messages=messages)["stream"]
        for event in stream:
            if "contentBlockDelta" in event:
                samples.append((time.perf_counter() - started) * 1000)
                break
        stream.close()
    return samples


def ttfb_gateway(env: dict[str, str]) -> list[float]:
    """Ms from sending a streamed chat request to the gateway to its first content chunk."""
    port = free_port()
    process = spawn_gateway(env, port)
    body = json.dumps(
        {"model": MODEL, "messages": [{"role": "user", "content": "Hello"}], "stream": True}
    )
    headers = {"authorization": "Bearer bench", "content-type": "application/json"}
    samples: list[float] = []
    try:
        while len(samples) < TTFB_RUNS:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                started = time.perf_counter()
                connection.request("POST", "/v1/chat/completions", body, headers)
                response = connection.getresponse()
                while True:
                    line = response.readline()
                    if b'"content":"' in line and b'"content":""' not in line:
                        samples.append((time.perf_counter() - started) * 1000)
                        break
                    if not line:
                        raise AssertionError("stream ended without content")
                # Read to the end: the gateway (one request at a time, as in Lambda) finishes
                # the stream before it serves the next request.
                response.read()
                connection.close()
            except ConnectionRefusedError:
                time.sleep(0.01)
        return samples
    finally:
        process.terminate()
        process.wait()


def asset_zip_bytes() -> int:
    """Zip the gateway bundle as CDK would and return its size."""
    with tempfile.TemporaryDirectory() as folder:
        bundle = Path(folder) / "bundle"
        build_gateway_bundle(ROOT / "lambdas" / "gateway", bundle, routing_json=ROUTING)
        archive = Path(folder) / "asset.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in sorted(bundle.rglob("*")):
                zipped.write(path, path.relative_to(bundle))
        return archive.stat().st_size


def p99(samples: list[float]) -> float:
    """Return the 99th percentile."""
    return statistics.quantiles(samples, n=100)[98]


def main() -> int:
    """Run every measurement, print the table and write bench/results/latest.json."""
    emulator = start_emulator()
    env = bench_env(emulator.url)
    # Warm the page cache and bytecode caches once so the runs compare like with like.
    cold_once(FLOOR_COLD, env)
    cold_once(GATEWAY_COLD, env)
    floor_cold, gateway_cold, uvicorn_cold = [], [], []
    for _ in range(COLD_RUNS):  # interleaved: drift hits both sides alike
        floor_cold.append(cold_once(FLOOR_COLD, env))
        gateway_cold.append(cold_once(GATEWAY_COLD, env))
        uvicorn_cold.append(cold_uvicorn_once(env))
    floor_warm = warm_floor(emulator.url)
    gateway_warm = warm_gateway_http(env)
    in_process_warm = warm_gateway_in_process(emulator.url)
    # Paced chunks, as a model produces them: the first one leaves the emulator after a delay.
    emulator.stream_chunk_delay_ms = STREAM_CHUNK_DELAY_MS
    floor_ttfb = ttfb_floor(emulator.url)
    gateway_ttfb = ttfb_gateway(env)
    emulator.stop()

    cold: dict[str, float] = {
        "floor_median": statistics.median(floor_cold),
        "gateway_in_process_median": statistics.median(gateway_cold),
        "gateway_uvicorn_median": statistics.median(uvicorn_cold),
    }
    warm: dict[str, float] = {
        "floor_median": statistics.median(floor_warm),
        "floor_p99": p99(floor_warm),
        "gateway_http_median": statistics.median(gateway_warm),
        "gateway_http_p99": p99(gateway_warm),
        "gateway_in_process_median": statistics.median(in_process_warm),
        "gateway_in_process_p99": p99(in_process_warm),
    }
    ratios = {
        "cold_in_process": cold["gateway_in_process_median"] / cold["floor_median"],
        "cold_uvicorn": cold["gateway_uvicorn_median"] / cold["floor_median"],
        "warm_http": warm["gateway_http_median"] / warm["floor_median"],
        "warm_in_process": warm["gateway_in_process_median"] / warm["floor_median"],
    }
    size = asset_zip_bytes()
    ttfb = {
        "floor_median_ms": statistics.median(floor_ttfb),
        "gateway_median_ms": statistics.median(gateway_ttfb),
    }
    ttfb["overhead_ms"] = ttfb["gateway_median_ms"] - ttfb["floor_median_ms"]
    results = {
        "cold_ms": cold,
        "warm_us": warm,
        "ratios": ratios,
        "ttfb": ttfb,
        "asset_zip_bytes": size,
    }
    print(f"cold start (median of {COLD_RUNS}, fresh process, import + first chat request)")
    print(f"  raw boto3 floor            {cold['floor_median']:8.1f} ms   1.00x")
    print(
        f"  gateway, in-process ASGI   {cold['gateway_in_process_median']:8.1f} ms"
        f"   {ratios['cold_in_process']:.2f}x  (goal <= 1.5x)"
    )
    print(
        f"  gateway, uvicorn over HTTP {cold['gateway_uvicorn_median']:8.1f} ms"
        f"   {ratios['cold_uvicorn']:.2f}x  (Web Adapter path)"
    )
    print(f"warm (median / p99 of {WARM_REQUESTS} after {WARMUP} warm-up requests)")
    print(f"  raw boto3 floor            {warm['floor_median']:8.0f} / {warm['floor_p99']:.0f} µs")
    print(
        f"  gateway over HTTP          {warm['gateway_http_median']:8.0f} /"
        f" {warm['gateway_http_p99']:.0f} µs   {ratios['warm_http']:.2f}x  (goal <= 1.3x,"
        " client included)"
    )
    print(
        f"  gateway in-process (no HTTP){warm['gateway_in_process_median']:7.0f} /"
        f" {warm['gateway_in_process_p99']:.0f} µs   {ratios['warm_in_process']:.2f}x"
    )
    print(
        f"streaming time to first content (median of {TTFB_RUNS},"
        f" chunks paced {STREAM_CHUNK_DELAY_MS} ms)"
    )
    print(f"  boto3 ConverseStream       {ttfb['floor_median_ms']:8.2f} ms")
    print(
        f"  gateway SSE over HTTP      {ttfb['gateway_median_ms']:8.2f} ms"
        f"   +{ttfb['overhead_ms']:.2f} ms  (goal < 5 ms)"
    )
    print(f"Lambda asset zipped          {size / 1024:8.0f} KiB  (goal < 5 MiB)")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
