"""Deployment pre-flight with your own AWS credentials: `python -m local.doctor --env prod`.

Reads config/<env>.toml, checks every enabled model in the target region, then the account
settings a deployment depends on (Lambda's unreserved concurrency, API Gateway's CloudWatch
logging role), and prints each problem with its fix. Read-only unless --accept-offers or
--submit-use-case says otherwise.
Exit codes: 0 everything ready; 1 problems found; 2 could not check (config, credentials,
region or endpoint).
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

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
from lambdas.model_access_check.use_case_form import (
    CONFIG_KEY,
    UseCaseFormError,
    read_use_case_form,
)
from local.account_checks import AccountCheck
from local.own_models_check import check_own_model, own_models
from stacks.config import ConfigError, KitConfig, load_config

ROOT = Path(__file__).resolve().parent.parent
EXIT_READY, EXIT_PROBLEMS, EXIT_CANNOT_CHECK = 0, 1, 2
# Lambda keeps this much of the account's concurrency unreserved, whatever is asked for.
LAMBDA_MIN_UNRESERVED = 100
GATEWAY_FUNCTIONS = 2
REGION_HINT = "set deployment.region in the config, or AWS_REGION"

Service = Literal["ssm", "lambda", "apigateway", "sagemaker"]
ClientFactory = Callable[[str | None], Any]
ServiceClientFactory = Callable[[Service, str | None], Any]
T = TypeVar("T")


def default_client(region: str | None) -> Any:
    """Return a Bedrock control-plane client with the caller's credentials and region."""
    import boto3

    return boto3.client("bedrock", region_name=region)


def default_service_client(service: Service, region: str | None) -> Any:
    """Return a client for `service` with the caller's credentials and region."""
    import boto3

    return boto3.client(service, region_name=region)


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


class CannotCheckError(Exception):
    """A check could not run at all; the message is the one line the doctor prints."""


def _guarded(endpoint: str, call: Callable[[], T]) -> T:
    """Return call(); missing credentials, region or endpoint become CannotCheckError."""
    try:
        return call()
    except BotoCoreError as error:
        reason = cannot_check(error, region_hint=REGION_HINT, endpoint=endpoint)
        raise CannotCheckError(reason) from error
    except ClientError as error:
        # The checks re-raise only errors that mean the credentials themselves are bad.
        if error_code(error) not in CREDENTIAL_ERROR_CODES:
            raise
        reason = cannot_check(error, region_hint=REGION_HINT, endpoint=endpoint)
        raise CannotCheckError(reason) from error


def _unreadable(name: str, error: ClientError, permission: str) -> AccountCheck:
    if error_code(error) in CREDENTIAL_ERROR_CODES:
        raise error
    return AccountCheck(
        name,
        problems=(
            f"could not read it ({error_code(error)}): grant {permission} to your identity "
            "and run the doctor again",
        ),
    )


def lambda_concurrency(client: Any, *, gateway: int, authorizer: int) -> AccountCheck:
    """Check the account keeps 100 unreserved executions after this config's reservations.

    `gateway` is reserved by each of the two gateway functions, `authorizer` by the authorizer.
    """
    name = "Lambda concurrency"
    try:
        limits = client.get_account_settings().get("AccountLimit") or {}
    except ClientError as error:
        return _unreadable(name, error, "lambda:GetAccountSettings")
    limit = int(limits.get("ConcurrentExecutions", 0))
    unreserved = int(limits.get("UnreservedConcurrentExecutions", 0))
    reserved = GATEWAY_FUNCTIONS * gateway + authorizer
    account = f"account limit {limit} concurrent executions, {unreserved} unreserved"
    if not reserved:
        return AccountCheck(name, notes=(f"{account}; this config reserves none",))
    parts = [f"{GATEWAY_FUNCTIONS} x gateway.reserved_concurrency {gateway}"]
    if authorizer:
        parts.append(f"api.authorizer_reserved_concurrency {authorizer}")
    asked = f"{account}; this config reserves {reserved} ({' + '.join(parts)})"
    left = unreserved - reserved
    if left >= LAMBDA_MIN_UNRESERVED:
        return AccountCheck(name, notes=(f"{asked}, leaving {left} unreserved",))
    keys = " and ".join(
        key
        for key, value in (
            ("gateway.reserved_concurrency", gateway),
            ("api.authorizer_reserved_concurrency", authorizer),
        )
        if value
    )
    room = max(unreserved - LAMBDA_MIN_UNRESERVED, 0)
    lower = (
        f"lower {keys} so this config reserves at most {room} in all (0 = no reservation)"
        if room
        else f"set {keys} to 0 (no reservation)"
    )
    problem = (
        f"{asked}, which would leave {left} unreserved: Lambda keeps at least "
        f"{LAMBDA_MIN_UNRESERVED}, so the deploy would fail (\"decreases account's "
        f'UnreservedConcurrentExecution below its minimum value"); {lower}, or raise the '
        "account's Lambda concurrent executions quota in Service Quotas"
    )
    note = (
        "if this environment is already deployed, its current reservation is already "
        "subtracted from the unreserved figure"
    )
    return AccountCheck(name, problems=(problem,), notes=(note,))


