"""Typed, validated kit configuration parsed from one TOML file per environment.

Standard library only: `app.py`, the local runner and the tests all parse config the same way.
Every problem raises ConfigError with one line naming the file, the key and what is allowed.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

from lambdas.gateway.catalog import Geography, ModelSpec
from lambdas.gateway.routing import Routing
from model_catalog import all_models
from model_catalog.currency import lifecycle_notice
from model_catalog.geographies import SOURCES, callable_from
from model_catalog.schema import declared_spec


class ConfigError(Exception):
    """A configuration problem, described in one line for the person editing the file."""


class NetworkMode(StrEnum):
    """Whether the kit creates its VPC or imports an existing one."""

    CREATE = "create"
    EXISTING = "existing"


class EndpointType(StrEnum):
    """API Gateway endpoint type of the invocation API."""

    REGIONAL = "REGIONAL"
    PRIVATE = "PRIVATE"


class AuthMode(StrEnum):
    """How callers authenticate at API Gateway."""

    # Per-team API keys sent as `Authorization: Bearer <key>` (what the OpenAI SDK sends).
    API_KEY = "api_key"
    # AWS SigV4 (IAM) for callers inside AWS.
    IAM = "iam"


CROSS_REGION_NONE = "none"
# The current Lambda Web Adapter layer (v1.1.0, 2026-09-18; version 29 was never published).
WEB_ADAPTER_LAYER_VERSION = 30
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_ACCOUNT = re.compile(r"^\d{12}$")
_ALIAS = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8,17}$")
_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653)


@dataclass(frozen=True, slots=True)
class DeploymentConfig:
    """Target account and region; both optional (environment-agnostic stacks by default)."""

    account: str | None
    region: str | None


@dataclass(frozen=True, slots=True)
class ModelsConfig:
    """Which models are enabled, their aliases and the cross-region geography."""

    enabled: tuple[str, ...]
    aliases: Mapping[str, tuple[str, ...]]
    cross_region: Geography | None
    # The enabled models' specs: catalog entries, or the config's own declarations.
    table: Mapping[str, ModelSpec]
    # Every model id the catalog or the config knows (enabled or not).
    known_ids: frozenset[str] = frozenset()
    # One line per LEGACY model or overridden catalog entry, printed at synthesis.
    warnings: tuple[str, ...] = ()

    def specs(self) -> tuple[ModelSpec, ...]:
        """Return the specs of the enabled models, in config order."""
        return tuple(self.table[model_id] for model_id in self.enabled)

    def specs_by_id(self) -> Mapping[str, ModelSpec]:
        """Return the enabled catalog entries keyed by model id."""
        return {spec.model_id: spec for spec in self.specs()}

    def routing(self) -> Routing:
        """Return the gateway routing these settings describe."""
        return Routing(
            enabled=self.specs(),
            aliases=self.aliases,
            geography=self.cross_region,
            known_ids=self.known_ids,
        )


@dataclass(frozen=True, slots=True)
class NetworkConfig:
    """VPC placement of the gateway."""

    mode: NetworkMode
    vpc_cidr: str
    vpc_id: str | None
    subnet_ids: tuple[str, ...]
    availability_zones: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TeamConfig:
    """One team's API key and the usage plan limiting it."""

    name: str
    throttle_rate_limit: float
    throttle_burst_limit: int
    quota_requests_per_day: int


@dataclass(frozen=True, slots=True)
class ApiConfig:
    """The API Gateway front door."""

    endpoint_type: EndpointType
    stage_name: str
    throttle_rate_limit: float
    throttle_burst_limit: int
    quota_requests_per_day: int
    auth: AuthMode
    waf: bool
    allowed_vpc_ids: tuple[str, ...]
    teams: tuple[TeamConfig, ...]


@dataclass(frozen=True, slots=True)
class AlarmsConfig:
    """Alarm thresholds and who hears about them."""

    emails: tuple[str, ...]
    error_rate_percent: float
    throttle_rate_percent: float
    p99_latency_ms: int
    daily_cost_usd: float


