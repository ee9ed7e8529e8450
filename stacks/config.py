"""Typed, validated kit configuration parsed from one TOML file per environment.

Each table is a frozen pydantic model (synthesis time only, like model_catalog.schema): its
fields, bounds and validators are the rules, written once. `app.py`, the local runner and the
tests all parse config the same way; each problem becomes one line naming the file and the key.
"""

from __future__ import annotations

import ipaddress
import math
import re
import tomllib
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    InstanceOf,
    PrivateAttr,
    StrictBool,
    StrictFloat,
    StrictInt,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from lambdas.gateway.catalog import Geography, ModelSpec
from lambdas.gateway.routing import Routing
from model_catalog import all_models
from model_catalog.currency import lifecycle_notice
from model_catalog.geographies import SOURCES, callable_from
from model_catalog.schema import declared_spec


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
# RFC 2606 names: mail to them never arrives.
_RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
_RESERVED_TLDS = ("example", "test", "invalid", "localhost")

# What each string pattern expects, as error messages say it ("'x' is not <form>").
_FORMS: dict[str, str] = {}


def _pattern(regex: str, form: str) -> str:
    _FORMS[regex] = form
    return regex


_ACCOUNT = _pattern(r"^\d{12}$", "a 12-digit AWS account id")
_REGION = _pattern(r"^[a-z]{2}(-gov)?-[a-z]+-\d$", "an AWS region such as us-east-1")
_NAME = _pattern(r"^[a-z][a-z0-9-]{0,31}$", "a name of lowercase letters, digits and '-' (max 32)")
_STAGE = _pattern(r"^[A-Za-z0-9_]{1,64}$", "a stage name: letters, digits and '_' (max 64)")
_VPC_ID = _pattern(r"^vpc-[0-9a-f]{8,17}$", "a VPC id such as vpc-0abc1234")
_SUBNET_ID = _pattern(r"^subnet-[0-9a-f]{8,17}$", "a subnet id such as subnet-0abc1234")
_EMAIL = _pattern(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "an email address")
_PRINCIPAL = _pattern(
    r"^arn:aws[a-z-]*:iam::\d{12}:(root|role/.+|user/.+)$",
    "an IAM principal ARN (arn:aws:iam::123456789012:role/NAME, :user/NAME or :root)",
)
_ORGANIZATION = _pattern(r"^o-[a-z0-9]{10,32}$", "an AWS Organizations id such as o-a1b2c3d4e5")
_TOPIC = _pattern(
    r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$",
    "an SNS topic ARN (arn:aws:sns:us-east-1:123456789012:NAME)",
)
_POLICY = _pattern(
    r"^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/.+$",
    "an IAM managed policy ARN (arn:aws:iam::123456789012:policy/NAME)",
)
_ROLE = _pattern(
    r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$", "an IAM role ARN (arn:aws:iam::123456789012:role/NAME)"
)
_PARAMETER = _pattern(
    r"^/?[A-Za-z0-9_.\-/]{1,1011}$", "an SSM parameter name such as /bedrock-kit/anthropic-use-case"
)
_PRODUCT_ID = _pattern(
    r"^prod-[a-z0-9]{8,20}$", "an AWS Marketplace product id such as prod-xdkflymybwmvi"
)
_Name = Annotated[str, Field(pattern=_NAME)]
_VpcId = Annotated[str, Field(pattern=_VPC_ID)]


