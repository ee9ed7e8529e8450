"""A real local gateway (`python -m local.run`, emulator included) on free loopback ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from tests.conftest import ROOT

# The documented default key, so README examples run verbatim.
API_KEY = "local-dev-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalGateway:
    base_url: str
    process: subprocess.Popen[str]


@pytest.fixture(scope="session")
def local_gateway() -> Iterator[LocalGateway]:
    with running_gateway("--env", "dev") as gateway:
        yield gateway


@contextmanager
def running_gateway(*arguments: str) -> Iterator[LocalGateway]:
    """`python -m local.run ARGUMENTS` on free ports, until the block ends."""
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "EMULATOR_PORT": str(free_port()),
        "GATEWAY_BACKEND": "emulator",
        # Nothing here may reach AWS: the emulator is the only Bedrock.
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
    }
    env.pop("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", None)
    env.pop("GATEWAY_API_KEY", None)
    # Its output goes to a file: a pipe nobody reads fills up with log lines and blocks the
    # gateway mid-request (and then its shutdown).
    with tempfile.TemporaryFile(mode="w+") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "local.run", *arguments],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    output.seek(0)
                    raise AssertionError(f"gateway did not start:\n{output.read()}") from None
                time.sleep(0.1)
        try:
            yield LocalGateway(base_url=f"{base}/v1", process=process)
        finally:
            process.terminate()
            process.wait(timeout=10)
