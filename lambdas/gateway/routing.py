"""Resolves the `model` a client asks for (catalog id, profile id or alias) to Bedrock targets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from .catalog import Geography, Modality, ModelSpec, UnknownModelError, get_model
from .errors import ApiError


@dataclass(frozen=True, slots=True)
class Target:
    """One model to call: its catalog entry and the id Bedrock is called with."""

    spec: ModelSpec
    invocation_id: str


@dataclass(frozen=True, slots=True)
class Routing:
    """The enabled models of a deployment, their aliases and the cross-region geography."""

    enabled: tuple[ModelSpec, ...]
    aliases: Mapping[str, tuple[str, ...]]
    geography: Geography | None
    _names: Mapping[str, ModelSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Catalog ids and, for the configured geography, profile ids both name a model.
        names: dict[str, ModelSpec] = {}
        for spec in self.enabled:
            names[spec.model_id] = spec
            if self.geography is not None and self.geography in spec.profile_geographies:
                names[spec.profile_id(self.geography)] = spec
        object.__setattr__(self, "_names", names)

    @classmethod
    def from_json(cls, text: str) -> Routing:
        """Build routing from the JSON the CDK app (or the local runner) hands the gateway."""
        data = json.loads(text)
        geography = data.get("cross_region")
        routing = cls(
            enabled=tuple(get_model(model_id) for model_id in data["enabled"]),
            aliases={name: tuple(ids) for name, ids in data.get("aliases", {}).items()},
            geography=None if geography in (None, "none") else Geography(geography),
        )
        routing.check()
        return routing

    def to_json(self) -> str:
        """Serialize for the gateway's environment (the inverse of from_json)."""
        return json.dumps(
            {
                "enabled": [spec.model_id for spec in self.enabled],
                "aliases": {name: list(ids) for name, ids in self.aliases.items()},
                "cross_region": self.geography.value if self.geography else "none",
            },
            separators=(",", ":"),
        )

    def check(self) -> None:
        """Fail fast if an alias points outside the enabled models or a profile is missing."""
        enabled_ids = {spec.model_id for spec in self.enabled}
        for name, ids in self.aliases.items():
            missing = [model_id for model_id in ids if model_id not in enabled_ids]
            if not ids or missing:
                raise ValueError(f"alias {name!r} points to models not enabled: {missing}")
        for spec in self.enabled:
            spec.invocation_id(self.geography)  # raises when a required profile is unavailable

    def target(self, spec: ModelSpec) -> Target:
        """Return the call target of an enabled model."""
        return Target(spec=spec, invocation_id=spec.invocation_id(self.geography))

    def resolve(self, name: str) -> tuple[Target, ...]:
        """Return the ordered targets for a requested model name (several for a fallback alias)."""
        by_name = self._names
        if name in self.aliases:
            return tuple(self.target(by_name[model_id]) for model_id in self.aliases[name])
        spec = by_name.get(name)
        if spec is not None:
            return (self.target(spec),)
        try:
            get_model(name)
        except UnknownModelError:
            raise ApiError(
                404,
                f"The model '{name}' does not exist. GET /v1/models lists the models and "
                "aliases this deployment serves.",
                code="model_not_found",
                param="model",
            ) from None
        raise ApiError(
            403,
            f"The model '{name}' is not enabled in this deployment. GET /v1/models lists "
            "the models and aliases it serves.",
            type_="permission_error",
            code="model_not_enabled",
            param="model",
        )


def require_modality(spec: ModelSpec, modality: Modality, route: str) -> None:
    """Refuse, naming the model, a model whose modality does not fit the route."""
    if spec.modality is not modality:
        raise ApiError(
            400,
            f"The model '{spec.model_id}' is a {spec.modality.value} model; {route} need a "
            f"{modality.value} model.",
            param="model",
            code="wrong_model_modality",
        )
