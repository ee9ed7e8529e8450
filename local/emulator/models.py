"""Which model identifiers the emulator accepts: catalog ids and their inference profile ids."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from lambdas.gateway.catalog import Geography, ModelSpec, all_models

from .errors import validation


@dataclass(frozen=True, slots=True)
class Resolved:
    """A model identifier as Bedrock would understand it."""

    spec: ModelSpec
    through_profile: bool
    geography: Geography | None = None


def build_identifier_table() -> Mapping[str, Resolved]:
    """Index every accepted identifier (built from the catalog, never by parsing ids)."""
    table: dict[str, Resolved] = {}
    for spec in all_models().values():
        table[spec.model_id] = Resolved(spec, through_profile=False)
        for geography in spec.profile_geographies:
            table[spec.profile_id(geography)] = Resolved(spec, True, geography)
    return MappingProxyType(table)


@functools.cache
def identifier_table() -> Mapping[str, Resolved]:
    """Return the identifier table, built once per process."""
    return build_identifier_table()


def resolve(model_id: str) -> Resolved:
    """Return what `model_id` names, or raise Bedrock's error for an unknown identifier."""
    resolved = identifier_table().get(model_id)
    if resolved is None:
        raise validation("The provided model identifier is invalid.")
    return resolved


def require_on_demand_access(resolved: Resolved, model_id: str) -> None:
    """Raise Bedrock's error when a profile-only model is invoked by its base id."""
    if resolved.spec.requires_profile and not resolved.through_profile:
        raise validation(
            f"Invocation of model ID {model_id} with on-demand throughput isn't supported. "
            "Retry your request with the ID or ARN of an inference profile that contains "
            "this model."
        )
