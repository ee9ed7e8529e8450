"""Bounded load on loopback: `python -m local.load` (or `make load`).

Starts the emulator (with a fixed latency per call, as a model would take) and the gateway as
deployed behind the Web Adapter (`python -m gateway.server` semantics, threaded calls on), then
sends buffered and streamed chat requests at a few concurrencies for a few seconds each. Prints
throughput, p50/p99, errors, the gateway's memory before and after, and checks that the gateway
wrote exactly one log line per request. Exit 1 if any request failed or a line is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lambdas.gateway.routing import Routing  # noqa: E402
from local.emulator import start_emulator  # noqa: E402
from model_catalog import all_models  # noqa: E402

MODEL = "amazon.nova-micro-v1:0"
BODY = {"model": MODEL, "messages": [{"role": "user", "content": "Hello there"}]}


@dataclass
class Round:
    """One mode at one concurrency: what came back and how fast."""

    mode: str
    concurrency: int
    latencies_ms: list[float]
    errors: int
    seconds: float

    def line(self) -> str:
        """A report line."""
        done = len(self.latencies_ms)
        ordered = sorted(self.latencies_ms) or [0.0]
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return (
            f"  {self.mode:8} c={self.concurrency:<3} {done:6} req"
            f"  {done / self.seconds:7.1f} req/s"
            f"  p50 {statistics.median(ordered):7.1f} ms  p99 {p99:7.1f} ms  errors {self.errors}"
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _run_round(base: str, mode: str, concurrency: int, seconds: float) -> Round:
    import httpx

    body = json.dumps({**BODY, "stream": mode == "stream"}).encode()
    headers = {"authorization": "Bearer load", "content-type": "application/json"}
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    response = await client.post(
                        "/v1/chat/completions", content=body, headers=headers
                    )
                    ok = response.status_code == 200 and (
                        mode != "stream" or response.text.rstrip().endswith("[DONE]")
                    )
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append((time.perf_counter() - started) * 1000)
                else:
                    errors += 1

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - started
    return Round(mode, concurrency, latencies, errors, elapsed)


def main(argv: list[str] | None = None) -> int:
    """Run the load rounds and print the report."""
    parser = argparse.ArgumentParser(prog="python -m local.load", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="per round (default 5)")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="emulated model latency")
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated levels")
    args = parser.parse_args(argv)
    levels = [int(level) for level in args.concurrency.split(",")]
    routing = Routing(
        enabled=(all_models()[MODEL],), aliases={}, geography=None, known_ids=frozenset()
    ).to_json()
    with start_emulator(log_limit=100) as emulator:
        emulator.delay(args.latency_ms / 1000, times=10**9)
        port = _free_port()
        env = {
            **os.environ,
            "PORT": str(port),
            "GATEWAY_ROUTING": routing,
            "GATEWAY_API_KEY": "load",
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": emulator.url,
            "AWS_ACCESS_KEY_ID": "load",
            "AWS_SECRET_ACCESS_KEY": "load",
            "AWS_REGION": "us-east-1",
            "PYTHONPATH": str(ROOT / "lambdas"),
        }
        gateway = subprocess.Popen(
            [sys.executable, "-m", "gateway.server"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(gateway.stdout or []), daemon=True)
        reader.start()
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(base)
            rss_before = _rss_mib(gateway.pid)
            rounds = [
                asyncio.run(_run_round(base, mode, level, args.seconds))
                for mode in ("buffered", "stream")
                for level in levels
            ]
            rss_after = _rss_mib(gateway.pid)
        finally:
            gateway.terminate()
            gateway.wait(timeout=10)
            reader.join(timeout=10)
    sent = sum(len(r.latencies_ms) + r.errors for r in rounds)
    logged = [json.loads(line) for line in lines if '"gateway.request"' in line]
    ids = [line["request_id"] for line in logged]
    print(
        f"load on loopback: model latency {args.latency_ms:.0f} ms, {args.seconds:.0f} s per round"
    )
    for result in rounds:
        print(result.line())
    print(f"  gateway RSS {rss_before:.1f} MiB -> {rss_after:.1f} MiB")
    print(f"  log lines {len(logged)} for {sent} requests, {len(ids) - len(set(ids))} duplicated")
    failed = sum(r.errors for r in rounds) or len(logged) != sent or len(set(ids)) != len(ids)
    return 1 if failed else 0


def _wait_healthy(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=1):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the gateway did not start")


if __name__ == "__main__":
    sys.exit(main())