class AccessCheckMode(StrEnum):
    """What the deploy-time model access pre-flight does with a problem."""

    STRICT = "strict"
    WARN = "warn"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class AccessCheckConfig:
    """Deploy-time model access pre-flight."""

    mode: AccessCheckMode
    accept_offers: bool
    anthropic_use_case: Mapping[str, str]


class OnExisting(StrEnum):
    """What invocation logging does when the account already has a configuration."""

    ADOPT = "adopt"
    REPLACE = "replace"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class InvocationLoggingConfig:
    """Bedrock model invocation logging (one setting per account and region)."""

    enabled: bool
    on_existing: OnExisting
    text: bool
    image: bool
    embedding: bool
    transition_to_infrequent_access_days: int
    expiration_days: int


@dataclass(frozen=True, slots=True)
class SecurityConfig:
    """Organisation-wide guard rails applied to what the kit creates."""

    permissions_boundary_arn: str | None


@dataclass(frozen=True, slots=True)
class GatewayFunctionConfig:
    """The gateway Lambda function."""

    memory_mb: int
    timeout_seconds: int
    reserved_concurrency: int
    web_adapter_layer_version: int
    stream_timeout_seconds: int


@dataclass(frozen=True, slots=True)
class ObservabilityConfig:
    """Retention and removal of the kit's log groups."""

    log_retention_days: int
    retain_logs: bool
    log_content: bool


@dataclass(frozen=True, slots=True)
class KitConfig:
    """The whole configuration of one environment."""

    env_name: str
    source: str
    deployment: DeploymentConfig
    models: ModelsConfig
    network: NetworkConfig
    api: ApiConfig
    gateway: GatewayFunctionConfig
    observability: ObservabilityConfig
    security: SecurityConfig
    alarms: AlarmsConfig
    access_check: AccessCheckConfig
    invocation_logging: InvocationLoggingConfig


