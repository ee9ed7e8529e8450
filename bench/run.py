"""Benchmark the gateway as deployed against a bare boto3 handler, side by side in one run.

Every process runs in the Lambda shape: the code comes from the Lambda bundle as the stacks
build it, in a fresh directory without bytecode (Lambda's code directory is read-only, so
nothing compiled at a cold start is kept), with the environment the stacks set. The backend
is `fake_bedrock.py`, which answers Converse in tens of microseconds, so the ratios are the
gateway's own overhead; streaming runs against the emulator's paced chunks.

Measures, each against the floor in the same run (goals from DEVELOPERS.md):
- buffered function (Python handler): cold start <= 1.3x, warm median <= 1.25x, p99 <= 1.5x;
- levers: bytecode in the bundle (cold), the HTTP hop of the Web Adapter path (cold, warm);
- streaming (Web Adapter + uvicorn): time to first content, overhead < 5 ms;
- the Lambda asset zipped: < 5 MiB.
Run with `make bench`; results also go to bench/results/latest.json.
"""

from __future__ import annotations

import http.client
import json
import os
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT))

from lambdas.gateway.budgets import TeamBudget  # noqa: E402
from lambdas.gateway.routing import Routing  # noqa: E402
from lambdas.gateway.teams import TeamPolicy  # noqa: E402
from local.emulator import start_emulator  # noqa: E402
from model_catalog import all_models  # noqa: E402
from stacks.components.gateway_bundle import (  # noqa: E402
    LAMBDA_TASK_ROOT,
    build_gateway_bundle,
)
from stacks.components.gateway_environment import (  # noqa: E402
    PYTHON_HANDLER,
    gateway_environment,
)

MODEL = "amazon.nova-micro-v1:0"
# As synthesis writes it: the enabled model's spec travels with the routing.
ROUTING = Routing(
    enabled=(all_models()[MODEL],), aliases={}, geography=None, known_ids=frozenset(all_models())
).to_json()
# The same deployment with one team under a monthly budget: each request reads the team's
# month before the model call (GetItem) and adds to it after (UpdateItem).
TEAM = "bench"
TEAM_ROUTING = Routing.from_json(ROUTING).to_json(
    teams={
        TEAM: TeamPolicy(
            name=TEAM, budget=TeamBudget(monthly_cost_limit_usd=Decimal(1000))
        ).to_dict()
    }
)
CHAT_BODY = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "Hello"}]})
# API Gateway's request context (REST proxy, payload 1.0), trimmed: the buffered handler reads it
# from the event, the server from the header the Web Adapter forwards it in; both refuse a
# request without it, as a direct invocation of the function.
REQUEST_CONTEXT = json.dumps(
    {
        "accountId": "123456789012",
        "apiId": "bench00000",
        "resourcePath": "/{proxy+}",
        "requestId": "00000000-0000-4000-8000-000000000000",
        "stage": "api",
        "identity": {"sourceIp": "10.0.0.1", "apiKeyId": "bench"},
    }
)
# Behind the key authorizer, the request context names the caller's team.
TEAM_REQUEST_CONTEXT = json.dumps(
    {
        **json.loads(REQUEST_CONTEXT),
        "authorizer": {"principalId": TEAM, "team": TEAM, "key_id": "0123456789ab"},
    }
)
COLD_RUNS = int(os.environ.get("BENCH_COLD_RUNS", "10"))
WARM_REQUESTS = int(os.environ.get("BENCH_WARM_REQUESTS", "1000"))
WARMUP = 100
TTFB_RUNS = int(os.environ.get("BENCH_TTFB_RUNS", "30"))
STREAM_CHUNK_DELAY_MS = 20
# The default config's timeouts (stacks/config/sections.py).
BUFFERED_TIMEOUT_SECONDS, STREAM_TIMEOUT_SECONDS = 29, 300
WORKER = str(BENCH / "lambda_worker.py")
# The interpreter of the Lambda-shaped processes: this one unless BENCH_PYTHON names another
# (e.g. a CPython 3.14 with boto3 importable, the functions' runtime).
PYTHON = shlex.split(os.environ.get("BENCH_PYTHON", "")) or [sys.executable]


