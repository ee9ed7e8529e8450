"""The whole configuration of one environment, read from its TOML file, with one-line errors."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, Self

from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from lambdas.gateway.budgets import TeamBudget
from lambdas.gateway.catalog import ModelSpec
from lambdas.gateway.errors import ApiError
from lambdas.gateway.knowledge_bases import KnowledgeBaseKind, deployment_entry
from lambdas.gateway.teams import TeamPolicy, Teams
from model_catalog import all_models
from stacks.config.base import (
    ConfigError,
    EndpointType,
    NetworkMode,
    Problem,
    Section,
)
from stacks.config.guardrails import (
    GuardrailConfig,
    GuardrailPolicyConfig,
    check_names,
    guardrails_from_tables,
)
from stacks.config.knowledge_bases import KnowledgeBaseConfig, knowledge_bases_from_tables
from stacks.config.models import ModelsConfig, ModelsTable
from stacks.config.patterns import (
    FORMS,
)
from stacks.config.sections import (
    AccessCheckConfig,
    AlarmsConfig,
    ApiConfig,
    DeploymentConfig,
    GatewayFunctionConfig,
    InvocationLoggingConfig,
    NetworkConfig,
    ObservabilityConfig,
    SecurityConfig,
    TeamConfig,
)


class KitConfig(Section):
    """The whole configuration of one environment."""

    deployment: DeploymentConfig = DeploymentConfig()
    # Read from the [models] table (ModelsTable), with deployment.region and the day.
    models: ModelsConfig = Field(default_factory=dict, validate_default=True)
    network: NetworkConfig = NetworkConfig()
    api: ApiConfig = ApiConfig()
    gateway: GatewayFunctionConfig = GatewayFunctionConfig()
    observability: ObservabilityConfig = ObservabilityConfig()
    security: SecurityConfig = SecurityConfig()
    alarms: AlarmsConfig = AlarmsConfig()
    access_check: AccessCheckConfig = AccessCheckConfig()
    invocation_logging: InvocationLoggingConfig = InvocationLoggingConfig()
    knowledge_bases: tuple[KnowledgeBaseConfig, ...] = Field(
        default_factory=dict, validate_default=True
    )
    guardrails: tuple[GuardrailConfig, ...] = Field(default_factory=dict, validate_default=True)
    guardrail_policy: GuardrailPolicyConfig = GuardrailPolicyConfig()
    # Set by parse_config: they name the environment and the file, they are not keys in it.
    _env_name: str = PrivateAttr("")
    _source: str = PrivateAttr("")

    @property
    def env_name(self) -> str:
        """The environment's name (`-c env=NAME`)."""
        return self._env_name

    @property
    def source(self) -> str:
        """The file the configuration was read from."""
        return self._source

    @property
    def warnings(self) -> tuple[str, ...]:
        """Every warning line (models, alarms), printed at synthesis."""
        return (*self.models.warnings, *self.alarms.warnings)

    @property
    def deploy_blockers(self) -> tuple[str, ...]:
        """Warnings a production environment may synthesize with but never deploy with."""
        return self.alarms.warnings if self.deployment.production else ()

    def team_policies(self) -> Teams:
        """The teams as the gateway enforces them (allow-lists expanded, budgets exact)."""
        return Teams(
            MappingProxyType(
                {team.name: _team_policy(team, self.models) for team in self.api.teams}
            )
        )

    def gateway_routing_json(self) -> str:
        """The deployment file the gateway reads: models, aliases, teams, knowledge bases."""
        return self.models.routing().to_json(
            teams=self.team_policies().to_dict(),
            guardrails=self.guardrail_rules() if self.guardrails else None,
            knowledge_bases={
                kb.name: deployment_entry(
                    kb.kind,
                    kb.description,
                    kb.embedding_spec(self.embedding_models())
                    if kb.kind is KnowledgeBaseKind.VECTOR
                    else None,
                )
                for kb in self.knowledge_bases
            },
        )

    def embedding_models(self) -> Mapping[str, ModelSpec]:
        """Every model a knowledge base may name: the catalog's and the ones config declares."""
        return {**all_models(), **{spec.model_id: spec for spec in self.models.specs()}}

    @field_validator("knowledge_bases", mode="before")
    @classmethod
    def _knowledge_bases_from_tables(cls, tables: object) -> object:
        return knowledge_bases_from_tables(tables)

    @field_validator("guardrails", mode="before")
    @classmethod
    def _guardrails_from_tables(cls, tables: object) -> object:
        return guardrails_from_tables(tables)

    def guardrail_rules(self) -> dict[str, object]:
        """The guardrails' part of the deployment file: names, default, per-alias rules."""
        policy = self.guardrail_policy
        return {
            "names": [guardrail.name for guardrail in self.guardrails],
            "default": policy.default,
            "aliases": dict(policy.aliases),
            "models": self._guarded_models(),
        }

    def _guarded_models(self) -> dict[str, str]:
        """Model id -> the guardrail of the aliases serving it (one each: checked)."""
        models: dict[str, str] = {}
        owners: dict[str, str] = {}
        for alias, name in self.guardrail_policy.aliases.items():
            for model_id in self.models.aliases.get(alias, ()):
                if models.get(model_id, name) != name:
                    raise Problem(
                        f"guardrail_policy.aliases.{alias}",
                        f"{model_id} is also served by alias {owners[model_id]!r} under "
                        f"guardrail {models[model_id]!r}: a model id answers under one guardrail",
                    )
                models[model_id], owners[model_id] = name, alias
        return models

    @model_validator(mode="before")
    @classmethod
    def _production_defaults(cls, data: object) -> object:
        if not isinstance(data, dict) or not isinstance(api := data.get("api", {}), dict):
            return data
        deployment = data.get("deployment")
        production = isinstance(deployment, dict) and deployment.get("production") is True
        regional = api.get("endpoint_type", EndpointType.REGIONAL) == EndpointType.REGIONAL
        return {**data, "api": {"waf": production and regional, **api}}

    @field_validator("models", mode="before")
    @classmethod
    def _models_from_table(cls, data: object, info: ValidationInfo) -> object:
        if isinstance(data, ModelsConfig):
            return data
        deployment = info.data.get("deployment")
        region = deployment.region if isinstance(deployment, DeploymentConfig) else None
        today = (info.context or {}).get("today") or date.today()
        return ModelsTable.model_validate(data).resolve(today, region)

    @model_validator(mode="after")
    def _fits_the_deployment(self) -> Self:
        region, zones = self.deployment.region, self.network.availability_zones
        if zones and region and not all(zone.startswith(region) for zone in zones):
            raise Problem(
                "network.availability_zones", f"zones must be in deployment.region {region}"
            )
        if self.network.mode is NetworkMode.CREATE and region and not zones:
            # With a fixed region CDK would look zones up in the account at synth: forbidden.
            raise Problem(
                "network.availability_zones",
                "required when deployment.region is set (synthesis never looks them up)",
            )
        routing = self.models.routing()
        for team in self.api.teams:
            for name in team.models:
                try:
                    routing.resolve(name)
                except ApiError:
                    raise Problem(
                        f"api.teams.{team.name}.models",
                        f"{name!r} is neither an enabled model nor an alias of this environment",
                    ) from None
        names = {kb.name for kb in self.knowledge_bases}
        for team in self.api.teams:
            unknown = sorted(set(team.knowledge_bases or ()) - names)
            if unknown:
                raise Problem(
                    f"api.teams.{team.name}.knowledge_bases",
                    f"{unknown[0]!r} is not a [knowledge_bases] table of this environment",
                )
        guardrail_names = {guardrail.name for guardrail in self.guardrails}
        policy = self.guardrail_policy
        named: dict[str, str | None] = {"guardrail_policy.default": policy.default}
        for alias, name in policy.aliases.items():
            if alias not in self.models.aliases:
                raise Problem(
                    f"guardrail_policy.aliases.{alias}", "is not an alias of [models.aliases]"
                )
            named[f"guardrail_policy.aliases.{alias}"] = name
        for team in self.api.teams:
            named[f"api.teams.{team.name}.guardrail"] = team.guardrail
        check_names(named, guardrail_names)
        self._guarded_models()
        catalog = self.embedding_models()
        for kb in self.knowledge_bases:
            if kb.kind is KnowledgeBaseKind.VECTOR:
                spec = kb.embedding_spec(catalog)
                kb.vector_dimensions(spec)
                kb.check_chunk_size(spec)
        alarms = self.alarms
        if self.deployment.production and not (
            alarms.emails or alarms.topic_arn or alarms.no_subscriber_reason
        ):
            raise Problem(
                "alarms.emails",
                "a production environment (deployment.production) must send its alarms to "
                "someone: set alarms.emails or alarms.topic_arn, or say why not in "
                "alarms.no_subscriber_reason",
            )
        return self


