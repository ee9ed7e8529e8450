"""Which model identifiers the emulator accepts, and whether Bedrock still serves them.

The table holds every catalog id and its inference profile ids, plus any model a deployment
declares in its config (the local runner passes those in). Nothing here parses an id.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from lambdas.gateway.catalog import Api, Geography, LifecycleStatus, ModelSpec
from model_catalog import all_models

from .errors import BedrockError, validation

# What Bedrock answers for a model version past its end-of-life date (AWS model cards).
END_OF_LIFE_MESSAGE = "This model version has reached the end of its life."
DEFAULT_REGION = "us-east-1"
# SigV4: Authorization: AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request, ...
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")


@dataclass(frozen=True, slots=True)
class Resolved:
    """A model identifier as Bedrock would understand it."""

    spec: ModelSpec
    through_profile: bool
    geography: Geography | None = None


def build_identifier_table(specs: Iterable[ModelSpec]) -> Mapping[str, Resolved]:
    """Index every accepted identifier of `specs` (never by parsing ids)."""
    table: dict[str, Resolved] = {}
    for spec in specs:
        if spec.invocation is not None:
            # An own model: Bedrock knows it by its ARN only (a SageMaker endpoint, not at all).
            if spec.api is not Api.SAGEMAKER:
                table[spec.invocation] = Resolved(spec, through_profile=False)
            continue
        table[spec.model_id] = Resolved(spec, through_profile=False)
        for geography in spec.profile_geographies:
            table[spec.profile_id(geography)] = Resolved(spec, True, geography)
    return MappingProxyType(table)


@functools.cache
def identifier_table() -> Mapping[str, Resolved]:
    """Return the catalog's identifier table, built once per process."""
    return build_identifier_table(all_models().values())


def with_declared(specs: Iterable[ModelSpec]) -> Mapping[str, Resolved]:
    """Return the catalog's table plus the identifiers of config-declared `specs`."""
    return MappingProxyType({**identifier_table(), **build_identifier_table(specs)})


def resolve(model_id: str, table: Mapping[str, Resolved] | None = None) -> Resolved:
    """Return what `model_id` names, or raise Bedrock's error for an unknown identifier."""
    resolved = (identifier_table() if table is None else table).get(model_id)
    if resolved is None:
        raise validation("The provided model identifier is invalid.")
    return resolved


def signed_region(headers: Mapping[str, str]) -> str:
    """Return the region the client signed its request for (Bedrock serves one per endpoint)."""
    match = _CREDENTIAL_SCOPE.search(headers.get("authorization", ""))
    return match.group(1) if match else DEFAULT_REGION


def require_alive(resolved: Resolved, region: str, day: date) -> None:
    """Raise Bedrock's ResourceNotFoundException for a model past its end of life in `region`."""
    if resolved.spec.lifecycle.status_on(day, region) is LifecycleStatus.END_OF_LIFE:
        raise BedrockError("ResourceNotFoundException", END_OF_LIFE_MESSAGE)


def require_on_demand_access(resolved: Resolved, model_id: str) -> None:
    """Raise Bedrock's error when a profile-only model is invoked by its base id."""
    if resolved.spec.requires_profile and not resolved.through_profile:
        raise validation(
            f"Invocation of model ID {model_id} with on-demand throughput isn't supported. "
            "Retry your request with the ID or ARN of an inference profile that contains "
            "this model."
        )
