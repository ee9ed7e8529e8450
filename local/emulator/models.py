"""Which model identifiers the emulator accepts: catalog ids and their inference profile ids."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lambdas.gateway.catalog import ModelSpec, all_models


@dataclass(frozen=True, slots=True)
class Resolved:
    """A model identifier as Bedrock would understand it."""

    spec: ModelSpec
    through_profile: bool


def build_identifier_table() -> Mapping[str, Resolved]:
    """Index every accepted identifier (built from the catalog, never by parsing ids)."""
    table: dict[str, Resolved] = {}
    for spec in all_models().values():
        table[spec.model_id] = Resolved(spec, through_profile=False)
        for geography in spec.profile_geographies:
            table[spec.profile_id(geography)] = Resolved(spec, through_profile=True)
    return table
