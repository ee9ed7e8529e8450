"""Every other table of a config file: deployment, network, API, gateway, logs, alarms, checks."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from typing import Annotated, ClassVar, Self

from pydantic import (
    AfterValidator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)

from stacks.config.base import (
    LOG_RETENTION_DAYS,
    WAF_WINDOW_SECONDS,
    WEB_ADAPTER_LAYER_VERSION,
    AccessCheckMode,
    ApiAuth,
    EndpointType,
    NetworkMode,
    OnExisting,
    Problem,
    Section,
)
from stacks.config.patterns import (
    ACCOUNT,
    EMAIL,
    ORGANIZATION,
    ORIGIN,
    PARAMETER,
    POLICY,
    PRINCIPAL,
    PRODUCT_ID,
    REGION,
    ROLE,
    ROUTE_TABLE_ID,
    STAGE,
    SUBNET_ID,
    TAG_KEY,
    TAG_VALUE,
    TOPIC,
    Name,
    VpcId,
)


class DeploymentConfig(Section):
    """Target account and region; both optional (environment-agnostic stacks by default)."""

    account: str | None = Field(default=None, pattern=ACCOUNT)
    region: str | None = Field(default=None, pattern=REGION)
    # Production environments get stricter defaults (api.waf) and must route their alarms.
    production: StrictBool = False


# RFC 2606 names: mail to them never arrives.
_RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
_RESERVED_TLDS = ("example", "test", "invalid", "localhost")


def _ipv4_block(cidr: str) -> str:
    try:
        network = ipaddress.ip_network(cidr)
    except ValueError:
        raise ValueError(f"{cidr!r} is not a CIDR block such as 10.40.0.0/16") from None
    if network.version != 4 or not 16 <= network.prefixlen <= 24:
        raise ValueError(f"{cidr!r} must be an IPv4 block from /16 to /24")
    return cidr


class NetworkConfig(Section):
    """VPC placement of the gateway."""

    mode: NetworkMode = NetworkMode.CREATE
    vpc_cidr: Annotated[str, AfterValidator(_ipv4_block)] = "10.40.0.0/16"
    vpc_id: VpcId | None = None
    subnet_ids: tuple[Annotated[str, Field(pattern=SUBNET_ID)], ...] = ()
    availability_zones: tuple[str, ...] = ()
    # With `existing`: the subnets' route tables, for the kit's DynamoDB gateway endpoint.
    route_table_ids: tuple[Annotated[str, Field(pattern=ROUTE_TABLE_ID)], ...] = ()

    @model_validator(mode="after")
    def _fits_the_mode(self) -> Self:
        zones, existing = self.availability_zones, self.mode is NetworkMode.EXISTING
        if existing and self.vpc_id is None:
            raise Problem("vpc_id", "mode 'existing' needs a VPC id such as vpc-0abc1234")
        if existing and len(self.subnet_ids) < 2:
            raise Problem("subnet_ids", "mode 'existing' needs two or more subnet ids")
        if existing and len(zones) != len(self.subnet_ids):
            raise Problem(
                "availability_zones",
                "mode 'existing' needs one availability zone per subnet id, in the same order",
            )
        if existing and self.route_table_ids and len(self.route_table_ids) != len(self.subnet_ids):
            raise Problem(
                "route_table_ids",
                "one route table id per subnet id, in the same order (or none)",
            )
        if existing and "vpc_cidr" not in self.model_fields_set:
            raise Problem(
                "vpc_cidr",
                "mode 'existing' needs the VPC's CIDR block: the kit's security groups allow "
                "HTTPS only to it, so a wrong default would cut the functions off from Bedrock",
            )
        for key in ("vpc_id", "subnet_ids", "route_table_ids"):
            if not existing and getattr(self, key):
                raise Problem(key, "only allowed with mode 'existing'")
        if zones and not existing and len(zones) < 2:
            raise Problem("availability_zones", "list two or more zones, or none")
        return self


class _Limits(Section):
    """A usage plan's limits: the [api] ones (the stage's), and each [api.teams.NAME] table."""

    throttle_rate_limit: StrictFloat = Field(default=10.0, ge=0.1, le=10_000)
    throttle_burst_limit: StrictInt = Field(default=20, ge=1, le=5_000)
    quota_requests_per_day: StrictInt = Field(default=10_000, ge=1, le=100_000_000)


# AWS tag rules (Tagging AWS resources, "Tag naming limits and requirements"); the `aws:`
# prefix is reserved for AWS.
TagKey = Annotated[str, Field(pattern=TAG_KEY)]
TagValue = Annotated[str, Field(pattern=TAG_VALUE)]
# Keys per resource (50 on AWS) minus the kit's own tags.
MAX_TEAM_TAGS = 40


class _TeamSettings(_Limits):
    """A [api.teams.NAME] table: its usage plan, models, budgets and cost-allocation tags."""

    # Cost-allocation tags on the team's application inference profiles (Cost Explorer).
    tags: dict[TagKey, TagValue] = Field(default_factory=dict, max_length=MAX_TEAM_TAGS)
    # Models and aliases the team may call; empty: every enabled model and alias.
    models: tuple[str, ...] = ()
    # Monthly (UTC calendar month) budgets: the hard stop; unset means unlimited.
    monthly_token_limit: StrictInt | None = Field(default=None, ge=1, le=10**15)
    monthly_cost_limit_usd: StrictFloat | None = Field(default=None, ge=0.01, le=10**9)
    # Share of a limit at which the alarm topic hears, once per month, that the team nears it.
    soft_limit_percent: StrictFloat = Field(default=80.0, ge=1, le=100)
    # Streamed chat completions in flight at once across the deployment; unset: no limit.
    max_concurrent_streams: StrictInt | None = Field(default=None, ge=1, le=10_000)
    # With auth "iam": the principals (roles, users, or an account's :root) whose SigV4 calls
    # belong to this team; the API's resource policy admits them too.
    iam_principals: tuple[Annotated[str, Field(pattern=PRINCIPAL)], ...] = ()
    # Knowledge bases the team may search; unset: every one of the environment.
    knowledge_bases: tuple[str, ...] | None = None
    # The guardrail of the team's requests ("none": none); unset: the alias's or the default.
    guardrail: str | None = None

    @field_validator("tags")
    @classmethod
    def _no_reserved_prefix(cls, tags: dict[str, str]) -> dict[str, str]:
        for key in tags:
            if key.lower().startswith("aws:") or key.startswith("bedrock-kit:"):
                raise ValueError(
                    f"tag key {key!r}: the aws: and bedrock-kit: prefixes are reserved"
                )
        return tags


class TeamConfig(_TeamSettings):
    """One team: its API keys' usage plan, the models it may call and its monthly budgets."""

    name: str

    @property
    def budgeted(self) -> bool:
        """Whether the team has a monthly token or cost limit."""
        return self.monthly_token_limit is not None or self.monthly_cost_limit_usd is not None


