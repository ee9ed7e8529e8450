"""The doctor's own-model check: each endpoint or ARN exists and serves (botocore Stubber)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lambdas.gateway.catalog import ModelSpec
from local.own_models_check import check_own_model
from model_catalog.schema import declared_spec

NOW = datetime(2026, 11, 30, tzinfo=UTC)
ARN = "arn:aws:bedrock:us-east-1:123456789012:{}/abcdefghij12"
CUSTOM = "arn:aws:bedrock:us-east-1:123456789012:custom-model/x/abcdefghij12"
NOVA_LITE = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"


def own(**where: str) -> ModelSpec:
    record = {
        "name": "Own",
        "provider": "acme",
        "modality": "text",
        "context_window": 8192,
        "max_output_tokens": 1024,
        "pricing": {"in_region": [0, 0]},
        **where,
    }
    return declared_spec("acme.own-v1", record)


@pytest.fixture
def clients() -> Iterator[tuple[Any, Any, Stubber, Stubber]]:
    bedrock = boto3.client("bedrock", region_name="us-east-1")
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(bedrock) as bedrock_stub, Stubber(sagemaker) as sagemaker_stub:
        yield bedrock, sagemaker, bedrock_stub, sagemaker_stub
        bedrock_stub.assert_no_pending_responses()
        sagemaker_stub.assert_no_pending_responses()


def _endpoint(status: str) -> dict[str, Any]:
    return {
        "EndpointName": "support-llama",
        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/support-llama",
        "EndpointConfigName": "config",
        "EndpointStatus": status,
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
    }


@pytest.mark.parametrize(("status", "ok"), [("InService", True), ("Updating", False)])
def test_a_sagemaker_endpoint_must_be_in_service(clients: Any, status: str, ok: bool) -> None:
    bedrock, sagemaker, _bedrock_stub, sagemaker_stub = clients
    sagemaker_stub.add_response(
        "describe_endpoint", _endpoint(status), {"EndpointName": "support-llama"}
    )
    check = check_own_model(
        own(sagemaker_endpoint="support-llama"), bedrock=bedrock, sagemaker=sagemaker
    )
    assert check.ok is ok
    if not ok:
        assert "Updating, not InService" in check.problems[0]


def test_a_provisioned_throughput_must_be_in_service(clients: Any) -> None:
    bedrock, sagemaker, bedrock_stub, _sagemaker_stub = clients
    arn = ARN.format("provisioned-model")
    bedrock_stub.add_response(
        "get_provisioned_model_throughput",
        {
            "modelUnits": 1,
            "desiredModelUnits": 1,
            "provisionedModelName": "tuned",
            "provisionedModelArn": arn,
            "modelArn": CUSTOM,
            "desiredModelArn": CUSTOM,
            "foundationModelArn": NOVA_LITE,
            "status": "Creating",
            "creationTime": NOW,
            "lastModifiedTime": NOW,
        },
        {"provisionedModelId": arn},
    )
    check = check_own_model(own(invocation_arn=arn), bedrock=bedrock, sagemaker=sagemaker)
    assert not check.ok and "Creating, not InService" in check.problems[0]


def test_a_custom_model_deployment_must_be_active(clients: Any) -> None:
    bedrock, sagemaker, bedrock_stub, _sagemaker_stub = clients
    arn = ARN.format("custom-model-deployment")
    bedrock_stub.add_response(
        "get_custom_model_deployment",
        {
            "customModelDeploymentArn": arn,
            "modelDeploymentName": "tuned",
            "modelArn": CUSTOM,
            "createdAt": NOW,
            "status": "Active",
        },
        {"customModelDeploymentIdentifier": arn},
    )
    assert check_own_model(own(invocation_arn=arn), bedrock=bedrock, sagemaker=sagemaker).ok


def test_an_imported_model_converse_cannot_serve_is_a_problem(clients: Any) -> None:
    bedrock, sagemaker, bedrock_stub, _sagemaker_stub = clients
    arn = ARN.format("imported-model")
    bedrock_stub.add_response(
        "get_imported_model",
        {"modelArn": arn, "modelName": "qwen", "instructSupported": False},
        {"modelIdentifier": arn},
    )
    check = check_own_model(own(invocation_arn=arn), bedrock=bedrock, sagemaker=sagemaker)
    assert not check.ok and "instructSupported is false" in check.problems[0]


def test_a_missing_model_names_where_to_fix_it(clients: Any) -> None:
    bedrock, sagemaker, _bedrock_stub, sagemaker_stub = clients
    sagemaker_stub.add_client_error(
        "describe_endpoint", service_error_code="ValidationException", http_status_code=400
    )
    check = check_own_model(
        own(sagemaker_endpoint="support-llama"), bedrock=bedrock, sagemaker=sagemaker
    )
    assert not check.ok and "models.declared" in check.problems[0]
