"""Bedrock's `loggingConfig`: parsed from the resource property, compared, and described."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

FLAG_SUFFIX = "DataDeliveryEnabled"


def _flag(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    # CloudFormation stringifies booleans in properties that are not passed as a JSON string.
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"LoggingConfig.{name} must be true or false, got {value!r}")


def parse(value: object) -> dict[str, Any]:
    """Return the `loggingConfig` a LoggingConfig property holds, every delivery flag a bool."""
    config = json.loads(value) if isinstance(value, str) else value
    if not isinstance(config, dict) or not config:
        raise ValueError("LoggingConfig must be a non-empty JSON object")
    return {
        key: _flag(key, item) if key.endswith(FLAG_SUFFIX) else item for key, item in config.items()
    }


def current(client: Any) -> dict[str, Any]:
    """Return the account's configuration in this region, or {} when there is none."""
    response = client.get_model_invocation_logging_configuration()
    # Bedrock may omit the key; moto answers an empty object.
    return dict(response.get("loggingConfig") or {})


def _essential(value: object) -> object:
    # Absent, empty and false compare equal: Bedrock may echo defaults the kit never sent (an
    # empty prefix, a false flag for a newer data type), which must not read as "changed".
    if isinstance(value, Mapping):
        kept = {k: _essential(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, "", {}) and v is not False}
    return value


def same(left: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
    """Return whether two configurations send the same data to the same destinations."""
    return _essential(left) == _essential(right)


def destinations(config: Mapping[str, Any]) -> str:
    """Return where a configuration delivers to, in a few words (no flags, no role)."""
    places = []
    s3 = config.get("s3Config") or {}
    if s3.get("bucketName"):
        places.append(
            f"S3 bucket {s3['bucketName']}" + (f"/{s3['keyPrefix']}" if s3.get("keyPrefix") else "")
        )
    cloudwatch = config.get("cloudWatchConfig") or {}
    if cloudwatch.get("logGroupName"):
        places.append(f"CloudWatch log group {cloudwatch['logGroupName']}")
        large = cloudwatch.get("largeDataDeliveryS3Config") or {}
        if large.get("bucketName"):
            places.append(f"large payloads to S3 bucket {large['bucketName']}")
    return ", ".join(places) or "no destination"
