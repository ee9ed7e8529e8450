"""Builds the gateway's deployable tree: its package, the entry script and vendored deps.

Standard library only, so benchmarks and tests can build the asset without loading the CDK.
"""

from __future__ import annotations

import compileall
import importlib.metadata
import py_compile
import shutil
import sys
from pathlib import Path

# Pinned in lambdas/gateway/requirements.txt; boto3 comes with the Lambda runtime itself.
VENDORED_DISTRIBUTIONS = ("uvicorn", "h11", "click")
_SKIPPED_PARTS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache"})


def _copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(
        source,
        target,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "requirements.txt", "run.sh"),
    )


def _copy_distribution(name: str, target: Path) -> None:
    distribution = importlib.metadata.distribution(name)
    for file in distribution.files or ():
        # Skip console scripts installed outside site-packages and compiled bytecode.
        if ".." in file.parts or _SKIPPED_PARTS & set(file.parts) or file.suffix == ".pyc":
            continue
        destination = target / file
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(str(distribution.locate_file(file))), destination)


# The gateway functions' Python (gateway_function.py takes its runtime from here): bytecode is
# only valid for this CPython minor version.
LAMBDA_PYTHON = (3, 14)
# Where Lambda unpacks the code: what tracebacks show, and the same bytes whoever builds.
LAMBDA_TASK_ROOT = "/var/task"

ROUTING_FILE = "routing.json"
"""The deployment's models and aliases, next to the package (Lambda limits environments to 4 KB)."""


def interpreter_matches_runtime() -> bool:
    """Whether this interpreter writes bytecode the Lambda runtime can load."""
    return sys.implementation.name == "cpython" and sys.version_info[:2] == LAMBDA_PYTHON


def build_gateway_bundle(
    source_dir: Path,
    output_dir: Path,
    *,
    routing_json: str | None = None,
    bytecode: bool | None = None,
) -> None:
    """Write the deployable gateway tree (package `gateway/`, `run.sh`, vendored deps).

    With `routing_json`, the deployment's routing (enabled models' specs, aliases) goes into
    `routing.json` at the root, where the gateway reads it (GATEWAY_ROUTING_FILE).
    `bytecode` (default: when this interpreter is the runtime's CPython) also writes compiled
    bytecode: Lambda's code directory is read-only, so without it every cold start compiles
    the gateway and its vendored server again (bench/README.md has what it costs).
    """
    _copy_tree(source_dir, output_dir / "gateway")
    if routing_json is not None:
        (output_dir / ROUTING_FILE).write_text(routing_json, encoding="utf-8")
    shutil.copy2(source_dir / "run.sh", output_dir / "run.sh")
    for name in VENDORED_DISTRIBUTIONS:
        _copy_distribution(name, output_dir)
    if bytecode if bytecode is not None else interpreter_matches_runtime():
        compile_bytecode(output_dir)


def compile_bytecode(root: Path) -> None:
    """Compile every module under `root` as the runtime will find it.

    Unchecked-hash pycs are used without comparing source timestamps (zips and asset staging
    do not keep them) and, with paths recorded under /var/task, are the same bytes on every build.
    They are also used when the source changes: edit the function's code by redeploying, not
    in the Lambda console.
    """
    compiled = compileall.compile_dir(
        root,
        ddir=LAMBDA_TASK_ROOT,
        quiet=1,
        # The runtime runs without -O: optimised pycs (.opt-1.pyc) would be ignored.
        optimize=0,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not compiled:
        raise RuntimeError(f"compiling the gateway bundle in {root} failed")
