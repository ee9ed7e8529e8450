"""The Lambda asset is self-sufficient: it serves as a Python handler and under the Web Adapter."""

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
from stacks.components.gateway_bundle import build_gateway_bundle, interpreter_matches_runtime
from stacks.components.gateway_environment import PYTHON_HANDLER
from tests.conftest import routing_json
from tests.gateway.harness import REQUEST_CONTEXT

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
    # What the Lambda Web Adapter forwards from API Gateway's stage.
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/models",
        headers={"x-amzn-request-context": json.dumps(REQUEST_CONTEXT)},
    )
    body = None
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(request, timeout=1) as r:
                    body = json.loads(r.read())
                    break
            except OSError:
                if process.poll() is not None:
                    break
                time.sleep(0.05)
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert body is not None, output
    assert [m["id"] for m in body["data"]] == ["amazon.nova-micro-v1:0"]


# As the Lambda Python runtime does: import the handler from the code directory, call it.
LAMBDA_RUNTIME = """
import importlib, json, sys
module_name, _, function_name = sys.argv[1].rpartition(".")
handler = getattr(importlib.import_module(module_name), function_name)
event = {
    "httpMethod": "GET",
    "path": "/v1/models/amazon.nova-micro-v1%3A0",
    "headers": {},
    "requestContext": json.loads(sys.argv[2]),
}
result = handler(event, None)
sys.stderr.write(json.dumps(result) + "\\n")
"""


def run_handler_from(bundle: Path, handler: str) -> dict:
    """Invoke `handler` from a bare interpreter whose only code is the bundle (like /var/task)."""
    env = {
        "PATH": os.environ["PATH"],
        "GATEWAY_ROUTING_FILE": "routing.json",
        "GATEWAY_AUTH": "api-gateway",
        "AWS_REGION": "us-east-1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": str(bundle),
    }
    done = subprocess.run(
        [sys.executable, "-S", "-c", LAMBDA_RUNTIME, handler, json.dumps(REQUEST_CONTEXT)],
        cwd=bundle,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(done.stderr.strip().splitlines()[-1]))


def test_bundle_answers_a_proxy_event_through_the_configured_python_handler(bundle: Path) -> None:
    result = run_handler_from(bundle, PYTHON_HANDLER)
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["id"] == "amazon.nova-micro-v1:0"
    assert result["multiValueHeaders"]["content-type"] == ["application/json"]


def test_bytecode_is_written_only_for_the_runtime_interpreter_and_is_reproducible(
    tmp_path: Path,
) -> None:
    routing = routing_json(["amazon.nova-micro-v1:0"])
    default = tmp_path / "default"
    build_gateway_bundle(GATEWAY_SOURCE, default, routing_json=routing)
    assert bool(list(default.rglob("*.pyc"))) == interpreter_matches_runtime()
    first, second = tmp_path / "first", tmp_path / "second"
    for target in (first, second):
        build_gateway_bundle(GATEWAY_SOURCE, target, routing_json=routing, bytecode=True)
    tag = sys.implementation.cache_tag
    pyc = first / "gateway" / "__pycache__" / f"app.{tag}.pyc"
    assert pyc.read_bytes() == (second / pyc.relative_to(first)).read_bytes()
    assert (first / "uvicorn" / "__pycache__" / f"main.{tag}.pyc").is_file()
    # Loaded as is: the handler answers from the bundle without compiling anything.
    (first / "gateway" / "lambda_handler.py").write_text("raise SystemExit('source was read')")
    assert run_handler_from(first, PYTHON_HANDLER)["statusCode"] == 200