_TEAM_TABLES = TypeAdapter(dict[Name, _TeamSettings])


class ApiConfig(_Limits):
    """The API Gateway front door; its limits are the stage's and the teams' defaults."""

    endpoint_type: EndpointType = EndpointType.REGIONAL
    stage_name: str = Field(default="api", pattern=STAGE)
    auth: ApiAuth = ApiAuth.API_KEY
    # Who may call with auth "iam": principal ARNs and/or one AWS Organization.
    iam_principals: tuple[Annotated[str, Field(pattern=PRINCIPAL)], ...] = ()
    organization_id: str | None = Field(default=None, pattern=ORGANIZATION)
    # Default: on for a production REGIONAL API (KitConfig fills it in from [deployment]).
    waf: StrictBool = False
    # Requests per client IP per 5-minute window (a WAF rate-based rule).
    # Unset: the largest team plan's rate over WAF's 5-minute window (ApiConfig.waf_limit_per_ip).
    waf_rate_limit_per_ip: StrictInt | None = Field(default=None, ge=10, le=2_000_000_000)
    authorizer_reserved_concurrency: StrictInt = Field(default=0, ge=0, le=1000)  # 0: none
    # Whether this environment owns API Gateway's account-level CloudWatch role.
    manage_account_logging_role: StrictBool = False
    allowed_vpc_ids: tuple[VpcId, ...] = ()
    # Browser apps' origins allowed to call (CORS); none: browsers cannot call the API.
    cors_allowed_origins: tuple[Annotated[str, Field(pattern=ORIGIN)], ...] = ()
    # One application inference profile per team and model, tagged with the team's tags: the
    # gateway calls through the caller's own profile, so Cost Explorer splits Bedrock by team.
    team_inference_profiles: StrictBool = False
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
    def admitted_principals(self) -> tuple[str, ...]:
        """The principals the API's resource policy names: [api]'s and every team's."""
        named = [*self.iam_principals, *(p for team in self.teams for p in team.iam_principals)]
        return tuple(dict.fromkeys(named))

    def _teams_fit_the_auth(self) -> None:
        """Team rules need callers the gateway can tell apart: keys, or named IAM principals."""
        owners: dict[str, str] = {}
        for team in self.teams:
            if team.iam_principals and self.auth is not ApiAuth.IAM:
                raise Problem(f"teams.{team.name}.iam_principals", "only allowed with auth 'iam'")
            for principal in team.iam_principals:
                if principal in owners:
                    raise Problem(
                        f"teams.{team.name}.iam_principals",
                        f"{principal} already belongs to team {owners[principal]}",
                    )
                owners[principal] = team.name
            if self.auth is not ApiAuth.IAM or team.iam_principals:
                continue
            for key in (
                "models",
                "monthly_token_limit",
                "monthly_cost_limit_usd",
                "max_concurrent_streams",
                "tags",
            ):
                if getattr(team, key):
                    raise Problem(
                        f"teams.{team.name}.{key}",
                        "with auth 'iam' a team's rules apply to its iam_principals: list them",
                    )
        if self.team_inference_profiles and self.auth is not ApiAuth.API_KEY:
            raise Problem(
                "team_inference_profiles",
                "only with auth 'api_key' (SigV4 callers are not routed through team profiles)",
            )

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
            raise Problem("waf", "AWS WAF is offered here for REGIONAL APIs only")
        if self.allowed_vpc_ids and self.endpoint_type is not EndpointType.PRIVATE:
            raise Problem("allowed_vpc_ids", "only allowed with endpoint_type 'PRIVATE'")
        self._teams_fit_the_auth()
        if self.cors_allowed_origins and self.auth is ApiAuth.IAM:
            raise Problem(
                "cors_allowed_origins",
                "only with auth 'api_key': browsers send preflights unsigned, which the IAM "
                "resource policy refuses, and cannot sign SigV4 themselves",
            )
        for key in ("iam_principals", "organization_id"):
            if getattr(self, key) and self.auth is not ApiAuth.IAM:
                raise Problem(key, "only allowed with auth 'iam'")
        if self.auth is ApiAuth.IAM and not (self.admitted_principals or self.organization_id):
            raise Problem(
                "iam_principals",
                "auth 'iam' needs api.iam_principals or api.organization_id: SigV4 alone admits "
                "any AWS principal",
            )
        for key in ("throttle_rate_limit", "throttle_burst_limit"):
            stage = getattr(self, key)
            for team in self.teams:
                if getattr(team, key) > stage:
                    raise Problem(
                        f"teams.{team.name}.{key}",
                        f"{getattr(team, key):g} is above api.{key} ({stage:g})",
                    )
            total = round(sum(getattr(team, key) for team in self.teams), 6)
            if total > stage:
                raise Problem(
                    key,
                    f"{stage:g} is below the sum of the teams' {key} ({total:g}): the stage "
                    "throttle must stay at or above the sum of the team plans so one team or "
                    "anonymous traffic cannot use up the others' share",
                )
        return self


