"""Resolves the `model` a client asks for (catalog id, profile id or alias) to Bedrock targets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .catalog import Geography, InvocationPath, Modality, ModelSpec
from .errors import ApiError

# Bounded quoting of client input in error messages (a 5 MB model name stays out of the answer).
_MAX_QUOTED = 200


@dataclass(frozen=True, slots=True)
class Target:
    """One model to call: its spec, the id Bedrock is called with and the path that takes."""

    spec: ModelSpec
    invocation_id: str
    path: InvocationPath = InvocationPath.IN_REGION
    # What clients are shown as the invocation id when `invocation_id` is a team's application
    # inference profile ARN (it names the account): the model or system profile it copies.
    shown_id: str | None = None

    def token_cost(self, input_tokens: int, output_tokens: int) -> Decimal:
        """Return the list price of these tokens on the path this target is called through."""
        return self.spec.pricing.token_price(self.path).cost(input_tokens, output_tokens)


@dataclass(frozen=True, slots=True)
class Routing:
    """The enabled models of a deployment, their aliases and the cross-region geography.

    Self-contained: the specs travel with it, so the gateway never reads the catalog files.
    """

    enabled: tuple[ModelSpec, ...]
    aliases: Mapping[str, tuple[str, ...]]
    geography: Geography | None
    # Model ids the catalog knows but this deployment does not serve (403 rather than 404).
    known_ids: frozenset[str] = frozenset()
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
        return cls.from_data(json.loads(text))

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Routing:
        """Build routing from that JSON, already decoded (the teams travel in it too)."""
        geography = data.get("cross_region")
        routing = cls(
            enabled=tuple(ModelSpec.from_dict(model) for model in data["models"]),
            aliases={name: tuple(ids) for name, ids in data.get("aliases", {}).items()},
            geography=None if geography in (None, "none") else Geography(geography),
            known_ids=frozenset(data.get("known_ids", ())),
        )
        routing.check()
        return routing

    def to_json(
        self,
        *,
        teams: Mapping[str, object] | None = None,
        knowledge_bases: Mapping[str, object] | None = None,
        guardrails: Mapping[str, object] | None = None,
    ) -> str:
        """Serialize for the gateway (the inverse of from_json), with teams and knowledge bases."""
        document: dict[str, object] = {
            "models": [spec.to_dict() for spec in self.enabled],
            "aliases": {name: list(ids) for name, ids in self.aliases.items()},
            "cross_region": self.geography.value if self.geography else "none",
            "known_ids": sorted(self.known_ids),
        }
        if teams is not None:
            document["teams"] = teams
        if knowledge_bases:
            document["knowledge_bases"] = knowledge_bases
        if guardrails:
            document["guardrails"] = guardrails
        return json.dumps(document, separators=(",", ":"))

    def is_alias(self, name: str) -> bool:
        """Whether `name` is one of the deployment's aliases."""
        return name in self.aliases

    def check(self) -> None:
        """Fail fast if an alias points outside the enabled models or a profile is missing."""
        enabled_ids = {spec.model_id for spec in self.enabled}
        for name, ids in self.aliases.items():
            missing = [model_id for model_id in ids if model_id not in enabled_ids]
            if not ids or missing:
                raise ValueError(f"alias {name!r} points to models not enabled: {missing}")
        for spec in self.enabled:
            spec.route(self.geography)  # raises when a required profile is unavailable

    def target(self, spec: ModelSpec) -> Target:
        """Return the call target of an enabled model."""
        invocation_id, path = spec.route(self.geography)
        # An own model's ARN names the account: clients are shown its declared id.
        shown = spec.model_id if spec.invocation is not None else None
        return Target(spec=spec, invocation_id=invocation_id, path=path, shown_id=shown)

    def resolve(self, name: str) -> tuple[Target, ...]:
        """Return the ordered targets for a requested model name (several for a fallback alias)."""
        by_name = self._names
        if name in self.aliases:
            return tuple(self.target(by_name[model_id]) for model_id in self.aliases[name])
        spec = by_name.get(name)
        if spec is not None:
            return (self.target(spec),)
        quoted = name if len(name) <= _MAX_QUOTED else name[:_MAX_QUOTED] + "..."
        if name not in self.known_ids:
            raise ApiError(
                404,
                f"The model '{quoted}' does not exist. GET /v1/models lists the models and "
                "aliases this deployment serves.",
                code="model_not_found",
                param="model",
            )
        raise ApiError(
            403,
            f"The model '{quoted}' is not enabled in this deployment. GET /v1/models lists "
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
