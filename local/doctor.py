"""Model access pre-flight with your own AWS credentials: `python -m local.doctor --env prod`.

Reads config/<env>.toml, checks every enabled model in the target region and prints each problem
with its fix. Read-only unless --accept-offers or --submit-use-case says otherwise.
Exit codes: 0 every model ready; 1 problems found; 2 could not check (config, credentials,
region or endpoint).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)

from lambdas.gateway.catalog import Provider
from lambdas.model_access_check.checks import CREDENTIAL_ERROR_CODES, check_models, error_code
from lambdas.model_access_check.report import render
from stacks.config import ConfigError, KitConfig, load_config

ROOT = Path(__file__).resolve().parent.parent
EXIT_READY, EXIT_PROBLEMS, EXIT_CANNOT_CHECK = 0, 1, 2

ClientFactory = Callable[[str | None], Any]


def default_client(region: str | None) -> Any:
    """Return a Bedrock control-plane client with the caller's credentials and region."""
    import boto3

    return boto3.client("bedrock", region_name=region)


def anthropic_model_ids(config: KitConfig) -> set[str]:
    """Return the enabled models whose catalog provider is Anthropic."""
    return {spec.model_id for spec in config.models.specs() if spec.provider == Provider.ANTHROPIC}


def cannot_check(error: Exception, *, region_hint: str, endpoint: str) -> str:
    """The one line that says why a read-only check against AWS could not run.

    `region_hint` says where a region can come from; `endpoint` names the service called.
    """
    if isinstance(error, NoCredentialsError):
        return "no AWS credentials found: log in (aws sso login, AWS_PROFILE) and retry"
    if isinstance(error, NoRegionError):
        return f"no region: {region_hint}"
    if isinstance(error, EndpointConnectionError):
        return f"cannot reach the {endpoint} endpoint: {error}"
    if isinstance(error, ClientError):
        code = error_code(error)
        if code in CREDENTIAL_ERROR_CODES:
            return f"the AWS credentials were refused ({code}): refresh them and retry"
        return f"{error.operation_name} failed ({code}): {error}"
    return f"cannot check: {error}"


def _cannot_check(error: Exception) -> str:
    return cannot_check(
        error,
        region_hint="set deployment.region in the config, or AWS_REGION",
        endpoint="Bedrock",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local.doctor", description="Bedrock model access pre-flight."
    )
    parser.add_argument("--env", default="dev", help="config/<env>.toml to check (default: dev)")
    parser.add_argument("--config", type=Path, help="another config file for the environment")
    parser.add_argument(
        "--accept-offers",
        action="store_true",
        help="accept the public Marketplace offer of models that have no agreement yet",
    )
    parser.add_argument(
        "--submit-use-case",
        action="store_true",
        help="submit Anthropic's first-time-use form from access_check.anthropic_use_case",
    )
    return parser


def main(
    argv: Sequence[str] | None = None, *, client_factory: ClientFactory = default_client
) -> int:
    """Run the pre-flight for one environment and return the exit code."""
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config or ROOT / "config" / f"{args.env}.toml", args.env)
    except ConfigError as error:
        sys.stderr.write(f"doctor: {error}\n")
        return EXIT_CANNOT_CHECK
    form = config.access_check.anthropic_use_case if args.submit_use_case else None
    try:
        # botocore itself reads AWS_DEFAULT_REGION and the profile, not AWS_REGION.
        region = config.deployment.region or os.environ.get("AWS_REGION") or None
        client = client_factory(region)
        reports = check_models(
            client,
            config.models.enabled,
            accept_offers=args.accept_offers,
            use_case_form=form or None,
            anthropic_model_ids=anthropic_model_ids(config),
        )
    except BotoCoreError as error:
        sys.stderr.write(f"doctor: {_cannot_check(error)}\n")
        return EXIT_CANNOT_CHECK
    except ClientError as error:
        # check_models re-raises only errors that mean the credentials themselves are bad.
        if error_code(error) not in CREDENTIAL_ERROR_CODES:
            raise
        sys.stderr.write(f"doctor: {_cannot_check(error)}\n")
        return EXIT_CANNOT_CHECK
    print(render(reports, region=str(client.meta.region_name)))
    return EXIT_READY if all(report.ok for report in reports) else EXIT_PROBLEMS


if __name__ == "__main__":
    sys.exit(main())
