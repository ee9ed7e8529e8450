"""Custom-resource handler: runs the model access pre-flight on every create and update."""

from __future__ import annotations

import json
import os
from typing import Any

from .checks import check_models
from .report import failure_reason, render, summary

PHYSICAL_ID = "bedrock-model-access-check"


class ModelAccessError(Exception):
    """Fails the deployment (strict mode) with every model and fix in the message."""


def on_event(event: dict[str, Any], _context: object, client: Any = None) -> dict[str, Any]:
    """Handle a CloudFormation request relayed by the CDK provider framework."""
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": event.get("PhysicalResourceId", PHYSICAL_ID)}
    properties = event["ResourceProperties"]
    region = os.environ.get("AWS_REGION", "")
    if client is None:
        import boto3

        client = boto3.client("bedrock")
    form = json.loads(properties["UseCaseForm"]) if properties.get("UseCaseForm") else None
    reports = check_models(
        client,
        properties["ModelIds"],
        region=region,
        anthropic_model_ids=properties.get("AnthropicModelIds", []),
        accept_offers=properties.get("AcceptOffers") == "true",
        use_case_form=form,
    )
    # The report names models and fixes only: the use-case form's contents are never printed.
    print(render(reports, region=region))  # noqa: T201 - the handler's log is the report
    problems = sum(1 for report in reports if not report.ok)
    if problems and properties.get("Mode") == "strict":
        raise ModelAccessError(failure_reason(reports, region=region))
    return {
        "PhysicalResourceId": PHYSICAL_ID,
        "Data": {"Summary": summary(reports), "ProblemCount": str(problems)},
    }
