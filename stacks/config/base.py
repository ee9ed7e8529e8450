"""The config package's foundations: its error, enums, constants and the table base class."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    model_validator,
)


class ConfigError(Exception):
    """A configuration problem: one line per problem, for the person editing the file."""


class NetworkMode(StrEnum):
    """Whether the kit creates its VPC or imports an existing one."""

    CREATE = "create"
    EXISTING = "existing"


class EndpointType(StrEnum):
    """API Gateway endpoint type of the invocation API."""

    REGIONAL = "REGIONAL"
    PRIVATE = "PRIVATE"


class ApiAuth(StrEnum):
    """How callers authenticate at API Gateway (unrelated to the gateway Lambda's AuthMode)."""

    # Per-team API keys sent as `Authorization: Bearer <key>` (what the OpenAI SDK sends).
    API_KEY = "api_key"
    # AWS SigV4 for callers inside AWS, limited to api.iam_principals / api.organization_id.
    IAM = "iam"


class AccessCheckMode(StrEnum):
    """What the deploy-time model access pre-flight does with a problem."""

    STRICT = "strict"
    WARN = "warn"
    OFF = "off"


class OnExisting(StrEnum):
    """What invocation logging does when the account already has a configuration."""

    ADOPT = "adopt"
    REPLACE = "replace"
    FAIL = "fail"


# AWS WAF's rate-based rules count requests over this window (seconds).
WAF_WINDOW_SECONDS = 300
CROSS_REGION_NONE = "none"
# The current Lambda Web Adapter layer (v1.1.0, 2026-09-18; version 29 was never published).
WEB_ADAPTER_LAYER_VERSION = 30
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653)


class Problem(ValueError):
    """A broken rule; `key` (dotted, or "") is relative to the table being validated."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class Section(BaseModel):
    """One TOML table: frozen, and an unknown key is an error (a typo never becomes a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # Keys the table no longer accepts, with what to do instead.
    RETIRED_KEYS: ClassVar[Mapping[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _read_table(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        for key in data:
            if key in cls.RETIRED_KEYS:
                raise Problem(key, cls.RETIRED_KEYS[key])
            if key not in cls.model_fields:
                raise Problem(key, f"unknown key; allowed keys: {', '.join(cls.model_fields)}")
        # `key = ""` means "not set" for optional keys, as in the shipped `account = ""`.
        unset = {k for k, v in data.items() if v == "" and cls.model_fields[k].default is None}
        return {k: None if k in unset else v for k, v in data.items()}