class _Section:
    """Reads one TOML table, tracking which keys were used so unknown ones are reported."""

    def __init__(self, source: str, path: str, data: object) -> None:
        self.source = source
        self.path = path
        if not isinstance(data, dict):
            self.fail(path, "must be a table")
        self.data: dict[str, Any] = data

    def fail(self, key: str, message: str) -> NoReturn:
        raise ConfigError(f"{self.source}: {key}: {message}")

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def raw(self, name: str, default: object) -> object:
        return self.data.get(name, default)

    def str_(self, name: str, default: str | None = None) -> str | None:
        value = self.raw(name, default)
        if value is not None and not isinstance(value, str):
            self.fail(self.key(name), f"must be a string, got {value!r}")
        return value

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.str_(name, default)
        if value not in allowed:
            self.fail(self.key(name), f"{value!r} is not one of {', '.join(allowed)}")
        return value

    def int_(self, name: str, default: int, low: int, high: int) -> int:
        value = self.raw(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(self.key(name), f"must be an integer from {low} to {high}, got {value!r}")
        return value

    def number(self, name: str, default: float, low: float, high: float) -> float:
        value = self.raw(name, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            self.fail(self.key(name), f"must be a number from {low} to {high}, got {value!r}")
        return float(value)

    def bool_(self, name: str, default: bool) -> bool:
        value = self.raw(name, default)
        if not isinstance(value, bool):
            self.fail(self.key(name), f"must be true or false, got {value!r}")
        return value

    def str_list(self, name: str) -> tuple[str, ...]:
        value = self.raw(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(self.key(name), f"must be a list of strings, got {value!r}")
        return tuple(value)

    def section(self, name: str) -> _Section:
        return _Section(self.source, self.key(name), self.raw(name, {}))

    def reject_unknown(self, known: tuple[str, ...]) -> None:
        for name in self.data:
            if name not in known:
                self.fail(self.key(name), f"unknown key; allowed keys: {', '.join(known)}")


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
    root = _Section(source, "", dict(data))
    root.reject_unknown(
        (
            "deployment",
            "models",
            "network",
            "api",
            "gateway",
            "observability",
            "security",
            "alarms",
            "access_check",
            "invocation_logging",
        )
    )
    deployment = _deployment(root.section("deployment"))
    return KitConfig(
        env_name=env_name,
        source=source,
        deployment=deployment,
        models=_models(
            root.section("models"),
            today=today if today is not None else date.today(),
            region=deployment.region,
        ),
        network=_network(root.section("network"), deployment),
        api=_api(root.section("api")),
        gateway=_gateway(root.section("gateway")),
        observability=_observability(root.section("observability")),
        security=_security(root.section("security")),
        alarms=_alarms(root.section("alarms")),
        access_check=_access_check(root.section("access_check")),
        invocation_logging=_invocation_logging(root.section("invocation_logging")),
    )


def _deployment(section: _Section) -> DeploymentConfig:
    section.reject_unknown(("account", "region"))
    account = section.str_("account") or None
    region = section.str_("region") or None
    if account is not None and not _ACCOUNT.match(account):
        section.fail(section.key("account"), f"{account!r} is not a 12-digit AWS account id")
    if region is not None and not _REGION.match(region):
        section.fail(section.key("region"), f"{region!r} is not an AWS region such as us-east-1")
    return DeploymentConfig(account=account, region=region)


def _models(section: _Section, *, today: date, region: str | None) -> ModelsConfig:
    section.reject_unknown(("enabled", "cross_region", "aliases", "declared"))
    geographies = (CROSS_REGION_NONE, *(g.value for g in Geography))
    geo_value = section.choice("cross_region", geographies, CROSS_REGION_NONE)
    geography = None if geo_value == CROSS_REGION_NONE else Geography(geo_value)
    if geography is not None and region is not None and not callable_from(geography, region):
        section.fail(
            section.key("cross_region"),
            f"{geography.value!r} profiles cannot be called from deployment.region {region}; "
            f"their source regions are {', '.join(SOURCES[geography])}",
        )
    catalog = all_models()
    declared = _declared_models(section.section("declared"), catalog)
    table = {**catalog, **declared}
    # Every lifecycle check, and the successors it suggests, read the same table.
    warnings = [
        f"models.declared.{model_id}: overrides the catalog entry"
        for model_id in declared
        if model_id in catalog
    ]

    def check_lifecycle(key: str, spec: ModelSpec) -> None:
        notice = lifecycle_notice(spec, table, today, region)
        if notice is None:
            return
        if notice.fatal:
            section.fail(key, notice.message)
        if f"{key}: {notice.message}" not in warnings:
            warnings.append(f"{key}: {notice.message}")

    enabled = section.str_list("enabled")
    if not enabled:
        section.fail(section.key("enabled"), "must list at least one model id from the catalog")
    seen: set[str] = set()
    for model_id in enabled:
        if model_id not in table:
            section.fail(
                section.key("enabled"),
                f"{model_id!r} is not in the model catalog (docs/models.md lists the ids; "
                "declare a newer model under models.declared)",
            )
        if model_id in seen:
            section.fail(section.key("enabled"), f"{model_id!r} is listed twice")
        seen.add(model_id)
        spec = table[model_id]
        check_lifecycle(section.key("enabled"), spec)
        in_region = geography is None or geography not in spec.profile_geographies
        if in_region and region is not None and spec.regions and region not in spec.regions:
            section.fail(
                section.key("enabled"),
                f"{model_id!r} is served in {', '.join(spec.regions)} only, not in {region} "
                "(deployment.region)",
            )
        if spec.requires_profile and (
            geography is None or geography not in spec.profile_geographies
        ):
            offered = ", ".join(sorted(g.value for g in spec.profile_geographies))
            section.fail(
                section.key("cross_region"),
                f"{model_id!r} is only served through a cross-region inference profile; "
                f"set cross_region to one of: {offered}",
            )

    aliases_section = section.section("aliases")
    aliases: dict[str, tuple[str, ...]] = {}
    for alias, target in aliases_section.data.items():
        key = aliases_section.key(alias)
        if not _ALIAS.match(alias):
            # Catalog ids contain '.' and ':', so an alias can never shadow a model id.
            section.fail(key, "alias names are lowercase letters, digits and '-' (max 32)")
        targets = (target,) if isinstance(target, str) else target
        if not isinstance(targets, list | tuple) or not targets:
            section.fail(key, "must be a model id or a non-empty list of model ids (fallbacks)")
        for model_id in targets:
            if model_id in table:
                check_lifecycle(key, table[model_id])
            if model_id not in seen:
                section.fail(
                    key,
                    f"points to {model_id!r}, which is not in models.enabled; "
                    f"allowed: {', '.join(enabled)}",
                )
        modalities = {table[model_id].modality for model_id in targets}
        if len(modalities) > 1:
            mixed = ", ".join(f"{m} ({table[m].modality.value})" for m in targets)
            section.fail(
                key,
                f"mixes modalities ({mixed}): every target of an alias must produce the same "
                "kind of output",
            )
        aliases[alias] = tuple(targets)
    return ModelsConfig(
        enabled=enabled,
        aliases=aliases,
        cross_region=geography,
        table=MappingProxyType({model_id: table[model_id] for model_id in enabled}),
        known_ids=frozenset(table),
        warnings=tuple(warnings),
    )


def _declared_models(section: _Section, catalog: Mapping[str, ModelSpec]) -> dict[str, ModelSpec]:
    """Validate models a config declares (ones the catalog does not know yet)."""
    declared: dict[str, ModelSpec] = {}
    for model_id, data in section.data.items():
        try:
            declared[model_id] = declared_spec(model_id, data)
        except ValueError as error:
            section.fail(section.key(model_id), str(error))
    return declared


def _network(section: _Section, deployment: DeploymentConfig) -> NetworkConfig:
    section.reject_unknown(("mode", "vpc_cidr", "vpc_id", "subnet_ids", "availability_zones"))
    mode = NetworkMode(section.choice("mode", tuple(m.value for m in NetworkMode), "create"))
    cidr = section.str_("vpc_cidr", "10.40.0.0/16") or ""
    try:
        network = ipaddress.ip_network(cidr)
    except ValueError:
        section.fail(section.key("vpc_cidr"), f"{cidr!r} is not a CIDR block such as 10.40.0.0/16")
    if network.version != 4 or not 16 <= network.prefixlen <= 24:
        section.fail(section.key("vpc_cidr"), f"{cidr!r} must be an IPv4 block from /16 to /24")
    vpc_id = section.str_("vpc_id") or None
    subnet_ids = section.str_list("subnet_ids")
    zones = section.str_list("availability_zones")
    if mode is NetworkMode.EXISTING:
        if vpc_id is None or not _VPC_ID.match(vpc_id):
            section.fail(
                section.key("vpc_id"), "mode 'existing' needs a VPC id such as vpc-0abc1234"
            )
        if len(subnet_ids) < 2 or not all(_SUBNET_ID.match(s) for s in subnet_ids):
            section.fail(section.key("subnet_ids"), "mode 'existing' needs two or more subnet ids")
        if len(zones) != len(subnet_ids):
            section.fail(
                section.key("availability_zones"),
                "mode 'existing' needs one availability zone per subnet id, in the same order",
            )
    elif vpc_id or subnet_ids:
        section.fail(section.key("vpc_id"), "only allowed with mode 'existing'")
    if zones and mode is NetworkMode.CREATE and len(zones) < 2:
        section.fail(section.key("availability_zones"), "list two or more zones, or none")
    if zones and deployment.region and not all(z.startswith(deployment.region) for z in zones):
        section.fail(
            section.key("availability_zones"),
            f"zones must be in deployment.region {deployment.region}",
        )
    if mode is NetworkMode.CREATE and deployment.region and not zones:
        # With a fixed region CDK would look zones up in the account at synth: forbidden here.
        section.fail(
            section.key("availability_zones"),
            "required when deployment.region is set (synthesis never looks them up)",
        )
    return NetworkConfig(
        mode=mode,
        vpc_cidr=cidr,
        vpc_id=vpc_id,
        subnet_ids=subnet_ids,
        availability_zones=zones,
    )


def _api(section: _Section) -> ApiConfig:
    section.reject_unknown(
        (
            "endpoint_type",
            "stage_name",
            "throttle_rate_limit",
            "throttle_burst_limit",
            "quota_requests_per_day",
            "auth",
            "waf",
            "allowed_vpc_ids",
            "teams",
        )
    )
    endpoint = EndpointType(
        section.choice("endpoint_type", tuple(e.value for e in EndpointType), "REGIONAL")
    )
    stage = section.str_("stage_name", "api") or ""
    if not re.match(r"^[A-Za-z0-9_]{1,64}$", stage):
        section.fail(section.key("stage_name"), "letters, digits and '_' only (max 64)")
    rate = section.number("throttle_rate_limit", 10.0, 0.1, 10_000.0)
    burst = section.int_("throttle_burst_limit", 20, 1, 5_000)
    quota = section.int_("quota_requests_per_day", 10_000, 1, 100_000_000)
    waf = section.bool_("waf", False)
    if waf and endpoint is EndpointType.PRIVATE:
        section.fail(section.key("waf"), "AWS WAF is offered here for REGIONAL APIs only")
    vpc_ids = section.str_list("allowed_vpc_ids")
    if vpc_ids and endpoint is not EndpointType.PRIVATE:
        section.fail(section.key("allowed_vpc_ids"), "only allowed with endpoint_type 'PRIVATE'")
    for vpc_id in vpc_ids:
        if not _VPC_ID.match(vpc_id):
            section.fail(section.key("allowed_vpc_ids"), f"{vpc_id!r} is not a VPC id")
    teams_section = section.section("teams")
    teams = []
    for name in teams_section.data:
        team = teams_section.section(name)
        if not _ALIAS.match(name):
            team.fail(team.path, "team names are lowercase letters, digits and '-' (max 32)")
        team.reject_unknown(
            ("throttle_rate_limit", "throttle_burst_limit", "quota_requests_per_day")
        )
        teams.append(
            TeamConfig(
                name=name,
                throttle_rate_limit=min(
                    team.number("throttle_rate_limit", rate, 0.1, 10_000.0), rate
                ),
                throttle_burst_limit=min(team.int_("throttle_burst_limit", burst, 1, 5_000), burst),
                quota_requests_per_day=team.int_("quota_requests_per_day", quota, 1, 100_000_000),
            )
        )
    if not teams:
        teams.append(TeamConfig("default", rate, burst, quota))
    return ApiConfig(
        endpoint_type=endpoint,
        stage_name=stage,
        throttle_rate_limit=rate,
        throttle_burst_limit=burst,
        quota_requests_per_day=quota,
        auth=AuthMode(section.choice("auth", tuple(a.value for a in AuthMode), "api_key")),
        waf=waf,
        allowed_vpc_ids=vpc_ids,
        teams=tuple(teams),
    )


def _alarms(section: _Section) -> AlarmsConfig:
    section.reject_unknown(
        (
            "emails",
            "error_rate_percent",
            "throttle_rate_percent",
            "p99_latency_ms",
            "daily_cost_usd",
        )
    )
    emails = section.str_list("emails")
    for email in emails:
        if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
            section.fail(section.key("emails"), f"{email!r} is not an email address")
    return AlarmsConfig(
        emails=emails,
        error_rate_percent=section.number("error_rate_percent", 5.0, 0.1, 100.0),
        throttle_rate_percent=section.number("throttle_rate_percent", 10.0, 0.1, 100.0),
        p99_latency_ms=section.int_("p99_latency_ms", 20_000, 100, 900_000),
        daily_cost_usd=section.number("daily_cost_usd", 100.0, 0.01, 1_000_000.0),
    )


_USE_CASE_KEYS = (
    "companyName",
    "companyWebsite",
    "intendedUsers",
    "industryOption",
    "otherIndustryOption",
    "useCases",
)


def _access_check(section: _Section) -> AccessCheckConfig:
    section.reject_unknown(("mode", "accept_offers", "anthropic_use_case"))
    use_case = section.section("anthropic_use_case")
    use_case.reject_unknown(_USE_CASE_KEYS)
    form: dict[str, str] = {}
    for key in _USE_CASE_KEYS:
        value = use_case.str_(key)
        if value:
            form[key] = value
    if form and not {"companyName", "companyWebsite", "intendedUsers", "useCases"} <= set(form):
        use_case.fail(
            use_case.path,
            "needs companyName, companyWebsite, intendedUsers and useCases (or nothing at all)",
        )
    return AccessCheckConfig(
        mode=AccessCheckMode(
            section.choice("mode", tuple(m.value for m in AccessCheckMode), "warn")
        ),
        accept_offers=section.bool_("accept_offers", False),
        anthropic_use_case=form,
    )


def _invocation_logging(section: _Section) -> InvocationLoggingConfig:
    section.reject_unknown(
        (
            "enabled",
            "on_existing",
            "text",
            "image",
            "embedding",
            "transition_to_infrequent_access_days",
            "expiration_days",
        )
    )
    transition = section.int_("transition_to_infrequent_access_days", 30, 30, 3650)
    expiration = section.int_("expiration_days", 365, 1, 3650)
    if expiration <= transition:
        section.fail(
            section.key("expiration_days"),
            f"must be after transition_to_infrequent_access_days ({transition})",
        )
    return InvocationLoggingConfig(
        # Off by default: the setting is account-wide and captures prompts and completions.
        enabled=section.bool_("enabled", False),
        on_existing=OnExisting(
            section.choice("on_existing", tuple(o.value for o in OnExisting), "fail")
        ),
        text=section.bool_("text", True),
        image=section.bool_("image", False),
        embedding=section.bool_("embedding", False),
        transition_to_infrequent_access_days=transition,
        expiration_days=expiration,
    )


def _security(section: _Section) -> SecurityConfig:
    section.reject_unknown(("permissions_boundary_arn",))
    arn = section.str_("permissions_boundary_arn") or None
    if arn is not None and not re.match(r"^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/.+$", arn):
        section.fail(
            section.key("permissions_boundary_arn"),
            f"{arn!r} is not an IAM managed policy ARN (arn:aws:iam::123456789012:policy/NAME)",
        )
    return SecurityConfig(permissions_boundary_arn=arn)


def _gateway(section: _Section) -> GatewayFunctionConfig:
    section.reject_unknown(
        (
            "memory_mb",
            "timeout_seconds",
            "stream_timeout_seconds",
            "reserved_concurrency",
            "web_adapter_layer_version",
        )
    )
    return GatewayFunctionConfig(
        memory_mb=section.int_("memory_mb", 512, 128, 10_240),
        # API Gateway's buffered integrations time out at 29 s; streaming raises this later.
        timeout_seconds=section.int_("timeout_seconds", 29, 3, 900),
        reserved_concurrency=section.int_("reserved_concurrency", 20, 1, 1000),
        # Lambda Web Adapter v1.1.0 (aws/aws-lambda-web-adapter PR #871); docs/configuration.md.
        web_adapter_layer_version=section.int_(
            "web_adapter_layer_version", WEB_ADAPTER_LAYER_VERSION, 1, 1000
        ),
        # The chat route streams through API Gateway (STREAM transfer mode): up to 15 minutes.
        stream_timeout_seconds=section.int_("stream_timeout_seconds", 300, 30, 900),
    )


def _observability(section: _Section) -> ObservabilityConfig:
    section.reject_unknown(("log_retention_days", "retain_logs", "log_content"))
    days = section.int_("log_retention_days", 30, 1, 3653)
    if days not in _LOG_RETENTION_DAYS:
        section.fail(
            section.key("log_retention_days"),
            f"{days} is not a CloudWatch retention; allowed: "
            + ", ".join(str(d) for d in _LOG_RETENTION_DAYS),
        )
    # Retained by default: deleting a stack must not delete audit data unless asked to.
    return ObservabilityConfig(
        log_retention_days=days,
        retain_logs=section.bool_("retain_logs", True),
        # Prompts and completions stay out of logs unless a config says otherwise, explicitly.
        log_content=section.bool_("log_content", False),
    )
