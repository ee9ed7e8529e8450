"""The gateway's Lambda asset: its package, the entry script and vendored pure-Python deps.

Bundled locally (no Docker, no network): the dependencies are copied from the installed, pinned
distributions of the running interpreter, so synthesis stays offline and deterministic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from stacks.components.gateway_bundle import build_gateway_bundle


@jsii.implements(ILocalBundling)
class _LocalGatewayBundler:
    """CDK local bundling hook; never falls back to Docker."""

    def __init__(self, source_dir: Path, routing_json: str) -> None:
        self._source_dir = source_dir
        self._routing_json = routing_json

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        build_gateway_bundle(self._source_dir, Path(output_dir), routing_json=self._routing_json)
        return True


def gateway_code(source_dir: Path, *, routing_json: str) -> lambda_.Code:
    """Return the Lambda code asset of the gateway, bundled from `source_dir` with its routing."""
    return lambda_.Code.from_asset(
        str(source_dir),
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            # Required by the API but never pulled: local bundling always succeeds.
            image=DockerImage.from_registry("local-bundling-only"),
            local=_LocalGatewayBundler(source_dir, routing_json),
        ),
    )