class _Problem(ValueError):
    """A broken rule; `key` (dotted, or "") is relative to the table being validated."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class _Section(BaseModel):
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
                raise _Problem(key, cls.RETIRED_KEYS[key])
            if key not in cls.model_fields:
                raise _Problem(key, f"unknown key; allowed keys: {', '.join(cls.model_fields)}")
        # `key = ""` means "not set" for optional keys, as in the shipped `account = ""`.
        unset = {k for k, v in data.items() if v == "" and cls.model_fields[k].default is None}
        return {k: None if k in unset else v for k, v in data.items()}


class DeploymentConfig(_Section):
    """Target account and region; both optional (environment-agnostic stacks by default)."""

    account: str | None = Field(default=None, pattern=_ACCOUNT)
    region: str | None = Field(default=None, pattern=_REGION)
    # Production environments get stricter defaults (api.waf) and must route their alarms.
    production: StrictBool = False


class ModelsConfig(_Section):
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


class _ModelsTable(_Section):
    """The [models] table as written; resolve() checks it against the catalog on a day."""

    enabled: tuple[str, ...] = ()
    cross_region: Annotated[Geography | None, BeforeValidator(_cross_region)] = None
    # Catalog ids contain '.' and ':', so an alias can never shadow a model id.
    aliases: dict[_Name, Annotated[tuple[str, ...], BeforeValidator(_fallbacks)]] = {}
    declared: dict[str, InstanceOf[ModelSpec]] = {}

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
                raise _Problem(model_id, str(error)) from None
        return specs

    def resolve(self, today: date, region: str | None) -> ModelsConfig:
        """Check lifecycles, regions, profiles and aliases (keys relative to [models])."""
        geography = self.cross_region
        if geography is not None and region is not None and not callable_from(geography, region):
            raise _Problem(
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
                raise _Problem(key, notice.message)
            if notice is not None and f"models.{key}: {notice.message}" not in warnings:
                warnings.append(f"models.{key}: {notice.message}")

        if not self.enabled:
            raise _Problem("enabled", "must list at least one model id from the catalog")
        for index, model_id in enumerate(self.enabled):
            if model_id not in table:
                raise _Problem(
                    "enabled",
                    f"{model_id!r} is not in the model catalog (docs/models.md lists the ids; "
                    "declare a newer model under models.declared)",
                )
            if model_id in self.enabled[:index]:
                raise _Problem("enabled", f"{model_id!r} is listed twice")
            spec = table[model_id]
            check_lifecycle("enabled", spec)
            profiled = geography is not None and geography in spec.profile_geographies
            if not profiled and region is not None and spec.regions and region not in spec.regions:
                raise _Problem(
                    "enabled",
                    f"{model_id!r} is served in {', '.join(spec.regions)} only, not in {region} "
                    "(deployment.region)",
                )
            if spec.requires_profile and not profiled:
                raise _Problem(
                    "cross_region",
                    f"{model_id!r} is only served through a cross-region inference profile; set "
                    f"cross_region to one of: {', '.join(sorted(spec.profile_geographies))}",
                )
        for alias, targets in self.aliases.items():
            for model_id in targets:
                if model_id in table:
                    check_lifecycle(f"aliases.{alias}", table[model_id])
                if model_id not in self.enabled:
                    raise _Problem(
                        f"aliases.{alias}",
                        f"points to {model_id!r}, which is not in models.enabled; "
                        f"allowed: {', '.join(self.enabled)}",
                    )
            if len({table[model_id].modality for model_id in targets}) > 1:
                mixed = ", ".join(f"{m} ({table[m].modality.value})" for m in targets)
                raise _Problem(
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


def _ipv4_block(cidr: str) -> str:
    try:
        network = ipaddress.ip_network(cidr)
    except ValueError:
        raise ValueError(f"{cidr!r} is not a CIDR block such as 10.40.0.0/16") from None
    if network.version != 4 or not 16 <= network.prefixlen <= 24:
        raise ValueError(f"{cidr!r} must be an IPv4 block from /16 to /24")
    return cidr


class NetworkConfig(_Section):
    """VPC placement of the gateway."""

    mode: NetworkMode = NetworkMode.CREATE
    vpc_cidr: Annotated[str, AfterValidator(_ipv4_block)] = "10.40.0.0/16"
    vpc_id: _VpcId | None = None
    subnet_ids: tuple[Annotated[str, Field(pattern=_SUBNET_ID)], ...] = ()
    availability_zones: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _fits_the_mode(self) -> Self:
        zones, existing = self.availability_zones, self.mode is NetworkMode.EXISTING
        if existing and self.vpc_id is None:
            raise _Problem("vpc_id", "mode 'existing' needs a VPC id such as vpc-0abc1234")
        if existing and len(self.subnet_ids) < 2:
            raise _Problem("subnet_ids", "mode 'existing' needs two or more subnet ids")
        if existing and len(zones) != len(self.subnet_ids):
            raise _Problem(
                "availability_zones",
                "mode 'existing' needs one availability zone per subnet id, in the same order",
            )
        if existing and "vpc_cidr" not in self.model_fields_set:
            raise _Problem(
                "vpc_cidr",
                "mode 'existing' needs the VPC's CIDR block: the kit's security groups allow "
                "HTTPS only to it, so a wrong default would cut the functions off from Bedrock",
            )
        for key in ("vpc_id", "subnet_ids"):
            if not existing and getattr(self, key):
                raise _Problem(key, "only allowed with mode 'existing'")
        if zones and not existing and len(zones) < 2:
            raise _Problem("availability_zones", "list two or more zones, or none")
        return self


class _Limits(_Section):
    """A usage plan's limits: the [api] ones (the stage's), and each [api.teams.NAME] table."""

    throttle_rate_limit: StrictFloat = Field(default=10.0, ge=0.1, le=10_000)
    throttle_burst_limit: StrictInt = Field(default=20, ge=1, le=5_000)
    quota_requests_per_day: StrictInt = Field(default=10_000, ge=1, le=100_000_000)


class TeamConfig(_Limits):
    """One team's API key and the usage plan limiting it."""

    name: str


