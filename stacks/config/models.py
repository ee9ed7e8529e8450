"""The [models] table: enabled models, aliases, declared models and their lifecycle."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Annotated

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    InstanceOf,
    field_validator,
)

from lambdas.gateway.catalog import Geography, ModelSpec
from lambdas.gateway.routing import Routing
from model_catalog import all_models
from model_catalog.currency import lifecycle_notice
from model_catalog.geographies import SOURCES, callable_from
from model_catalog.schema import declared_spec
from stacks.config.base import (
    CROSS_REGION_NONE,
    Problem,
    Section,
)
from stacks.config.patterns import (
    Name,
)


class ModelsConfig(Section):
    """Which models are enabled, their aliases and the cross-region geography."""

    enabled: tuple[str, ...]
    aliases: Annotated[Mapping[str, tuple[str, ...]], AfterValidator(MappingProxyType)]
    cross_region: Geography | None
    # The enabled models' specs: catalog entries, or the config's own declarations.
    table: Annotated[Mapping[str, InstanceOf[ModelSpec]], AfterValidator(MappingProxyType)]
    # Every model id the catalog or the config knows (enabled or not).
    known_ids: frozenset[str] = frozenset()
    # One line per LEGACY model or overridden catalog entry, printed at synthesis.
    warnings: tuple[str, ...] = ()

    def specs(self) -> tuple[ModelSpec, ...]:
        """Return the specs of the enabled models, in config order."""
        return tuple(self.table[model_id] for model_id in self.enabled)

    def routing(self) -> Routing:
        """Return the gateway routing these settings describe."""
        return Routing(
            enabled=self.specs(),
            aliases=self.aliases,
            geography=self.cross_region,
            known_ids=self.known_ids,
        )


def _own_arn_region(spec: ModelSpec) -> str | None:
    """The region of an own model's Bedrock ARN (arn:PARTITION:bedrock:REGION:...), if any."""
    if spec.invocation is None or not spec.invocation.startswith("arn:"):
        return None
    return spec.invocation.split(":")[3]


def _cross_region(value: object) -> object:
    if value != CROSS_REGION_NONE and value not in tuple(Geography):
        raise ValueError(f"{value!r} is not one of {', '.join((CROSS_REGION_NONE, *Geography))}")
    return None if value == CROSS_REGION_NONE else value


def _fallbacks(value: object) -> object:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list | tuple) or not value:
        raise ValueError("must be a model id or a non-empty list of model ids (fallbacks)")
    return value


class ModelsTable(Section):
    """The [models] table as written; resolve() checks it against the catalog on a day."""

    enabled: tuple[str, ...] = ()
    cross_region: Annotated[Geography | None, BeforeValidator(_cross_region)] = None
    # Catalog ids contain '.' and ':', so an alias can never shadow a model id.
    aliases: dict[Name, Annotated[tuple[str, ...], BeforeValidator(_fallbacks)]] = Field(
        default_factory=dict
    )
    declared: dict[str, InstanceOf[ModelSpec]] = Field(default_factory=dict)

    @field_validator("declared", mode="before")
    @classmethod
    def _declared_specs(cls, tables: object) -> object:
        if not isinstance(tables, dict):
            return tables
        specs = {}
        for model_id, data in tables.items():
            try:
                specs[model_id] = declared_spec(model_id, data)
            except ValueError as error:
                raise Problem(model_id, str(error)) from None
        return specs

    def resolve(self, today: date, region: str | None) -> ModelsConfig:
        """Check lifecycles, regions, profiles and aliases (keys relative to [models])."""
        geography = self.cross_region
        if geography is not None and region is not None and not callable_from(geography, region):
            raise Problem(
                "cross_region",
                f"{geography.value!r} profiles cannot be called from deployment.region {region}; "
                f"their source regions are {', '.join(SOURCES[geography])}",
            )
        catalog = all_models()
        # Every lifecycle check, and the successors it suggests, read the same table.
        table = {**catalog, **self.declared}
        overrides = (model_id for model_id in self.declared if model_id in catalog)
        warnings = [
            f"models.declared.{model_id}: overrides the catalog entry" for model_id in overrides
        ]

        def check_lifecycle(key: str, spec: ModelSpec) -> None:
            notice = lifecycle_notice(spec, table, today, region)
            if notice is not None and notice.fatal:
                raise Problem(key, notice.message)
            if notice is not None and f"models.{key}: {notice.message}" not in warnings:
                warnings.append(f"models.{key}: {notice.message}")

        if not self.enabled:
            raise Problem("enabled", "must list at least one model id from the catalog")
        for index, model_id in enumerate(self.enabled):
            if model_id not in table:
                raise Problem(
                    "enabled",
                    f"{model_id!r} is not in the model catalog (docs/models.md lists the ids; "
                    "declare a newer model under models.declared)",
                )
            if model_id in self.enabled[:index]:
                raise Problem("enabled", f"{model_id!r} is listed twice")
            spec = table[model_id]
            check_lifecycle("enabled", spec)
            arn_region = _own_arn_region(spec)
            if arn_region is not None and region is not None and arn_region != region:
                raise Problem(
                    f"declared.{model_id}.invocation_arn",
                    f"is in {arn_region}, not in deployment.region {region}: the gateway calls "
                    "its own region's Bedrock",
                )
            profiled = geography is not None and geography in spec.profile_geographies
            if not profiled and region is not None and spec.regions and region not in spec.regions:
                raise Problem(
                    "enabled",
                    f"{model_id!r} is served in {', '.join(spec.regions)} only, not in {region} "
                    "(deployment.region)",
                )
            if spec.requires_profile and not profiled:
                raise Problem(
                    "cross_region",
                    f"{model_id!r} is only served through a cross-region inference profile; set "
                    f"cross_region to one of: {', '.join(sorted(spec.profile_geographies))}",
                )
        for alias, targets in self.aliases.items():
            for model_id in targets:
                if model_id in table:
                    check_lifecycle(f"aliases.{alias}", table[model_id])
                if model_id not in self.enabled:
                    raise Problem(
                        f"aliases.{alias}",
                        f"points to {model_id!r}, which is not in models.enabled; "
                        f"allowed: {', '.join(self.enabled)}",
                    )
            if len({table[model_id].modality for model_id in targets}) > 1:
                mixed = ", ".join(f"{m} ({table[m].modality.value})" for m in targets)
                raise Problem(
                    f"aliases.{alias}",
                    f"mixes modalities ({mixed}): every target of an alias must produce the same "
                    "kind of output",
                )
        return ModelsConfig(
            enabled=self.enabled,
            aliases=self.aliases,
            cross_region=geography,
            table={model_id: table[model_id] for model_id in self.enabled},
            known_ids=frozenset(table),
            warnings=tuple(warnings),
        )