class GatewayFunctionConfig(Section):
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


class ObservabilityConfig(Section):
    """Retention and removal of the kit's log groups."""

    log_retention_days: Annotated[StrictInt, AfterValidator(_retention)] = 30
    # Retained by default: deleting a stack must not delete audit data unless asked to.
    retain_logs: StrictBool = True
    # Prompts and completions stay out of logs unless a config says otherwise, explicitly.
    log_content: StrictBool = False


class SecurityConfig(Section):
    """Organisation-wide guard rails applied to what the kit creates."""

    permissions_boundary_arn: str | None = Field(default=None, pattern=POLICY)


def _placeholder(email: str) -> bool:
    domain = email.rpartition("@")[2].lower()
    return domain.rpartition(".")[2] in _RESERVED_TLDS or any(
        domain == name or domain.endswith(f".{name}") for name in _RESERVED_DOMAINS
    )


class AlarmsConfig(Section):
    """Alarm thresholds and who hears about them."""

    emails: tuple[Annotated[str, Field(pattern=EMAIL)], ...] = ()
    # An existing SNS topic the alarms also go to (a pager, a chat integration...).
    topic_arn: str | None = Field(default=None, pattern=TOPIC)
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


class AccessCheckConfig(Section):
    """Deploy-time model access pre-flight."""

    RETIRED_KEYS: ClassVar[Mapping[str, str]] = {
        "anthropic_use_case": "no longer read from config: it ended up in the CloudFormation "
        "template and in CDK's provider logs; store the form as an SSM SecureString and name it "
        "in access_check.anthropic_use_case_parameter (see docs/configuration.md)",
    }

    mode: AccessCheckMode = AccessCheckMode.WARN
    accept_offers: StrictBool = False
    # An SSM SecureString holding Anthropic's first-time-use form as JSON.
    anthropic_use_case_parameter: str | None = Field(default=None, pattern=PARAMETER)
    # The Marketplace products accept_offers may subscribe to (AWS lists each model's id in
    # the Bedrock user guide, "Product IDs for Amazon Bedrock models").
    marketplace_product_ids: tuple[Annotated[str, Field(pattern=PRODUCT_ID)], ...] = ()

    @model_validator(mode="after")
    def _offers_name_their_products(self) -> Self:
        if self.accept_offers and not self.marketplace_product_ids:
            raise Problem(
                "marketplace_product_ids",
                "accept_offers needs the Marketplace product ids it may subscribe to "
                "(Bedrock user guide: Product IDs for Amazon Bedrock models); without them "
                "the handler could subscribe the account to any product",
            )
        if self.marketplace_product_ids and not self.accept_offers:
            raise Problem("marketplace_product_ids", "only used with accept_offers = true")
        return self


class InvocationLoggingConfig(Section):
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
    auditor_role_arn: str | None = Field(default=None, pattern=ROLE)

    @model_validator(mode="after")
    def _expires_after_transition(self) -> Self:
        if self.expiration_days <= self.transition_to_infrequent_access_days:
            raise Problem(
                "expiration_days",
                "must be after transition_to_infrequent_access_days "
                f"({self.transition_to_infrequent_access_days})",
            )
        return self
