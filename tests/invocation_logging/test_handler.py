"""Invocation logging as code never silently overwrites another owner's configuration (moto)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.invocation_logging import ownership
from lambdas.invocation_logging.handler import ExistingConfigurationError, on_event

CREATED = "bedrock-invocation-logging:created"
ADOPTED = "bedrock-invocation-logging:adopted"
REPLACED_PREFIX = "bedrock-invocation-logging:replaced:"
UNRECORDED = "bedrock-invocation-logging:replaced-unrecorded"

OURS: dict[str, Any] = {
    "cloudWatchConfig": {
        "logGroupName": "kit-invocations",
        "roleArn": "arn:aws:iam::123456789012:role/kit-delivery",
        "largeDataDeliveryS3Config": {"bucketName": "kit-invocation-logs", "keyPrefix": "big"},
    },
    "s3Config": {"bucketName": "kit-invocation-logs", "keyPrefix": "bedrock-invocations"},
    "textDataDeliveryEnabled": True,
    "imageDataDeliveryEnabled": False,
    "embeddingDataDeliveryEnabled": False,
    "videoDataDeliveryEnabled": False,
}
THEIRS: dict[str, Any] = {
    "s3Config": {"bucketName": "security-team-logs", "keyPrefix": "bedrock"},
    "textDataDeliveryEnabled": True,
    "imageDataDeliveryEnabled": True,
    "embeddingDataDeliveryEnabled": True,
}


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("bedrock", region_name="us-east-1")


def event(
    request: str,
    on_existing: str = "fail",
    physical_id: str | None = None,
    config: dict[str, Any] | None = None,
    old_config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "RequestType": request,
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
            "LoggingConfig": json.dumps(OURS if config is None else config),
            "OnExisting": on_existing,
        },
    }
    if physical_id is not None:
        result["PhysicalResourceId"] = physical_id
    if request == "Update":
        result["OldResourceProperties"] = {
            **result["ResourceProperties"],
            "LoggingConfig": json.dumps(OURS if old_config is None else old_config),
        }
    return result


def current(client: Any) -> dict[str, Any]:
    return dict(client.get_model_invocation_logging_configuration().get("loggingConfig") or {})


def put(client: Any, config: dict[str, Any]) -> None:
    client.put_model_invocation_logging_configuration(loggingConfig=config)


# Create


def test_create_without_an_existing_configuration_puts_ours_and_owns_it(client: Any) -> None:
    answer = on_event(event("Create"), None, client=client)
    assert answer == {
        "PhysicalResourceId": CREATED,
        "Data": {
            "State": "created",
            "Destinations": (
                "S3 bucket kit-invocation-logs/bedrock-invocations, CloudWatch log group "
                "kit-invocations, large payloads to S3 bucket kit-invocation-logs"
            ),
            "Detail": "configuration set",
        },
    }
    assert current(client) == OURS


def test_delivery_flags_passed_as_strings_are_put_as_booleans(client: Any) -> None:
    config = {**OURS, "textDataDeliveryEnabled": "true", "imageDataDeliveryEnabled": "False"}
    on_event(event("Create", config=config), None, client=client)
    stored = current(client)
    assert stored["textDataDeliveryEnabled"] is True
    assert stored["imageDataDeliveryEnabled"] is False


def test_a_delivery_flag_that_is_not_a_boolean_is_refused(client: Any) -> None:
    with pytest.raises(ValueError, match="imageDataDeliveryEnabled must be true or false"):
        on_event(
            event("Create", config={**OURS, "imageDataDeliveryEnabled": "yes"}), None, client=client
        )
    assert current(client) == {}


def test_create_with_an_existing_configuration_fails_by_default_naming_it(client: Any) -> None:
    put(client, THEIRS)
    with pytest.raises(ExistingConfigurationError) as caught:
        on_event(event("Create", "fail"), None, client=client)
    message = str(caught.value)
    assert "S3 bucket security-team-logs/bedrock" in message
    assert "invocation_logging.on_existing" in message
    assert current(client) == THEIRS


def test_create_with_adopt_leaves_the_existing_configuration(client: Any) -> None:
    put(client, THEIRS)
    answer = on_event(event("Create", "adopt"), None, client=client)
    assert answer["PhysicalResourceId"] == ADOPTED
    assert answer["Data"]["State"] == "adopted"
    assert answer["Data"]["Destinations"] == "S3 bucket security-team-logs/bedrock"
    assert "updates and deletes of this stack change nothing" in answer["Data"]["Detail"]
    assert current(client) == THEIRS


def test_create_with_replace_puts_ours_and_records_theirs_in_the_physical_id(
    client: Any,
) -> None:
    put(client, THEIRS)
    answer = on_event(event("Create", "replace"), None, client=client)
    physical_id = answer["PhysicalResourceId"]
    assert physical_id.startswith(REPLACED_PREFIX) and len(physical_id) <= 1000
    assert answer["Data"]["State"] == "replaced"
    assert current(client) == OURS
    recorded = ownership.parse(physical_id)
    assert recorded is not None and recorded.previous == THEIRS


@pytest.mark.parametrize("on_existing", ["fail", "replace", "adopt"])
def test_an_identical_existing_configuration_is_adopted_not_claimed(
    client: Any, on_existing: str
) -> None:
    put(client, OURS)
    answer = on_event(event("Create", on_existing), None, client=client)
    assert answer["PhysicalResourceId"] == ADOPTED
    on_event(event("Delete", on_existing, ADOPTED), None, client=client)
    assert current(client) == OURS


def test_a_previous_configuration_too_large_to_record_is_replaced_unrecorded(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Hash digests do not compress below the 1000-character physical id limit.
    noise = "".join(hashlib.sha256(str(n).encode()).hexdigest() for n in range(40))
    huge = {
        **THEIRS,
        "s3Config": {"bucketName": "security-team-logs", "keyPrefix": noise[:1000]},
        "cloudWatchConfig": {
            "logGroupName": noise[1000:1500],
            "roleArn": OURS["cloudWatchConfig"]["roleArn"],
        },
    }
    put(client, huge)
    with caplog.at_level(logging.WARNING):
        answer = on_event(event("Create", "replace"), None, client=client)
    assert answer["PhysicalResourceId"] == UNRECORDED
    assert "too large to record" in caplog.text
    # The response must stay within CloudFormation's 4096 bytes however long the names are.
    assert max(len(value) for value in answer["Data"].values()) <= 400
    assert current(client) == OURS
    on_event(event("Delete", "replace", UNRECORDED), None, client=client)
    assert current(client) == {}


# Update


@pytest.mark.parametrize("on_existing", ["fail", "replace"])
def test_update_of_an_owned_configuration_puts_the_new_one_and_keeps_the_physical_id(
    client: Any, on_existing: str
) -> None:
    put(client, THEIRS)
    if on_existing == "fail":
        client.delete_model_invocation_logging_configuration()
    physical_id = on_event(event("Create", on_existing), None, client=client)["PhysicalResourceId"]
    changed = {**OURS, "imageDataDeliveryEnabled": True}
    answer = on_event(event("Update", on_existing, physical_id, changed), None, client=client)
    assert answer["PhysicalResourceId"] == physical_id
    assert current(client) == changed


def test_update_over_a_change_made_outside_the_stack_applies_ours_and_says_so(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    on_event(event("Create"), None, client=client)
    put(client, THEIRS)
    changed = {**OURS, "imageDataDeliveryEnabled": True}
    with caplog.at_level(logging.WARNING):
        answer = on_event(event("Update", physical_id=CREATED, config=changed), None, client=client)
    assert answer["PhysicalResourceId"] == CREATED
    assert answer["Data"]["Detail"] == (
        "configuration updated, overwriting a change made outside the stack "
        "(S3 bucket security-team-logs/bedrock)"
    )
    assert "overwriting a change made outside the stack" in caplog.text
    assert current(client) == changed


def test_update_of_an_adopted_configuration_changes_nothing_and_says_so(client: Any) -> None:
    put(client, THEIRS)
    on_event(event("Create", "adopt"), None, client=client)
    changed = {**OURS, "imageDataDeliveryEnabled": True}
    answer = on_event(event("Update", "replace", ADOPTED, changed), None, client=client)
    assert answer["PhysicalResourceId"] == ADOPTED
    assert answer["Data"]["State"] == "adopted"
    assert "left unchanged" in answer["Data"]["Detail"]
    assert current(client) == THEIRS


# Delete


def test_delete_of_a_created_configuration_removes_it(client: Any) -> None:
    on_event(event("Create"), None, client=client)
    answer = on_event(event("Delete", physical_id=CREATED), None, client=client)
    assert answer["PhysicalResourceId"] == CREATED
    assert current(client) == {}


def test_delete_of_a_replaced_configuration_restores_the_previous_one(client: Any) -> None:
    put(client, THEIRS)
    physical_id = on_event(event("Create", "replace"), None, client=client)["PhysicalResourceId"]
    answer = on_event(event("Delete", "replace", physical_id), None, client=client)
    assert answer["Data"]["Detail"] == "previous configuration restored"
    assert current(client) == THEIRS


def test_delete_after_an_update_removes_the_updated_configuration(client: Any) -> None:
    on_event(event("Create"), None, client=client)
    changed = {**OURS, "embeddingDataDeliveryEnabled": True}
    on_event(event("Update", physical_id=CREATED, config=changed), None, client=client)
    on_event(event("Delete", physical_id=CREATED, config=changed), None, client=client)
    assert current(client) == {}


def test_delete_of_an_adopted_configuration_changes_nothing(client: Any) -> None:
    put(client, THEIRS)
    on_event(event("Create", "adopt"), None, client=client)
    on_event(event("Delete", "adopt", ADOPTED), None, client=client)
    assert current(client) == THEIRS


@pytest.mark.parametrize("on_existing", ["fail", "replace"])
def test_delete_leaves_a_configuration_someone_changed_since(
    client: Any, on_existing: str, caplog: pytest.LogCaptureFixture
) -> None:
    if on_existing == "replace":
        put(client, THEIRS)
    physical_id = on_event(event("Create", on_existing), None, client=client)["PhysicalResourceId"]
    newer = {**THEIRS, "s3Config": {"bucketName": "audit-2027"}}
    put(client, newer)
    with caplog.at_level(logging.WARNING):
        answer = on_event(event("Delete", on_existing, physical_id), None, client=client)
    assert answer["Data"]["Detail"] == "changed outside the stack; left"
    assert "changed outside the stack" in caplog.text
    assert current(client) == newer


def test_delete_when_the_configuration_is_already_gone_succeeds(client: Any) -> None:
    on_event(event("Create"), None, client=client)
    client.delete_model_invocation_logging_configuration()
    answer = on_event(event("Delete", physical_id=CREATED), None, client=client)
    assert answer["Data"]["Detail"] == "no configuration left to remove"


def test_delete_of_a_physical_id_this_handler_did_not_write_touches_nothing(client: Any) -> None:
    put(client, THEIRS)
    answer = on_event(event("Delete", physical_id="something-else"), None, client=client)
    assert answer["PhysicalResourceId"] == "something-else"
    assert current(client) == THEIRS


def test_unreadable_replace_record_deletes_ours_without_restoring(client: Any) -> None:
    on_event(event("Create"), None, client=client)
    broken = f"{REPLACED_PREFIX}not-base64-zlib!"
    on_event(event("Delete", "replace", broken), None, client=client)
    assert current(client) == {}


def test_malformed_on_existing_is_refused_before_any_call(client: Any) -> None:
    put(client, THEIRS)
    with pytest.raises(ValueError, match="OnExisting must be one of adopt, replace, fail"):
        on_event(event("Create", "overwrite"), None, client=client)
    assert current(client) == THEIRS


def test_create_without_an_injected_client_uses_boto3_in_the_lambda_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        answer = on_event(event("Create"), None)
        assert answer["PhysicalResourceId"] == CREATED
        assert current(boto3.client("bedrock", region_name="eu-west-1")) == OURS
        assert current(boto3.client("bedrock", region_name="us-east-1")) == {}
