"""Custom-resource handler (CDK provider framework) owning Bedrock's invocation logging setting.

ResourceProperties: LoggingConfig (the `loggingConfig` object as a JSON string) and OnExisting
("adopt", "replace" or "fail"). The setting is one per account and region, so it is never
overwritten silently: on Create an existing configuration is adopted (left alone, never
touched again), replaced (and restored on Delete) or refused. The physical id records which
(see `ownership`), and Updates keep it so CloudFormation never runs a replacing Delete.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from . import logging_config
from .ownership import Ownership, State, parse, physical_id

ON_EXISTING = ("adopt", "replace", "fail")
# Data values stay short: CloudFormation caps the whole response at 4096 bytes, and the
# physical id alone may take 1000.
MAX_DATA_VALUE = 400

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)


class ExistingConfigurationError(Exception):
    """Refuses to overwrite another owner's configuration (OnExisting = fail)."""


def _bedrock_client() -> Any:
    # Imported and created on first use so tests can inject a moto-backed client.
    import boto3

    return boto3.client("bedrock")


def _short(text: str) -> str:
    return text if len(text) <= MAX_DATA_VALUE else text[: MAX_DATA_VALUE - 3] + "..."


def _answer(physical: str, state: str, config: Mapping[str, Any], detail: str) -> dict[str, Any]:
    return {
        "PhysicalResourceId": physical,
        "Data": {
            "State": str(state),
            "Destinations": _short(logging_config.destinations(config)),
            "Detail": _short(detail),
        },
    }


def _put(client: Any, config: dict[str, Any]) -> None:
    client.put_model_invocation_logging_configuration(loggingConfig=config)


def _create(client: Any, wanted: dict[str, Any], on_existing: str) -> dict[str, Any]:
    existing = logging_config.current(client)
    if not existing:
        _put(client, wanted)
        return _answer(physical_id(State.CREATED), State.CREATED, wanted, "configuration set")
    if logging_config.same(existing, wanted):
        # Identical already, put there by someone: keep it without claiming it, so deleting the
        # stack cannot remove a setting the kit did not create.
        return _answer(
            physical_id(State.ADOPTED),
            State.ADOPTED,
            existing,
            "an identical configuration already existed; the stack will never change it",
        )
    if on_existing == "adopt":
        return _answer(
            physical_id(State.ADOPTED),
            State.ADOPTED,
            existing,
            "existing configuration kept; updates and deletes of this stack change nothing",
        )
    if on_existing == "fail":
        raise ExistingConfigurationError(
            "Bedrock model invocation logging is already configured in this account and region "
            f"({logging_config.destinations(existing)}). Set invocation_logging.on_existing to "
            '"adopt" (keep it; the stack never changes it) or "replace" (use the kit\'s; the '
            "current one is restored when the stack is deleted), or disable "
            "invocation_logging.enabled."
        )
    _put(client, wanted)
    physical = physical_id(State.REPLACED, existing)
    recorded = parse(physical)
    if recorded is not None and recorded.state is State.REPLACED_UNRECORDED:
        LOGGER.warning(
            "previous invocation logging configuration (%s) is too large to record: deleting "
            "the stack will remove the kit's configuration without restoring it",
            logging_config.destinations(existing),
        )
    return _answer(
        physical,
        State.REPLACED,
        wanted,
        f"replaced {logging_config.destinations(existing)}; restored when the stack is deleted",
    )


def _update(
    client: Any,
    physical: str,
    owner: Ownership,
    wanted: dict[str, Any],
    before: dict[str, Any] | None,
) -> dict[str, Any]:
    existing = logging_config.current(client)
    if not owner.state.owned:
        return _answer(
            physical,
            owner.state,
            existing,
            "adopted configuration left unchanged; to manage it, remove and re-add the resource",
        )
    detail = "configuration updated"
    if existing and before is not None and not logging_config.same(existing, before):
        # The stack owns the setting and this deployment asks for a new value, so it is applied;
        # refusing would also fail the rollback. But it is said, not done silently.
        changed = logging_config.destinations(existing)
        detail = f"configuration updated, overwriting a change made outside the stack ({changed})"
        LOGGER.warning("%s", detail)
    _put(client, wanted)
    # The same physical id: a new one would make CloudFormation Delete the old resource,
    # which would restore or delete the configuration just put.
    return _answer(physical, owner.state, wanted, detail)


def _delete(client: Any, physical: str, owner: Ownership, wanted: dict[str, Any]) -> dict[str, Any]:
    if not owner.state.owned:
        return _answer(physical, owner.state, {}, "adopted configuration left in place")
    existing = logging_config.current(client)
    if not existing:
        return _answer(physical, owner.state, {}, "no configuration left to remove")
    if not logging_config.same(existing, wanted):
        # Changed outside the stack since: it is someone else's now, restoring or deleting
        # would overwrite their decision.
        LOGGER.warning(
            "invocation logging changed outside the stack (now %s): leaving it in place",
            logging_config.destinations(existing),
        )
        return _answer(physical, owner.state, existing, "changed outside the stack; left")
    if owner.previous is not None:
        _put(client, owner.previous)
        return _answer(physical, owner.state, owner.previous, "previous configuration restored")
    if owner.state is State.REPLACED_UNRECORDED:
        LOGGER.warning("the configuration the kit replaced was not recorded and is not restored")
    client.delete_model_invocation_logging_configuration()
    return _answer(physical, owner.state, {}, "configuration deleted")


def on_event(
    event: Mapping[str, Any], context: object, *, client: Any | None = None
) -> dict[str, Any]:
    """Handle one CloudFormation request relayed by the CDK provider framework."""
    request = event["RequestType"]
    properties = event["ResourceProperties"]
    wanted = logging_config.parse(properties.get("LoggingConfig"))
    on_existing = properties.get("OnExisting", "fail")
    if on_existing not in ON_EXISTING:
        raise ValueError(f"OnExisting must be one of {', '.join(ON_EXISTING)}, got {on_existing!r}")
    bedrock = client if client is not None else _bedrock_client()
    if request == "Create":
        return _create(bedrock, wanted, on_existing)
    physical = str(event["PhysicalResourceId"])
    owner = parse(physical)
    if owner is None:
        if request == "Delete":
            # Not written by this handler (e.g. an older version): never touch the setting.
            LOGGER.warning("unknown physical id %s: leaving invocation logging alone", physical)
            return _answer(physical, "unknown", {}, "not managed by this handler; left")
        raise ValueError(f"unknown physical id {physical!r}: not written by this handler")
    if request == "Update":
        old = event.get("OldResourceProperties", {}).get("LoggingConfig")
        before = logging_config.parse(old) if old else None
        return _update(bedrock, physical, owner, wanted, before)
    return _delete(bedrock, physical, owner, wanted)
