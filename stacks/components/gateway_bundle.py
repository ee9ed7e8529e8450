"""Builds the gateway's deployable tree: its package, the entry script and vendored deps.

Standard library only, so benchmarks and tests can build the asset without loading the CDK.
"""

from __future__ import annotations

import base64
import compileall
import hashlib
import importlib.metadata
import py_compile
import re
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

# Pinned, with hashes, in lambdas/gateway/requirements.txt; boto3 comes with the Lambda runtime.
VENDORED_DISTRIBUTIONS = ("uvicorn", "h11", "click")
_SKIPPED_PARTS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache"})
# `name==version` (extras allowed) at the start of a requirement line.
_PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*([^\s;\\]+)")


class VendoredDependencyError(RuntimeError):
    """A vendored distribution is not the pinned version, or changed after install."""


def _copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(
        source,
        target,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "requirements.txt", "run.sh"),
    )


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(requirements: Path) -> dict[str, str]:
    """Map each distribution pinned `name==version` in a pip requirements file to its version."""
    # As pip reads it: continuation lines joined, then comments dropped.
    text = requirements.read_text(encoding="utf-8").replace("\\\n", " ")
    pins: dict[str, str] = {}
    for line in text.splitlines():
        match = _PIN.match(re.sub(r"(^|\s)#.*", "", line).strip())
        if match:
            pins[_canonical(match[1])] = match[2]
    return pins


def _reinstall_command(requirements: Path) -> str:
    return (
        f"{sys.executable} -m pip install --force-reinstall --require-hashes --no-deps"
        f" -r {requirements}"
    )


def check_pins(requirements: Path, names: Iterable[str] = VENDORED_DISTRIBUTIONS) -> None:
    """Raise VendoredDependencyError unless each distribution is installed at its pinned version."""
    pins = read_pins(requirements)
    fix = f"run `make setup`, or reinstall the pins: {_reinstall_command(requirements)}"
    for name in names:
        pinned = pins.get(_canonical(name))
        if pinned is None:
            raise VendoredDependencyError(
                f"{name} is vendored into the gateway but {requirements} does not pin it"
                " (name==version)"
            )
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            raise VendoredDependencyError(
                f"{name} is vendored into the gateway but not installed for {sys.executable}"
                f" ({requirements} pins {pinned}): {fix}"
            ) from None
        if installed != pinned:
            raise VendoredDependencyError(
                f"{name} {installed} is installed, but {requirements} pins {pinned} for the"
                f" gateway: {fix}"
            )


def _record_hash(data: bytes) -> str:
    """The sha256 of `data` as RECORD writes it: urlsafe base64 without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _copy_distribution(name: str, target: Path, requirements: Path) -> None:
    distribution = importlib.metadata.distribution(name)
    installed = f"{name} {distribution.version}"
    fix = f"reinstall the pins: {_reinstall_command(requirements)}"
    for file in distribution.files or ():
        # Skip console scripts installed outside site-packages and compiled bytecode.
        if ".." in file.parts or _SKIPPED_PARTS & set(file.parts) or file.suffix == ".pyc":
            continue
        source = Path(str(distribution.locate_file(file)))
        try:
            data = source.read_bytes()
        except FileNotFoundError:
            raise VendoredDependencyError(f"{source} of {installed} is missing: {fix}") from None
        # Files that RECORD lists without a hash (RECORD itself) cannot be checked.
        recorded = file.hash
        if recorded is not None and recorded.mode != "sha256":
            raise VendoredDependencyError(
                f"{installed} records {file} with {recorded.mode}, not sha256: {fix}"
            )
        if recorded is not None and _record_hash(data) != recorded.value:
            raise VendoredDependencyError(
                f"{source} does not match the sha256 that {installed} recorded for it at"
                f" install (it changed since): {fix}"
            )
        destination = target / file
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(data)
        shutil.copystat(source, destination)


def vendor_distributions(
    requirements: Path, target: Path, names: Iterable[str] = VENDORED_DISTRIBUTIONS
) -> None:
    """Copy the installed distributions into `target`, each checked against its pin and RECORD."""
    vendored = tuple(names)
    check_pins(requirements, vendored)
    for name in vendored:
        _copy_distribution(name, target, requirements)


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
    The vendored distributions must be the versions `source_dir/requirements.txt` pins, with
    every file as its RECORD hashed it at install, or VendoredDependencyError is raised.
    """
    _copy_tree(source_dir, output_dir / "gateway")
    if routing_json is not None:
        (output_dir / ROUTING_FILE).write_text(routing_json, encoding="utf-8")
    shutil.copy2(source_dir / "run.sh", output_dir / "run.sh")
    vendor_distributions(source_dir / "requirements.txt", output_dir)
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