def free_port() -> int:
    """Return a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def fake_bedrock() -> Iterator[str]:
    """Run the instant Converse endpoint in its own process; yield its URL."""
    process = subprocess.Popen(
        [sys.executable, str(BENCH / "fake_bedrock.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        yield f"http://127.0.0.1:{process.stdout.readline().strip()}"
    finally:
        process.terminate()
        process.wait()


def lambda_env(backend_url: str, *, streaming: bool) -> dict[str, str]:
    """A clean process environment: the stacks' variables, AWS settings, no bytecode writes."""
    timeout = STREAM_TIMEOUT_SECONDS if streaming else BUFFERED_TIMEOUT_SECONDS
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": backend_url,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "BENCH_CHAT_BODY": CHAT_BODY,
        "BENCH_REQUEST_CONTEXT": REQUEST_CONTEXT,
        **gateway_environment(
            streaming=streaming,
            timeout_seconds=timeout,
            log_content=False,
            metrics_namespace="BedrockKit/Bench",
        ),
    }


def team_env(env: dict[str, str], backend_url: str) -> dict[str, str]:
    """`env` for a caller whose team has a budget: the usage table on the fake backend."""
    return {
        **env,
        "AWS_ENDPOINT_URL_DYNAMODB": backend_url,
        "GATEWAY_USAGE_TABLE": "bench-usage",
        "BENCH_REQUEST_CONTEXT": TEAM_REQUEST_CONTEXT,
    }


