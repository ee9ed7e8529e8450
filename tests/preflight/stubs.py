"""Stubbed Bedrock control-plane and SSM answers shared by the pre-flight tests (Stubber)."""

from __future__ import annotations

import json
from typing import Any

from botocore.stub import Stubber

NOVA = "amazon.nova-micro-v1:0"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0"
TERMS: dict[str, Any] = {
    "usageBasedPricingTerm": {"rateCard": []},
    "legalTerm": {},
    "supportTerm": {},
}
READY: dict[str, Any] = {
    "agreementAvailability": {"status": "AVAILABLE"},
    "authorizationStatus": "AUTHORIZED",
    "entitlementAvailability": "AVAILABLE",
    "regionAvailability": "AVAILABLE",
}
FORM = {
    "companyName": "Example Widgets Ltd",
    "companyWebsite": "https://widgets.example",
    "intendedUsers": "0",
    "useCases": "Internal assistants for support engineers",
}


def details(model_id: str, status: str = "ACTIVE", **lifecycle: Any) -> dict[str, Any]:
    """A GetFoundationModel answer with the given lifecycle."""
    return {
        "modelDetails": {
            "modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{model_id}",
            "modelId": model_id,
            "modelLifecycle": {"status": status, **lifecycle},
        }
    }


def expect_availability(stubber: Stubber, model_id: str, **changes: Any) -> None:
    """Queue a GetFoundationModelAvailability answer: READY with `changes` applied."""
    stubber.add_response(
        "get_foundation_model_availability",
        {**READY, **changes, "modelId": model_id},
        {"modelId": model_id},
    )


def expect_model(stubber: Stubber, model_id: str, status: str = "ACTIVE", **lifecycle: Any) -> None:
    """Queue a GetFoundationModel answer."""
    stubber.add_response(
        "get_foundation_model",
        details(model_id, status, **lifecycle),
        {"modelIdentifier": model_id},
    )


def expect_ready(stubber: Stubber, model_id: str) -> None:
    """Queue both answers of a model that is ready and ACTIVE."""
    expect_availability(stubber, model_id)
    expect_model(stubber, model_id)


def expect_use_case(stubber: Stubber, *, submitted: bool) -> None:
    """Queue GetUseCaseForModelAccess: the form, or ResourceNotFoundException (never sent)."""
    if submitted:
        stubber.add_response("get_use_case_for_model_access", {"formData": b'{"a": "b"}'})
    else:
        stubber.add_client_error(
            "get_use_case_for_model_access",
            "ResourceNotFoundException",
            "use case form not found",
            http_status_code=404,
        )


USE_CASE_PARAMETER = "/bedrock-kit/prod/anthropic-use-case"


def expect_form_parameter(
    stubber: Stubber,
    value: str | None = None,
    *,
    kind: str = "SecureString",
    name: str = USE_CASE_PARAMETER,
) -> None:
    """Queue an SSM GetParameter answer holding `value` (default: FORM as JSON)."""
    stubber.add_response(
        "get_parameter",
        {
            "Parameter": {
                "Name": name,
                "Type": kind,
                "Value": json.dumps(FORM) if value is None else value,
                "Version": 1,
                "ARN": f"arn:aws:ssm:us-east-1:111122223333:parameter{name}",
                "DataType": "text",
            }
        },
        {"Name": name, "WithDecryption": True},
    )


def expect_form_parameter_error(
    stubber: Stubber, code: str, status: int = 400, *, name: str = USE_CASE_PARAMETER
) -> None:
    """Queue an SSM GetParameter refusal with the given error code."""
    stubber.add_client_error(
        "get_parameter",
        code,
        f"{code} for {name}",
        http_status_code=status,
        expected_params={"Name": name, "WithDecryption": True},
    )