_TEAM_TABLES = TypeAdapter(dict[_Name, _Limits])


class ApiConfig(_Limits):
    """The API Gateway front door; its limits are the stage's and the teams' defaults."""

    endpoint_type: EndpointType = EndpointType.REGIONAL
    stage_name: str = Field(default="api", pattern=_STAGE)
    auth: ApiAuth = ApiAuth.API_KEY
    # Who may call with auth "iam": principal ARNs and/or one AWS Organization.
    iam_principals: tuple[Annotated[str, Field(pattern=_PRINCIPAL)], ...] = ()
    organization_id: str | None = Field(default=None, pattern=_ORGANIZATION)
    # Default: on for a production REGIONAL API (KitConfig fills it in from [deployment]).
    waf: StrictBool = False
    # Requests per client IP per 5-minute window (a WAF rate-based rule).
    # Unset: the largest team plan's rate over WAF's 5-minute window (ApiConfig.waf_limit_per_ip).
    waf_rate_limit_per_ip: StrictInt | None = Field(default=None, ge=10, le=2_000_000_000)
    authorizer_reserved_concurrency: StrictInt = Field(default=0, ge=0, le=1000)  # 0: none
    # Whether this environment owns API Gateway's account-level CloudWatch role.
    manage_account_logging_role: StrictBool = False
    allowed_vpc_ids: tuple[_VpcId, ...] = ()
    teams: tuple[TeamConfig, ...] = Field(default_factory=dict, validate_default=True)

    @field_validator("teams", mode="before")
    @classmethod
    def _teams_from_tables(cls, tables: object, info: ValidationInfo) -> object:
        if not isinstance(tables, dict):
            raise ValueError("must be tables, one [api.teams.NAME] per team")
        if not set(_Limits.model_fields) <= set(info.data):
            return ()  # an [api] limit is invalid (and reported): the teams would inherit it
        inherited = {key: info.data[key] for key in _Limits.model_fields}
        # Without any team, one team named `default` has the API's own limits.
        tables = {n: {**inherited, **t} if isinstance(t, dict) else t for n, t in tables.items()}
        teams = _TEAM_TABLES.validate_python(tables or {"default": inherited})
        return tuple(TeamConfig(name=name, **dict(limits)) for name, limits in teams.items())

    @property
    def waf_limit_per_ip(self) -> int:
        """Requests one address may send per 5 minutes: config's, or the largest team plan's rate.

        One address then never gets more than a whole team's plan, and since the stage allows at
        least the sum of the plans, no single address can use up the stage.
        """
        if self.waf_rate_limit_per_ip is not None:
            return self.waf_rate_limit_per_ip
        busiest = max(team.throttle_rate_limit for team in self.teams)
        return max(10, math.ceil(busiest * WAF_WINDOW_SECONDS))

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.waf and self.endpoint_type is EndpointType.PRIVATE:
            raise _Problem("waf", "AWS WAF is offered here for REGIONAL APIs only")
        if self.allowed_vpc_ids and self.endpoint_type is not EndpointType.PRIVATE:
            raise _Problem("allowed_vpc_ids", "only allowed with endpoint_type 'PRIVATE'")
        for key in ("iam_principals", "organization_id"):
            if getattr(self, key) and self.auth is not ApiAuth.IAM:
                raise _Problem(key, "only allowed with auth 'iam'")
        if self.auth is ApiAuth.IAM and not (self.iam_principals or self.organization_id):
            raise _Problem(
                "iam_principals",
                "auth 'iam' needs api.iam_principals or api.organization_id: SigV4 alone admits "
                "any AWS principal",
            )
        for key in ("throttle_rate_limit", "throttle_burst_limit"):
            stage = getattr(self, key)
            for team in self.teams:
                if getattr(team, key) > stage:
                    raise _Problem(
                        f"teams.{team.name}.{key}",
                        f"{getattr(team, key):g} is above api.{key} ({stage:g})",
                    )
            total = round(sum(getattr(team, key) for team in self.teams), 6)
            if total > stage:
                raise _Problem(
                    key,
                    f"{stage:g} is below the sum of the teams' {key} ({total:g}): the stage "
                    "throttle must stay at or above the sum of the team plans so one team or "
                    "anonymous traffic cannot use up the others' share",
                )
        return self


