"""The Lambda asset is self-sufficient: it starts the gateway the way the Web Adapter does."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from app import GATEWAY_SOURCE
from stacks.components.gateway_bundle import build_gateway_bundle
from tests.conftest import routing_json

MAX_ZIPPED_BYTES = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("asset")
    build_gateway_bundle(
        GATEWAY_SOURCE, target, routing_json=routing_json(["amazon.nova-micro-v1:0"])
    )
    return target


def test_bundle_holds_the_gateway_package_entry_script_and_vendored_server(bundle: Path) -> None:
    assert (bundle / "gateway" / "app.py").is_file()
    assert (bundle / "gateway" / "catalog.py").is_file()
    assert json.loads((bundle / "routing.json").read_text())["models"][0]["id"] == (
        "amazon.nova-micro-v1:0"
    )
    assert (bundle / "uvicorn" / "__init__.py").is_file()
    assert (bundle / "h11" / "__init__.py").is_file()
    assert (bundle / "click" / "__init__.py").is_file()
    assert not list(bundle.rglob("__pycache__"))
    run = bundle / "run.sh"
    assert run.stat().st_mode & stat.S_IXUSR, "run.sh must be executable for the Web Adapter"
    assert "python3 -m gateway.server" in run.read_text(encoding="utf-8")


def test_bundle_zips_well_under_the_size_goal(bundle: Path, tmp_path: Path) -> None:
    archive = tmp_path / "asset.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in bundle.rglob("*"):
            zipped.write(path, path.relative_to(bundle))
    assert archive.stat().st_size < MAX_ZIPPED_BYTES


def test_bundle_serves_health_and_models_from_its_own_directory(bundle: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # -S: no site-packages, so only the stdlib and the bundle itself are importable (boto3 is
    # imported on the first Bedrock call; in Lambda it comes from the runtime).
    env = {
        "PATH": os.environ["PATH"],
        "PORT": str(port),
        "GATEWAY_ROUTING_FILE": "routing.json",
        "GATEWAY_AUTH": "api-gateway",
        "AWS_REGION": "us-east-1",
    }
    process = subprocess.Popen(
        [sys.executable, "-S", "-m", "gateway.server"],
        cwd=bundle,
        env={**env, "PYTHONPATH": str(bundle)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        body = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=1) as r:
                    body = json.loads(r.read())
                    break
            except OSError:
                if process.poll() is not None:
                    break
                time.sleep(0.05)
        assert body is not None, process.stdout.read() if process.stdout else ""
        assert [m["id"] for m in body["data"]] == ["amazon.nova-micro-v1:0"]
    finally:
        process.terminate()
        process.wait(timeout=10)
