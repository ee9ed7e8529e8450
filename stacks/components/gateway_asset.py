"""The gateway's Lambda asset: its package, the entry script and vendored pure-Python deps.

Bundled locally (no Docker, no network): the dependencies are copied from the installed, pinned
distributions of the running interpreter, so synthesis stays offline and deterministic.
"""

from __future__ import annotations

import importlib.metadata
import shutil
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

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


def build_gateway_bundle(source_dir: Path, output_dir: Path) -> None:
    """Write the deployable gateway tree (package `gateway/`, `run.sh`, vendored deps)."""
    _copy_tree(source_dir, output_dir / "gateway")
    shutil.copy2(source_dir / "run.sh", output_dir / "run.sh")
    for name in VENDORED_DISTRIBUTIONS:
        _copy_distribution(name, output_dir)


@jsii.implements(ILocalBundling)
class _LocalGatewayBundler:
    """CDK local bundling hook; never falls back to Docker."""

    def __init__(self, source_dir: Path) -> None:
        self._source_dir = source_dir

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        build_gateway_bundle(self._source_dir, Path(output_dir))
        return True


def gateway_code(source_dir: Path) -> lambda_.Code:
    """Return the Lambda code asset of the gateway, bundled from `source_dir`."""
    return lambda_.Code.from_asset(
        str(source_dir),
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            # Required by the API but never pulled: local bundling always succeeds.
            image=DockerImage.from_registry("local-bundling-only"),
            local=_LocalGatewayBundler(source_dir),
        ),
    )
