"""The doctor's check of own models: each SageMaker endpoint or Bedrock ARN exists and serves.

Statuses are the service models' enums: SageMaker EndpointStatus InService, Provisioned
Throughput InService, custom model deployment Active; an imported model has no status, but its
`instructSupported` says whether Converse (what the gateway calls) serves it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from lambdas.gateway.catalog import Api, ModelSpec
from lambdas.model_access_check.checks import CREDENTIAL_ERROR_CODES, error_code
from local.account_checks import AccountCheck

_KIND = re.compile(r":(imported-model|provisioned-model|custom-model-deployment)/")


def own_models(specs: Sequence[ModelSpec]) -> list[ModelSpec]:
    """The specs that are own models (called by endpoint name or ARN)."""
    return [spec for spec in specs if spec.invocation is not None]


def check_own_model(spec: ModelSpec, *, bedrock: Any, sagemaker: Any) -> AccountCheck:
    """Whether one own model is there and serving, with the fix when it is not."""
    assert spec.invocation is not None
    name = f"own model {spec.model_id} ({spec.invocation})"
    try:
        if spec.api is Api.SAGEMAKER:
            status = sagemaker.describe_endpoint(EndpointName=spec.invocation)["EndpointStatus"]
            return _status(name, status, "InService", "the SageMaker endpoint")
        kind = _KIND.search(spec.invocation)
        assert kind is not None
        if kind.group(1) == "provisioned-model":
            found = bedrock.get_provisioned_model_throughput(provisionedModelId=spec.invocation)
            return _status(name, found["status"], "InService", "the Provisioned Throughput")
        if kind.group(1) == "custom-model-deployment":
            found = bedrock.get_custom_model_deployment(
                customModelDeploymentIdentifier=spec.invocation
            )
            return _status(name, found["status"], "Active", "the custom model deployment")
        found = bedrock.get_imported_model(modelIdentifier=spec.invocation)
        if found.get("instructSupported") is False:
            return AccountCheck(
                name,
                problems=(
                    "Bedrock does not serve this imported model through Converse "
                    "(instructSupported is false): the gateway calls chat models through "
                    "Converse",
                ),
            )
        return AccountCheck(name)
    except ClientError as error:
        if error_code(error) in CREDENTIAL_ERROR_CODES:
            raise
        if error_code(error) in ("ResourceNotFoundException", "ValidationException"):
            return AccountCheck(
                name,
                problems=(
                    f"not found ({error_code(error)}): check the name or ARN in models.declared",
                ),
            )
        return AccountCheck(
            name, problems=(f"could not read it ({error_code(error)}): check your permissions",)
        )


def _status(name: str, status: str, wanted: str, what: str) -> AccountCheck:
    if status == wanted:
        return AccountCheck(name)
    return AccountCheck(
        name, problems=(f"{what} is {status}, not {wanted}: requests to it would fail",)
    )
