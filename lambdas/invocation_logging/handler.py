"""Custom-resource handler owning Bedrock's invocation logging setting, never silently.

The setting is one per account and region. On create an existing configuration is adopted,
replaced (and restored on delete) or refused, per `OnExisting`. The physical id records what
the kit did, so updates and deletes know what they own.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

PREFIX = "bedrock-invocation-logging"
CREATED = f"{PREFIX}:created"
ADOPTED = f"{PREFIX}:adopted"
REPLACED = f"{PREFIX}:replaced:"
REPLACED_UNRECORDED = f"{PREFIX}:replaced-unrecorded"
MAX_PHYSICAL_ID = 1000
DELIVERY_FLAGS = (
    "textDataDeliveryEnabled",
    "imageDataDeliveryEnabled",
    "embeddingDataDeliveryEnabled",
    "videoDataDeliveryEnabled",
)


class ExistingConfigurationError(Exception):
    """Refuses to overwrite another owner's configuration (OnExisting = fail)."""


def desired_config(properties: dict[str, Any]) -> dict[str, Any]:
    """Parse the wanted loggingConfig; delivery flags become real booleans."""
    config: dict[str, Any] = json.loads(properties["LoggingConfig"])
    for flag in DELIVERY_FLAGS:
        if flag in config:
            config[flag] = config[flag] in (True, "true", "True")
    return config


def current_config(client: Any) -> dict[str, Any]:
    """Return the account's configuration, or {} when there is none."""
    response = client.get_model_invocation_logging_configuration()
    return dict(response.get("loggingConfig") or {})


def _encode(config: dict[str, Any]) -> str:
    packed = zlib.compress(json.dumps(config, sort_keys=True).encode())
    return base64.urlsafe_b64encode(packed).decode()


def _decode(text: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(zlib.decompress(base64.urlsafe_b64decode(text)))
    return decoded


def _destinations(config: dict[str, Any]) -> str:
    bucket = config.get("s3Config", {}).get("bucketName")
    group = config.get("cloudWatchConfig", {}).get("logGroupName")
    return ", ".join(
        f"{kind} {name}" for kind, name in (("S3 bucket", bucket), ("log group", group)) if name
    )


def _answer(physical_id: str, state: str, config: dict[str, Any]) -> dict[str, Any]:
    return {
        "PhysicalResourceId": physical_id,
        "Data": {"State": state, "Destinations": _destinations(config) or "none"},
    }


def on_event(event: dict[str, Any], _context: object, client: Any = None) -> dict[str, Any]:
    """Handle a CloudFormation request relayed by the CDK provider framework."""
    if client is None:
        import boto3

        client = boto3.client("bedrock")
    request = event["RequestType"]
    properties = event["ResourceProperties"]
    wanted = desired_config(properties)
    if request == "Create":
        return _create(client, wanted, properties.get("OnExisting", "fail"))
    physical_id = str(event["PhysicalResourceId"])
    if request == "Update":
        if physical_id == ADOPTED:
            return _answer(physical_id, "adopted", current_config(client))
        # Same physical id: a new one would make CloudFormation delete (restore) the old one.
        client.put_model_invocation_logging_configuration(loggingConfig=wanted)
        return _answer(physical_id, "owned", wanted)
    return _delete(client, physical_id, wanted)


def _create(client: Any, wanted: dict[str, Any], on_existing: str) -> dict[str, Any]:
    existing = current_config(client)
    if not existing:
        client.put_model_invocation_logging_configuration(loggingConfig=wanted)
        return _answer(CREATED, "created", wanted)
    if existing == wanted or on_existing == "adopt":
        # Someone else's setting (or already ours from outside the stack): leave it be.
        return _answer(ADOPTED, "adopted", existing)
    if on_existing == "fail":
        raise ExistingConfigurationError(
            "This account and region already have Bedrock invocation logging to "
            f"{_destinations(existing) or 'other destinations'}. Set "
            "invocation_logging.on_existing to 'adopt' (keep it) or 'replace' (use the kit's, "
            "restored on stack deletion)."
        )
    client.put_model_invocation_logging_configuration(loggingConfig=wanted)
    physical_id = REPLACED + _encode(existing)
    if len(physical_id) > MAX_PHYSICAL_ID:
        print("warning: previous configuration too large to record; delete won't restore it")  # noqa: T201
        physical_id = REPLACED_UNRECORDED
    return _answer(physical_id, "replaced", wanted)


def _delete(client: Any, physical_id: str, wanted: dict[str, Any]) -> dict[str, Any]:
    if physical_id == ADOPTED or not physical_id.startswith(PREFIX):
        return _answer(physical_id, "adopted", {})
    if physical_id.startswith(REPLACED):
        previous = _decode(physical_id[len(REPLACED) :])
        client.put_model_invocation_logging_configuration(loggingConfig=previous)
        return _answer(physical_id, "restored", previous)
    if current_config(client) != wanted:
        print("warning: invocation logging was changed outside the stack; leaving it in place")  # noqa: T201
        return _answer(physical_id, "left", {})
    client.delete_model_invocation_logging_configuration()
    return _answer(physical_id, "deleted", {})
