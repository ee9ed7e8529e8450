"""Custom-resource handler (CDK provider framework): the model access pre-flight at deploy time.

ResourceProperties: ModelIds (list of str), AnthropicModelIds (list of str), Mode ("strict" or
"warn"), AcceptOffers ("true" or "false") and UseCaseFormParameter (the name of an SSM SecureString
holding Anthropic's first-time-use form as a JSON object of strings, or "" for none).
Create and Update read that parameter when it is named (any failure to read or validate it fails
the request, naming the parameter, never its value) and run the checks; Delete does nothing.
The physical id never changes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .checks import ModelReport, check_models
from .report import failure_reason, render, summary
from .use_case_form import read_use_case_form

PHYSICAL_ID = "bedrock-model-access-check"
MODES = ("strict", "warn")
USE_CASE_FORM_PARAMETER = "UseCaseFormParameter"
# The old property that carried the form itself; never read again (finding F15).
RETIRED_USE_CASE_FORM = "UseCaseForm"

LOGGER = logging.getLogger(__name__)
# The report is the point of warn mode: make sure it reaches CloudWatch at INFO.
LOGGER.setLevel(logging.INFO)


class ModelAccessError(Exception):
    """Fails the deployment in strict mode; the message names every model and its fix."""


def _config() -> Any:
    from botocore.config import Config

    # Region from the Lambda environment. Short connect timeout: an unreachable endpoint should
    # fail the deployment in seconds, not after the function's whole timeout.
    return Config(connect_timeout=10, read_timeout=30, retries={"mode": "standard"})


# Clients are imported and created on first use: Delete never needs one, tests inject their own.
def _bedrock_client() -> Any:
    import boto3

    return boto3.client("bedrock", config=_config())


def _ssm_client() -> Any:
    import boto3

    return boto3.client("ssm", config=_config())


def _model_ids(properties: Mapping[str, Any], name: str) -> list[str]:
    value = properties.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{name} must be a list of model ids")
    return value


def _flag(properties: Mapping[str, Any], name: str) -> bool:
    # CloudFormation turns booleans into the strings "true" and "false".
    value = str(properties.get(name, "false")).lower()
    if value not in ("true", "false"):
        raise ValueError(f'{name} must be "true" or "false"')
    return value == "true"


def _use_case_parameter(properties: Mapping[str, Any]) -> str | None:
    if properties.get(RETIRED_USE_CASE_FORM):
        # Ignored, not an error: a rollback may still send the old properties to this code.
        LOGGER.warning(
            "%s is no longer read: put the form in an SSM SecureString and pass its name as %s",
            RETIRED_USE_CASE_FORM,
            USE_CASE_FORM_PARAMETER,
        )
    name = properties.get(USE_CASE_FORM_PARAMETER) or ""
    if not isinstance(name, str):
        raise ValueError(f'{USE_CASE_FORM_PARAMETER} must be an SSM parameter name or ""')
    return name or None


@dataclass(frozen=True, slots=True)
class CheckRequest:
    """The ResourceProperties of one Create or Update, validated before any AWS call."""

    model_ids: list[str]
    anthropic_model_ids: set[str]
    mode: str
    accept_offers: bool
    use_case_form_parameter: str | None

    @classmethod
    def parse(cls, properties: Mapping[str, Any]) -> CheckRequest:
        """Return the request `properties` describe; ValueError names the malformed property."""
        mode = properties.get("Mode")
        if mode not in MODES:
            raise ValueError(f"Mode must be one of {', '.join(MODES)}, got {mode!r}")
        return cls(
            model_ids=_model_ids(properties, "ModelIds"),
            anthropic_model_ids=set(_model_ids(properties, "AnthropicModelIds")),
            mode=str(mode),
            accept_offers=_flag(properties, "AcceptOffers"),
            use_case_form_parameter=_use_case_parameter(properties),
        )


def run_checks(
    request: CheckRequest, client: Any, *, use_case_form: Mapping[str, str] | None = None
) -> list[ModelReport]:
    """Run the pre-flight `request` describes, submitting `use_case_form` if it is needed."""
    return check_models(
        client,
        request.model_ids,
        accept_offers=request.accept_offers,
        use_case_form=use_case_form,
        anthropic_model_ids=request.anthropic_model_ids,
    )


def on_event(
    event: Mapping[str, Any],
    context: object,
    *,
    client: Any | None = None,
    ssm: Any | None = None,
) -> dict[str, Any]:
    """Handle one CloudFormation request relayed by the CDK provider framework."""
    if event["RequestType"] == "Delete":
        # Nothing was created: the check only reads (accepted offers stay, as they should).
        return {"PhysicalResourceId": event.get("PhysicalResourceId", PHYSICAL_ID)}
    request = CheckRequest.parse(event["ResourceProperties"])
    form = None
    if request.use_case_form_parameter is not None:
        ssm_client = ssm if ssm is not None else _ssm_client()
        form = read_use_case_form(ssm_client, request.use_case_form_parameter)
    bedrock = client if client is not None else _bedrock_client()
    region = str(bedrock.meta.region_name)
    reports = run_checks(request, bedrock, use_case_form=form)
    # Names models and fixes only; the use-case form is never logged.
    LOGGER.info("%s", render(reports, region=region))
    problems = sum(len(report.problems) for report in reports)
    if problems and request.mode == "strict":
        raise ModelAccessError(failure_reason(reports, region=region))
    return {
        "PhysicalResourceId": PHYSICAL_ID,
        "Data": {"Summary": summary(reports), "ProblemCount": str(problems)},
    }
