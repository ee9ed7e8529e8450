"""Custom-resource handler (CDK provider framework): the model access pre-flight at deploy time.

ResourceProperties: ModelIds (list of str), AnthropicModelIds (list of str), Mode ("strict" or
"warn"), AcceptOffers ("true" or "false") and UseCaseForm (a JSON object as a string, or "").
Create and Update run the checks; Delete does nothing. The physical id never changes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from .checks import ModelReport, check_models
from .report import failure_reason, render, summary

PHYSICAL_ID = "bedrock-model-access-check"
MODES = ("strict", "warn")

LOGGER = logging.getLogger(__name__)
# The report is the point of warn mode: make sure it reaches CloudWatch at INFO.
LOGGER.setLevel(logging.INFO)


class ModelAccessError(Exception):
    """Fails the deployment in strict mode; the message names every model and its fix."""


def _bedrock_client() -> Any:
    # Imported and created on first use: Delete never needs it, and tests inject their own.
    import boto3
    from botocore.config import Config

    # Region from the Lambda environment. Short connect timeout: an unreachable endpoint should
    # fail the deployment in seconds, not after the function's whole timeout.
    config = Config(connect_timeout=10, read_timeout=30, retries={"mode": "standard"})
    return boto3.client("bedrock", config=config)


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


def _use_case_form(properties: Mapping[str, Any]) -> dict[str, str] | None:
    text = properties.get("UseCaseForm") or ""
    if not text:
        return None
    try:
        form = json.loads(text)
    except json.JSONDecodeError:
        # No detail: the decoder's message would quote the form (company details).
        raise ValueError("UseCaseForm must be a JSON object") from None
    if not isinstance(form, dict) or not all(isinstance(v, str) for v in form.values()):
        raise ValueError("UseCaseForm must be a JSON object of strings")
    return form


def run_checks(properties: Mapping[str, Any], client: Any) -> list[ModelReport]:
    """Run the pre-flight the ResourceProperties describe."""
    return check_models(
        client,
        _model_ids(properties, "ModelIds"),
        accept_offers=_flag(properties, "AcceptOffers"),
        use_case_form=_use_case_form(properties),
        anthropic_model_ids=set(_model_ids(properties, "AnthropicModelIds")),
    )


def on_event(
    event: Mapping[str, Any], context: object, *, client: Any | None = None
) -> dict[str, Any]:
    """Handle one CloudFormation request relayed by the CDK provider framework."""
    if event["RequestType"] == "Delete":
        # Nothing was created: the check only reads (accepted offers stay, as they should).
        return {"PhysicalResourceId": event.get("PhysicalResourceId", PHYSICAL_ID)}
    properties = event["ResourceProperties"]
    mode = properties.get("Mode")
    if mode not in MODES:
        raise ValueError(f"Mode must be one of {', '.join(MODES)}, got {mode!r}")
    bedrock = client if client is not None else _bedrock_client()
    region = str(bedrock.meta.region_name)
    reports = run_checks(properties, bedrock)
    # Names models and fixes only; the use-case form is never logged.
    LOGGER.info("%s", render(reports, region=region))
    problems = sum(len(report.problems) for report in reports)
    if problems and mode == "strict":
        raise ModelAccessError(failure_reason(reports, region=region))
    return {
        "PhysicalResourceId": PHYSICAL_ID,
        "Data": {"Summary": summary(reports), "ProblemCount": str(problems)},
    }
