"""The command line: `python -m local.catalog_check --env prod [--region R] [--prices]`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
)

from local.doctor import cannot_check, default_client
from model_catalog import CatalogError, all_models
from stacks.config import ConfigError, load_config

from .compare import EXIT_CANNOT_CHECK, compare
from .facts import collect_aws_facts, profile_ids_in_use
from .prices import PRICING_REGION, collect_prices
from .report import render

ROOT = Path(__file__).resolve().parents[2]
PROG = "catalog-check"

BedrockFactory = Callable[[str | None], Any]
PricingFactory = Callable[[], Any]

# The same Bedrock control-plane client `make doctor` uses.
default_bedrock_client: BedrockFactory = default_client


def default_pricing_client() -> Any:
    """Return a Price List API client (endpoint in us-east-1) with the caller's credentials."""
    import boto3

    return boto3.client("pricing", region_name=PRICING_REGION)


def main(
    argv: Sequence[str] | None = None,
    *,
    bedrock_factory: BedrockFactory = default_bedrock_client,
    pricing_factory: PricingFactory = default_pricing_client,
    today: date | None = None,
) -> int:
    """Run the drift check for one environment, print the report and return the exit code.

    Read-only: ListFoundationModels, ListInferenceProfiles, GetInferenceProfile for the profiles
    the environment uses and, with --prices, the Price List API.

    Args:
        argv: The command line arguments (None: sys.argv).
        bedrock_factory: Makes the Bedrock client for a region (None: botocore's default).
        pricing_factory: Makes the Price List client.
        today: The day the catalog's lifecycle dates are read on (None: today).

    Returns:
        0 no enabled model is affected (informational findings may remain); 1 a finding affects
        an enabled model; 2 could not check (config, catalog, credentials, region or endpoint).
    """
    args = _parser().parse_args(argv)
    day = today if today is not None else date.today()
    try:
        path = args.config or ROOT / "config" / f"{args.env}.toml"
        config = load_config(path, args.env, today=day)
        catalog = {**all_models(), **config.models.table}
    except (ConfigError, CatalogError) as error:
        sys.stderr.write(f"{PROG}: {error}\n")
        return EXIT_CANNOT_CHECK
    geography = config.models.cross_region
    try:
        # botocore itself reads AWS_DEFAULT_REGION and the profile, not AWS_REGION.
        region = args.region or config.deployment.region or os.environ.get("AWS_REGION") or None
        client = bedrock_factory(region)
        in_use = profile_ids_in_use(config.models.specs(), geography)
        facts = collect_aws_facts(client, profile_ids=in_use)
        prices = collect_prices(pricing_factory(), facts.region) if args.prices else None
    except (BotoCoreError, ClientError) as error:
        sys.stderr.write(f"{PROG}: {_cannot_check(error)}\n")
        return EXIT_CANNOT_CHECK
    report = compare(
        catalog,
        config.models.enabled,
        geography,
        facts,
        today=day,
        region=facts.region,
        prices=prices,
    )
    print(render(report))
    return report.exit_code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local.catalog_check",
        description="Read-only drift check of the model catalog against Amazon Bedrock.",
    )
    parser.add_argument("--env", default="dev", help="config/<env>.toml to check (default: dev)")
    parser.add_argument("--config", type=Path, help="another config file for the environment")
    parser.add_argument(
        "--region", help="region to check (default: deployment.region, then AWS_REGION)"
    )
    parser.add_argument(
        "--prices", action="store_true", help="also compare in-region prices with the Price List"
    )
    return parser


def _cannot_check(error: Exception) -> str:
    """The one line that says why the check could not run."""
    return cannot_check(
        error,
        region_hint="pass --region, set deployment.region in the config, or AWS_REGION",
        endpoint="AWS",
    )