class GatewayFunctionConfig(_Section):
    """The gateway Lambda functions."""

    memory_mb: StrictInt = Field(default=512, ge=128, le=10_240)
    # API Gateway's buffered integrations time out at 29 s.
    timeout_seconds: StrictInt = Field(default=29, ge=3, le=900)
    # The chat route streams through API Gateway (STREAM transfer mode): up to 15 minutes.
    stream_timeout_seconds: StrictInt = Field(default=300, ge=30, le=900)
    reserved_concurrency: StrictInt = Field(default=0, ge=0, le=1000)  # 0: no reservation
    # Lambda Web Adapter v1.1.0 (aws/aws-lambda-web-adapter PR #871); docs/configuration.md.
    web_adapter_layer_version: StrictInt = Field(default=WEB_ADAPTER_LAYER_VERSION, ge=1, le=1000)


def _retention(days: int) -> int:
    if days not in LOG_RETENTION_DAYS:
        allowed = ", ".join(str(d) for d in LOG_RETENTION_DAYS)
        raise ValueError(f"{days} is not a CloudWatch retention; allowed: {allowed}")
    return days


class ObservabilityConfig(_Section):
    """Retention and removal of the kit's log groups."""

    log_retention_days: Annotated[StrictInt, AfterValidator(_retention)] = 30
    # Retained by default: deleting a stack must not delete audit data unless asked to.
    retain_logs: StrictBool = True
    # Prompts and completions stay out of logs unless a config says otherwise, explicitly.
    log_content: StrictBool = False


class SecurityConfig(_Section):
    """Organisation-wide guard rails applied to what the kit creates."""

    permissions_boundary_arn: str | None = Field(default=None, pattern=_POLICY)


def _placeholder(email: str) -> bool:
    domain = email.rpartition("@")[2].lower()
    return domain.rpartition(".")[2] in _RESERVED_TLDS or any(
        domain == name or domain.endswith(f".{name}") for name in _RESERVED_DOMAINS
    )


class AlarmsConfig(_Section):
    """Alarm thresholds and who hears about them."""

    emails: tuple[Annotated[str, Field(pattern=_EMAIL)], ...] = ()
    # An existing SNS topic the alarms also go to (a pager, a chat integration...).
    topic_arn: str | None = Field(default=None, pattern=_TOPIC)
    # Why a production environment sends its alarms to nobody.
    no_subscriber_reason: str | None = Field(default=None, min_length=20)
    error_rate_percent: StrictFloat = Field(default=5.0, ge=0.1, le=100)
    throttle_rate_percent: StrictFloat = Field(default=10.0, ge=0.1, le=100)
    p99_latency_ms: StrictInt = Field(default=20_000, ge=100, le=900_000)
    daily_cost_usd: StrictFloat = Field(default=100.0, ge=0.01, le=1_000_000)

    @property
    def warnings(self) -> tuple[str, ...]:
        """One line per address that can never receive mail."""
        return tuple(
            f"alarms.emails: {email} is a placeholder address (RFC 2606 domain): "
            "nobody receives these alarms"
            for email in self.emails
            if _placeholder(email)
        )


class AccessCheckConfig(_Section):
    """Deploy-time model access pre-flight."""

    RETIRED_KEYS: ClassVar[Mapping[str, str]] = {
        "anthropic_use_case": "no longer read from config: it ended up in the CloudFormation "
        "template and in CDK's provider logs; store the form as an SSM SecureString and name it "
        "in access_check.anthropic_use_case_parameter (see docs/configuration.md)",
    }

    mode: AccessCheckMode = AccessCheckMode.WARN
    accept_offers: StrictBool = False
    # An SSM SecureString holding Anthropic's first-time-use form as JSON.
    anthropic_use_case_parameter: str | None = Field(default=None, pattern=_PARAMETER)
    # The Marketplace products accept_offers may subscribe to (AWS lists each model's id in
    # the Bedrock user guide, "Product IDs for Amazon Bedrock models").
    marketplace_product_ids: tuple[Annotated[str, Field(pattern=_PRODUCT_ID)], ...] = ()

    @model_validator(mode="after")
    def _offers_name_their_products(self) -> Self:
        if self.accept_offers and not self.marketplace_product_ids:
            raise _Problem(
                "marketplace_product_ids",
                "accept_offers needs the Marketplace product ids it may subscribe to "
                "(Bedrock user guide: Product IDs for Amazon Bedrock models); without them "
                "the handler could subscribe the account to any product",
            )
        if self.marketplace_product_ids and not self.accept_offers:
            raise _Problem("marketplace_product_ids", "only used with accept_offers = true")
        return self