def build_bundle(folder: Path, *, bytecode: bool, routing: str = ROUTING, name: str = "") -> Path:
    """The Lambda bundle as the stacks build it, with or without the measured one's bytecode."""
    bundle = folder / (name or ("bundle-bytecode" if bytecode else "bundle"))
    build_gateway_bundle(ROOT / "lambdas" / "gateway", bundle, routing_json=routing, bytecode=False)
    if bytecode:
        # As compile_bytecode() does, but by the interpreter that will load it.
        options = ["-q", "-d", LAMBDA_TASK_ROOT, "--invalidation-mode", "unchecked-hash"]
        subprocess.run(
            [*PYTHON, "-m", "compileall", *options, str(bundle)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    assert bytecode == bool(list(bundle.rglob("*.pyc"))), "unexpected bytecode in the bundle"
    return bundle


def cold_handler(directory: Path, handler: str, env: dict[str, str]) -> float:
    """Ms from spawning a fresh interpreter to its first answer through `handler`."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [*PYTHON, WORKER, "cold", str(directory), handler],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    elapsed = (time.perf_counter() - started) * 1000
    process.wait()
    assert line.strip() == "200", f"cold start of {handler} answered {line!r}"
    return elapsed


def spawn_server(bundle: Path, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """Start the bundle's server as the Web Adapter's run.sh does, on `port`."""
    return subprocess.Popen(
        [*PYTHON, "-m", "gateway.server"],
        env={**env, "PORT": str(port), "PYTHONPATH": str(bundle)},
        cwd=bundle,
        stdout=subprocess.DEVNULL,
    )


def post_chat(port: int, body: str = CHAT_BODY, timeout: float = 5) -> http.client.HTTPResponse:
    """Send one chat request to the server on `port`."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {
        "content-type": "application/json",
        "x-api-key": "bench",
        "x-amzn-request-context": REQUEST_CONTEXT,
    }
    connection.request("POST", "/v1/chat/completions", body, headers)
    return connection.getresponse()


def cold_server(bundle: Path, env: dict[str, str]) -> float:
    """Ms from spawning the server to its first chat answer over HTTP."""
    port = free_port()
    started = time.perf_counter()
    process = spawn_server(bundle, env, port)
    try:
        while True:
            try:
                response = post_chat(port)
                response.read()
                assert response.status == 200, response.status
                return (time.perf_counter() - started) * 1000
            except ConnectionRefusedError:
                time.sleep(0.002)
    finally:
        process.terminate()
        process.wait()


@contextmanager
def running_server(bundle: Path, env: dict[str, str]) -> Iterator[int]:
    """The bundle's server, up and answering; yield its port."""
    port = free_port()
    process = spawn_server(bundle, env, port)
    try:
        for _ in range(500):
            try:
                post_chat(port).read()
                break
            except ConnectionRefusedError:
                time.sleep(0.01)
        yield port
    finally:
        process.terminate()
        process.wait()


def warm(bundle: Path, env: dict[str, str], port: int) -> dict[str, list[float]]:
    """µs per request of the floor, the gateway handler and the gateway over HTTP."""
    done = subprocess.run(
        [*PYTHON, WORKER, "warm", str(bundle), str(port), str(WARMUP), str(WARM_REQUESTS)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    samples: dict[str, list[float]] = json.loads(done.stdout)
    return samples


def ttfb_floor(env: dict[str, str]) -> list[float]:
    """Ms from calling ConverseStream with boto3 to its first text delta, on the measured Python."""
    done = subprocess.run(
        [*PYTHON, WORKER, "ttfb", str(TTFB_RUNS)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    samples: list[float] = json.loads(done.stdout)
    return samples


def ttfb_gateway(port: int) -> list[float]:
    """Ms from sending a streamed chat request to the gateway to its first content chunk."""
    body = json.dumps(
        {"model": MODEL, "messages": [{"role": "user", "content": "Hello"}], "stream": True}
    )
    samples: list[float] = []
    while len(samples) < TTFB_RUNS:
        started = time.perf_counter()
        response = post_chat(port, body)
        while True:
            line = response.readline()
            if b'"content":"' in line and b'"content":""' not in line:
                samples.append((time.perf_counter() - started) * 1000)
                break
            if not line:
                raise AssertionError("stream ended without content")
        # Read to the end: one request at a time, as in Lambda.
        response.read()
    return samples


def asset_zip_bytes(bundle: Path, folder: Path) -> int:
    """Zip the bundle as CDK ships it and return the size."""
    archive = folder / "asset.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(bundle.rglob("*")):
            zipped.write(path, path.relative_to(bundle))
    return archive.stat().st_size


def p99(samples: list[float]) -> float:
    """Return the 99th percentile."""
    return statistics.quantiles(samples, n=100)[98]


def measure(folder: Path) -> dict[str, Any]:
    """Run every measurement; return the figures."""
    bundle = build_bundle(folder, bytecode=False)
    compiled = build_bundle(folder, bytecode=True)
    handler = PYTHON_HANDLER
    floor_handler = "floor_handler.handler"
    teams = build_bundle(folder, bytecode=False, routing=TEAM_ROUTING, name="bundle-team")
    cold: dict[str, list[float]] = {
        "floor": [],
        "gateway": [],
        "bytecode": [],
        "server": [],
        "server_bytecode": [],
        "team": [],
    }
    with fake_bedrock() as backend:
        buffered_env = lambda_env(backend, streaming=False)
        server_env = lambda_env(backend, streaming=True)
        # Warm the page cache once so the runs compare like with like.
        cold_handler(BENCH, floor_handler, buffered_env)
        cold_handler(bundle, handler, buffered_env)
        for _ in range(COLD_RUNS):  # interleaved: drift hits every variant alike
            cold["floor"].append(cold_handler(BENCH, floor_handler, buffered_env))
            cold["gateway"].append(cold_handler(bundle, handler, buffered_env))
            cold["bytecode"].append(cold_handler(compiled, handler, buffered_env))
            cold["server"].append(cold_server(bundle, server_env))
            cold["server_bytecode"].append(cold_server(compiled, server_env))
            cold["team"].append(cold_handler(teams, handler, team_env(buffered_env, backend)))
        with running_server(bundle, server_env) as port:
            warm_us = warm(bundle, buffered_env, port)
        team_server_env = team_env(server_env, backend)
        with running_server(teams, team_server_env) as port:
            team_us = warm(teams, team_env(buffered_env, backend), port)
        warm_us |= {
            "team_floor": team_us["floor"],
            "team": team_us["gateway"],
            "team_http_floor": team_us["http_floor"],
            "team_http": team_us["http"],
        }
    with start_emulator() as emulator:
        # Paced chunks, as a model produces them: the first leaves the emulator after a delay.
        emulator.stream_chunk_delay_ms = STREAM_CHUNK_DELAY_MS
        stream_env = lambda_env(emulator.url, streaming=True)
        with running_server(bundle, stream_env) as port:
            ttfb = {"floor": ttfb_floor(stream_env), "gateway": ttfb_gateway(port)}
    return {
        "cold_ms": {name: statistics.median(runs) for name, runs in cold.items()},
        "warm_us": {
            **{f"{name}_median": statistics.median(runs) for name, runs in warm_us.items()},
            **{f"{name}_p99": p99(runs) for name, runs in warm_us.items()},
        },
        "ttfb_ms": {name: statistics.median(runs) for name, runs in ttfb.items()},
        "asset_zip_bytes": asset_zip_bytes(bundle, folder),
        "asset_zip_bytes_with_bytecode": asset_zip_bytes(compiled, folder),
    }


def report(results: dict[str, Any]) -> str:
    """The table `make bench` prints."""
    cold, warm_us, ttfb = results["cold_ms"], results["warm_us"], results["ttfb_ms"]

    def cold_line(label: str, name: str, note: str = "") -> str:
        ratio = cold[name] / cold["floor"]
        return f"  {label:<34}{cold[name]:8.1f} ms   {ratio:.2f}x{note}"

    def warm_line(label: str, name: str, floor: str, note: str = "") -> str:
        median, tail = warm_us[f"{name}_median"], warm_us[f"{name}_p99"]
        base, base_tail = warm_us[f"{floor}_median"], warm_us[f"{floor}_p99"]
        return (
            f"  {label:<34}{median:8.0f} / {tail:5.0f} µs"
            f"   {median / base:.2f}x / {tail / base_tail:.2f}x{note}"
        )

    overhead = ttfb["gateway"] - ttfb["floor"]
    lines = [
        f"Lambda-shaped processes on Python {results['python']}",
        f"cold start (median of {COLD_RUNS} fresh processes: import + first chat request,"
        " no bytecode cache)",
        f"  {'bare boto3 handler (floor)':<34}{cold['floor']:8.1f} ms   1.00x",
        cold_line("gateway, Python handler", "gateway", "  (goal <= 1.3x)"),
        cold_line("  lever: + bytecode in the bundle", "bytecode"),
        cold_line("Web Adapter path (uvicorn, HTTP)", "server", "  (streaming function)"),
        cold_line("  lever: + bytecode in the bundle", "server_bytecode"),
        f"warm (median / p99 of {WARM_REQUESTS} each after {WARMUP} warm-up, each against the"
        " floor in shuffled order)",
        warm_line("bare boto3 handler (floor)", "floor", "floor"),
        warm_line("gateway, Python handler", "gateway", "floor", "  (goal <= 1.25x / 1.5x)"),
        warm_line("bare boto3 handler (floor)", "http_floor", "http_floor"),
        warm_line("Web Adapter path (uvicorn, HTTP)", "http", "http_floor", "  (client included)"),
        "a team with a monthly budget: + DynamoDB GetItem before, UpdateItem after the call",
        cold_line("  cold, Python handler", "team"),
        warm_line("  bare boto3 handler (floor)", "team_floor", "team_floor"),
        warm_line("  gateway, Python handler", "team", "team_floor"),
        warm_line("  bare boto3 handler (floor)", "team_http_floor", "team_http_floor"),
        warm_line("  Web Adapter path (uvicorn, HTTP)", "team_http", "team_http_floor"),
        f"streaming time to first content (median of {TTFB_RUNS}, chunks paced"
        f" {STREAM_CHUNK_DELAY_MS} ms, emulator)",
        f"  {'boto3 ConverseStream':<34}{ttfb['floor']:8.2f} ms",
        f"  {'gateway SSE (uvicorn, HTTP)':<34}{ttfb['gateway']:8.2f} ms"
        f"   +{overhead:.2f} ms  (goal < 5 ms)",
        f"Lambda asset zipped {results['asset_zip_bytes'] / 1024:20.0f} KiB"
        f"  (with bytecode {results['asset_zip_bytes_with_bytecode'] / 1024:.0f} KiB;"
        " goal < 5 MiB)",
    ]
    return "\n".join(lines)


def main() -> int:
    """Measure, print the table and write bench/results/latest.json."""
    with tempfile.TemporaryDirectory() as folder:
        results = measure(Path(folder))
    results["python"] = subprocess.run(
        [*PYTHON, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(report(results))
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