def api_logging_role(client: Any, *, manage: bool) -> AccountCheck:
    """Check API Gateway's account-level CloudWatch logging role against this config."""
    name = "API Gateway CloudWatch logging role"
    region = str(client.meta.region_name)
    try:
        role = client.get_account().get("cloudwatchRoleArn") or ""
    except ClientError as error:
        return _unreadable(name, error, f"apigateway:GET on arn:aws:apigateway:{region}::/account")
    if manage and role:
        return AccountCheck(
            name,
            warnings=(
                f"api.manage_account_logging_role = true: this environment will take over the "
                f"account's setting in {region} (now {role}), for every API there, unless that "
                "is already this environment's role; set it to false if the role is managed "
                "elsewhere",
            ),
        )
    if manage:
        return AccountCheck(
            name,
            notes=(
                f"the account has none in {region}: this environment will set it "
                "(api.manage_account_logging_role = true)",
            ),
        )
    if role:
        return AccountCheck(name, notes=(f"the account's role in {region}: {role}",))
    return AccountCheck(
        name,
        problems=(
            f"the account has no CloudWatch logging role for API Gateway in {region}: the "
            "stage's access and execution logging need it, so creating the stage fails and so "
            "does the deployment; set "
            "api.manage_account_logging_role = true in exactly one environment of this account "
            "and region, or set the role up once outside the kit (API Gateway console, "
            "Settings)",
        ),
    )


def render_account(checks: Sequence[AccountCheck], *, region: str) -> str:
    """Return the account settings report: a heading, then each check with its findings."""
    ready = sum(1 for check in checks if check.ok)
    lines = [f"Account settings in {region}: {ready} of {len(checks)} ready"]
    for check in checks:
        lines.append(f"{'ok' if check.ok else 'NOT READY'}: {check.name}")
        lines.extend(f"  - {problem}" for problem in check.problems)
        lines.extend(f"  warning: {warning}" for warning in check.warnings)
        lines.extend(f"  note: {note}" for note in check.notes)
    return "\n".join(lines)


def _use_case_form(parameter: str | None, make_ssm: Callable[[], Any]) -> dict[str, str]:
    if not parameter:
        raise CannotCheckError(
            f"--submit-use-case needs {CONFIG_KEY}: the name of an SSM SecureString holding "
            "Anthropic's use-case form (a JSON object)"
        )
    try:
        return _guarded("SSM", lambda: read_use_case_form(make_ssm(), parameter))
    except UseCaseFormError as error:
        raise CannotCheckError(str(error)) from None


def _run(
    args: argparse.Namespace,
    config: KitConfig,
    client_factory: ClientFactory,
    service_client_factory: ServiceClientFactory,
) -> tuple[str, bool]:
    """Return the whole report and whether everything is ready; nothing is printed before."""
    # botocore itself reads AWS_DEFAULT_REGION and the profile, not AWS_REGION.
    region = config.deployment.region or os.environ.get("AWS_REGION") or None
    bedrock = _guarded("Bedrock", lambda: client_factory(region))
    anthropic = anthropic_model_ids(config)
    form = None
    if args.submit_use_case and anthropic:
        parameter = config.access_check.anthropic_use_case_parameter
        form = _use_case_form(parameter, lambda: service_client_factory("ssm", region))
    # Own models are not foundation models: they get a check of their own below.
    foundation = [spec.model_id for spec in config.models.specs() if spec.invocation is None]
    reports = _guarded(
        "Bedrock",
        lambda: check_models(
            bedrock,
            foundation,
            accept_offers=args.accept_offers,
            use_case_form=form,
            anthropic_model_ids=anthropic,
        ),
    )
    api = config.api
    authorizer = api.authorizer_reserved_concurrency if api.auth.value == "api_key" else 0
    account = [
        _guarded(
            "Lambda",
            lambda: lambda_concurrency(
                service_client_factory("lambda", region),
                gateway=config.gateway.reserved_concurrency,
                authorizer=authorizer,
            ),
        ),
        _guarded(
            "API Gateway",
            lambda: api_logging_role(
                service_client_factory("apigateway", region),
                manage=api.manage_account_logging_role,
            ),
        ),
    ]
    own = own_models(config.models.specs())
    if own:
        sagemaker = service_client_factory("sagemaker", region)
        for spec in own:
            account.append(
                _guarded(
                    "Bedrock and SageMaker",
                    functools.partial(check_own_model, spec, bedrock=bedrock, sagemaker=sagemaker),
                )
            )
    where = str(bedrock.meta.region_name)
    text = f"{render(reports, region=where)}\n\n{render_account(account, region=where)}"
    ready = all(report.ok for report in reports) and all(check.ok for check in account)
    return text, ready


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local.doctor", description="Bedrock kit deployment pre-flight."
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
        help=f"submit Anthropic's first-time-use form from the SSM SecureString named by "
        f"{CONFIG_KEY}",
    )
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    client_factory: ClientFactory = default_client,
    service_client_factory: ServiceClientFactory = default_service_client,
) -> int:
    """Run the pre-flight for one environment and return the exit code.

    Args:
        argv: The command line arguments (None: sys.argv).
        client_factory: Makes the Bedrock control-plane client for a region.
        service_client_factory: Makes the SSM, Lambda and API Gateway clients for a region.
    """
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config or ROOT / "config" / f"{args.env}.toml", args.env)
    except ConfigError as error:
        sys.stderr.write(f"doctor: {error}\n")
        return EXIT_CANNOT_CHECK
    try:
        text, ready = _run(args, config, client_factory, service_client_factory)
    except CannotCheckError as error:
        sys.stderr.write(f"doctor: {error}\n")
        return EXIT_CANNOT_CHECK
    print(text)
    return EXIT_READY if ready else EXIT_PROBLEMS


if __name__ == "__main__":
    sys.exit(main())