class InvocationLoggingConfig(_Section):
    """Bedrock model invocation logging (one setting per account and region)."""

    # Off by default: the setting is account-wide and captures prompts and completions.
    enabled: StrictBool = False
    on_existing: OnExisting = OnExisting.FAIL
    text: StrictBool = True
    image: StrictBool = False
    embedding: StrictBool = False
    transition_to_infrequent_access_days: StrictInt = Field(default=30, ge=30, le=3650)
    expiration_days: StrictInt = Field(default=365, ge=1, le=3650)
    # Also deliver to a CloudWatch log group (S3 only by default).
    cloudwatch: StrictBool = False
    # An existing role allowed to read the logs; without one the kit creates an auditor role.
    auditor_role_arn: str | None = Field(default=None, pattern=_ROLE)

    @model_validator(mode="after")
    def _expires_after_transition(self) -> Self:
        if self.expiration_days <= self.transition_to_infrequent_access_days:
            raise _Problem(
                "expiration_days",
                "must be after transition_to_infrequent_access_days "
                f"({self.transition_to_infrequent_access_days})",
            )
        return self


class KitConfig(_Section):
    """The whole configuration of one environment."""

    deployment: DeploymentConfig = DeploymentConfig()
    # Read from the [models] table (_ModelsTable), with deployment.region and the day.
    models: ModelsConfig = Field(default_factory=dict, validate_default=True)
    network: NetworkConfig = NetworkConfig()
    api: ApiConfig = ApiConfig()
    gateway: GatewayFunctionConfig = GatewayFunctionConfig()
    observability: ObservabilityConfig = ObservabilityConfig()
    security: SecurityConfig = SecurityConfig()
    alarms: AlarmsConfig = AlarmsConfig()
    access_check: AccessCheckConfig = AccessCheckConfig()
    invocation_logging: InvocationLoggingConfig = InvocationLoggingConfig()
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
        return _ModelsTable.model_validate(data).resolve(today, region)

    @model_validator(mode="after")
    def _fits_the_deployment(self) -> Self:
        region, zones = self.deployment.region, self.network.availability_zones
        if zones and region and not all(zone.startswith(region) for zone in zones):
            raise _Problem(
                "network.availability_zones", f"zones must be in deployment.region {region}"
            )
        if self.network.mode is NetworkMode.CREATE and region and not zones:
            # With a fixed region CDK would look zones up in the account at synth: forbidden.
            raise _Problem(
                "network.availability_zones",
                "required when deployment.region is set (synthesis never looks them up)",
            )
        alarms = self.alarms
        if self.deployment.production and not (
            alarms.emails or alarms.topic_arn or alarms.no_subscriber_reason
        ):
            raise _Problem(
                "alarms.emails",
                "a production environment (deployment.production) must send its alarms to "
                "someone: set alarms.emails or alarms.topic_arn, or say why not in "
                "alarms.no_subscriber_reason",
            )
        return self


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
    "string_pattern_mismatch": "{input!r} is not {form}",
    "enum": "{input!r} is not one of {expected}",
}


def _line(item: ErrorDetails) -> str:
    """Return `dotted.key: message` for one pydantic error."""
    # List positions and pydantic's "[key]" marker drop out: the message shows the value.
    path = [part for part in item["loc"] if isinstance(part, str) and part != "[key]"]
    ctx: dict[str, Any] = dict(item.get("ctx") or {})
    error = ctx.get("error")
    if isinstance(error, _Problem) and error.key:
        path.append(error.key)
    if isinstance(error, ValueError):
        return f"{'.'.join(path)}: {error}"
    # pydantic's "'a', 'b' or 'c'" reads "a, b, c", like the other messages' lists.
    expected = re.sub(r"'([^']*)'", r"\1", str(ctx.get("expected"))).replace(" or ", ", ")
    form = _FORMS.get(str(ctx.get("pattern")), "in the documented form")
    template = _MESSAGES.get(item["type"])
    values = {**ctx, "input": item["input"], "expected": expected, "form": form}
    return f"{'.'.join(path)}: {template.format(**values) if template else item['msg']}"
