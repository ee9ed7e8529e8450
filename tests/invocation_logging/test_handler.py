"""Invocation logging as code never silently overwrites another owner's configuration (moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.invocation_logging.handler import (
    ADOPTED,
    CREATED,
    REPLACED,
    ExistingConfigurationError,
    on_event,
)

OURS = {
    "s3Config": {"bucketName": "kit-invocation-logs", "keyPrefix": "bedrock-invocations"},
    "textDataDeliveryEnabled": True,
    "imageDataDeliveryEnabled": False,
    "embeddingDataDeliveryEnabled": False,
}
THEIRS = {"s3Config": {"bucketName": "security-team-logs"}, "textDataDeliveryEnabled": True}


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("bedrock", region_name="us-east-1")


def event(
    request: str, on_existing: str = "fail", physical_id: str | None = None, config: Any = None
) -> dict[str, Any]:
    properties = {"LoggingConfig": json.dumps(config or OURS), "OnExisting": on_existing}
    result: dict[str, Any] = {"RequestType": request, "ResourceProperties": properties}
    if physical_id is not None:
        result["PhysicalResourceId"] = physical_id
    return result


def current(client: Any) -> dict[str, Any]:
    return dict(client.get_model_invocation_logging_configuration().get("loggingConfig") or {})


def test_create_without_existing_configuration_puts_ours(client: Any) -> None:
    answer = on_event(event("Create"), None, client)
    assert answer["PhysicalResourceId"] == CREATED
    assert current(client) == OURS
    assert answer["Data"]["State"] == "created"


def test_delivery_flags_passed_as_strings_become_booleans(client: Any) -> None:
    config = {**OURS, "textDataDeliveryEnabled": "true", "imageDataDeliveryEnabled": "false"}
    on_event(event("Create", config=config), None, client)
    assert current(client)["textDataDeliveryEnabled"] is True
    assert current(client)["imageDataDeliveryEnabled"] is False


def test_existing_configuration_fails_the_create_by_default_naming_it(client: Any) -> None:
    client.put_model_invocation_logging_configuration(loggingConfig=THEIRS)
    with pytest.raises(
        ExistingConfigurationError, match=r"S3 bucket security-team-logs.*on_existing"
    ):
        on_event(event("Create"), None, client)
    assert current(client) == THEIRS


def test_adopt_leaves_the_existing_configuration_and_owns_nothing(client: Any) -> None:
    client.put_model_invocation_logging_configuration(loggingConfig=THEIRS)
    answer = on_event(event("Create", "adopt"), None, client)
    assert answer["PhysicalResourceId"] == ADOPTED
    on_event(event("Update", "adopt", ADOPTED), None, client)
    on_event(event("Delete", "adopt", ADOPTED), None, client)
    assert current(client) == THEIRS


def test_replace_puts_ours_and_delete_restores_theirs(client: Any) -> None:
    client.put_model_invocation_logging_configuration(loggingConfig=THEIRS)
    answer = on_event(event("Create", "replace"), None, client)
    physical_id = answer["PhysicalResourceId"]
    assert physical_id.startswith(REPLACED) and len(physical_id) < 1000
    assert current(client) == OURS
    on_event(event("Delete", "replace", physical_id), None, client)
    assert current(client) == THEIRS


def test_update_of_an_owned_configuration_keeps_the_physical_id(client: Any) -> None:
    on_event(event("Create"), None, client)
    changed = {**OURS, "imageDataDeliveryEnabled": True}
    answer = on_event(event("Update", physical_id=CREATED, config=changed), None, client)
    assert answer["PhysicalResourceId"] == CREATED
    assert current(client)["imageDataDeliveryEnabled"] is True


def test_delete_of_a_created_configuration_removes_it(client: Any) -> None:
    on_event(event("Create"), None, client)
    on_event(event("Delete", physical_id=CREATED), None, client)
    assert current(client) == {}


def test_delete_leaves_a_configuration_someone_changed_since(client: Any) -> None:
    on_event(event("Create"), None, client)
    client.put_model_invocation_logging_configuration(loggingConfig=THEIRS)
    answer = on_event(event("Delete", physical_id=CREATED), None, client)
    assert answer["Data"]["State"] == "left"
    assert current(client) == THEIRS
