"""`make doctor ENV=prod`: the model access pre-flight, run with your own AWS credentials.

Reads config/<env>.toml, checks every enabled model in the target region and prints each problem
with its fix. Exit 0: all ready; 1: problems; 2: cannot check (no credentials or region).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lambdas.gateway.catalog import Provider, get_model
from lambdas.model_access_check.checks import check_models
from lambdas.model_access_check.report import render
from stacks.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent


def _default_client(region: str) -> Any:
    import boto3

    return boto3.client("bedrock", region_name=region)


def main(
    argv: list[str] | None = None, client_factory: Callable[[str], Any] = _default_client
) -> int:
    """Run the checks and return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", default="dev")
    parser.add_argument("--accept-offers", action="store_true", help="accept missing public offers")
    args = parser.parse_args(argv)
    try:
        config = load_config(ROOT / "config" / f"{args.env}.toml", args.env)
    except ConfigError as error:
        sys.stderr.write(f"config error: {error}\n")
        return 2
    region = (
        config.deployment.region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
    )
    if not region:
        sys.stderr.write("doctor: no region: set deployment.region in the config or AWS_REGION\n")
        return 2
    from botocore.exceptions import BotoCoreError

    anthropic = [m for m in config.models.enabled if get_model(m).provider is Provider.ANTHROPIC]
    try:
        reports = check_models(
            client_factory(region),
            config.models.enabled,
            region=region,
            anthropic_model_ids=anthropic,
            accept_offers=args.accept_offers,
            use_case_form=config.access_check.anthropic_use_case or None,
        )
    except BotoCoreError as error:  # no credentials, no endpoint: nothing was checked
        sys.stderr.write(f"doctor: cannot reach Bedrock in {region}: {error}\n")
        return 2
    sys.stdout.write(render(reports, region=region) + "\n")
    return 0 if all(report.ok for report in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