def _team_policy(team: TeamConfig, models: ModelsConfig) -> TeamPolicy:
    """What the gateway enforces for `team`: its allow-list (aliases expanded) and budget."""
    budget = TeamBudget(
        monthly_token_limit=team.monthly_token_limit,
        monthly_cost_limit_usd=Decimal(str(team.monthly_cost_limit_usd))
        if team.monthly_cost_limit_usd is not None
        else None,
        soft_limit_percent=Decimal(str(team.soft_limit_percent)),
    )
    streams = team.max_concurrent_streams
    principals = tuple(team.iam_principals)
    knowledge_bases = frozenset(team.knowledge_bases) if team.knowledge_bases is not None else None
    if not team.models:
        return TeamPolicy(
            name=team.name,
            budget=budget,
            max_concurrent_streams=streams,
            iam_principals=principals,
            knowledge_bases=knowledge_bases,
            guardrail=team.guardrail,
        )
    routing = models.routing()
    aliases = frozenset(name for name in team.models if name in models.aliases)
    model_ids = frozenset(
        target.spec.model_id for name in team.models for target in routing.resolve(name)
    )
    return TeamPolicy(
        name=team.name,
        aliases=aliases,
        model_ids=model_ids,
        budget=budget,
        max_concurrent_streams=streams,
        iam_principals=principals,
        knowledge_bases=knowledge_bases,
        guardrail=team.guardrail,
    )


