"""Builds the gateway's deployable tree: its package, the entry script and vendored deps.

Standard library only, so benchmarks and tests can build the asset without loading the CDK.
"""

from __future__ import annotations

import importlib.metadata
import shutil
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


ROUTING_FILE = "routing.json"
"""The deployment's models and aliases, next to the package (Lambda limits environments to 4 KB)."""


def build_gateway_bundle(
    source_dir: Path, output_dir: Path, *, routing_json: str | None = None
) -> None:
    """Write the deployable gateway tree (package `gateway/`, `run.sh`, vendored deps).

    With `routing_json`, the deployment's routing (enabled models' specs, aliases) goes into
    `routing.json` at the root, where the gateway reads it (GATEWAY_ROUTING_FILE).
    """
    _copy_tree(source_dir, output_dir / "gateway")
    if routing_json is not None:
        (output_dir / ROUTING_FILE).write_text(routing_json, encoding="utf-8")
    shutil.copy2(source_dir / "run.sh", output_dir / "run.sh")
    for name in VENDORED_DISTRIBUTIONS:
        _copy_distribution(name, output_dir)