def load_config(path: Path, env_name: str, *, today: date | None = None) -> KitConfig:
    """Parse and validate the config file at `path` for environment `env_name`.

    `today` decides which models have reached end of life (default: the current date).
    """
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such config file for environment {env_name!r}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML: {error}") from None
    return parse_config(data, source=source, env_name=env_name, today=today)


def parse_config(
    data: Mapping[str, object], *, source: str, env_name: str, today: date | None = None
) -> KitConfig:
    """Validate already-parsed TOML data into a KitConfig (`today` as in load_config)."""
    try:
        config = KitConfig.model_validate(dict(data), context={"today": today})
    except ValidationError as error:
        lines = dict.fromkeys(f"{source}: {_line(item)}" for item in error.errors())
        raise ConfigError("\n".join(lines)) from None
    config._env_name, config._source = env_name, source
    return config


_MESSAGES = {
    "missing": "required",
    "int_type": "must be an integer, got {input!r}",
    "float_type": "must be a number, got {input!r}",
    "bool_type": "must be true or false, got {input!r}",
    "string_type": "must be a string, got {input!r}",
    "tuple_type": "must be a list, got {input!r}",
    "dict_type": "must be a table, got {input!r}",
    "model_type": "must be a table, got {input!r}",
    "greater_than_equal": "must be at least {ge}, got {input!r}",
    "less_than_equal": "must be at most {le}, got {input!r}",
    "string_too_short": "must be at least {min_length} characters long",
    "string_too_long": "must be at most {max_length} characters long",
    "string_pattern_mismatch": "{input!r} is not {form}",
    "enum": "{input!r} is not one of {expected}",
}


def _line(item: ErrorDetails) -> str:
    """Return `dotted.key: message` for one pydantic error."""
    # List positions and pydantic's "[key]" marker drop out: the message shows the value.
    path = [part for part in item["loc"] if isinstance(part, str) and part != "[key]"]
    ctx: dict[str, Any] = dict(item.get("ctx") or {})
    error = ctx.get("error")
    if isinstance(error, Problem) and error.key:
        path.append(error.key)
    if isinstance(error, ValueError):
        return f"{'.'.join(path)}: {error}"
    # pydantic's "'a', 'b' or 'c'" reads "a, b, c", like the other messages' lists.
    expected = re.sub(r"'([^']*)'", r"\1", str(ctx.get("expected"))).replace(" or ", ", ")
    form = FORMS.get(str(ctx.get("pattern")), "in the documented form")
    template = _MESSAGES.get(item["type"])
    values = {**ctx, "input": item["input"], "expected": expected, "form": form}
    return f"{'.'.join(path)}: {template.format(**values) if template else item['msg']}"
