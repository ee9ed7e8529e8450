"""Composes the kit's stacks from a validated KitConfig (called by app.py and by the tests).

Stacks follow lifecycles: Stateful (keys, teams' tables, log groups, invocation-log bucket),
Network, Service (gateway, API, monitoring) and, when a deploy-time feature is on,
Governance. Each construct owns its roles, grants and cdk-nag acknowledgments; this module
maps config onto their small typed props and adds the checks that apply to every stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import App, Environment, RemovalPolicy, Stack, Tags, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks

from lambdas.gateway.catalog import InvocationPath, Provider
from lambdas.gateway.knowledge_bases import KnowledgeBaseKind
from stacks.components.control_plane_access import (
    endpoint_statements,
    invocation_logging_permissions,
)
from stacks.components.gateway import GatewaySettings
from stacks.components.gateway_asset import gateway_code
from stacks.components.gateway_monitoring import AlarmThresholds, BudgetAlert
from stacks.components.guardrails import GuardrailSettings
from stacks.components.invocation_api import IamCallers, UsagePlanLimits
from stacks.components.invocation_log_store import InvocationLogSettings
from stacks.components.knowledge_bases import (
    FixedChunking,
    KnowledgeBaseSettings,
    VectorSettings,
)
from stacks.components.model_access import ModelAccess
from stacks.components.team_profiles import ProfileSource, TeamProfileSet
from stacks.components.vector_stores import (
    AuroraStore,
    FieldMapping,
    OpenSearchDomainStore,
    S3VectorStore,
    ServerlessCollectionStore,
    StoreSettings,
)
from stacks.config import AccessCheckMode, ApiAuth, EndpointType, KitConfig, NetworkMode
from stacks.config.knowledge_bases import Chunking, KnowledgeBaseConfig, VectorStore
from stacks.governance_stack import (
    AccessCheckSettings,
    GovernanceStack,
    InvocationLoggingSettings,
)
from stacks.network_stack import NetworkStack
from stacks.service_stack import ApiSettings, MonitoringSettings, ServiceStack
from stacks.stateful_stack import StatefulStack

RETENTION_DAYS = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}
"""CDK's names for config's LOG_RETENTION_DAYS (a test keeps the two equal)."""


@dataclass(frozen=True, slots=True)
class KitStacks:
    """The stacks of one environment."""

    stateful: StatefulStack
    network: NetworkStack
    service: ServiceStack
    governance: GovernanceStack | None = None

    def all(self) -> tuple[Stack, ...]:
        """Every stack of the environment."""
        stacks: tuple[Stack, ...] = (self.stateful, self.network, self.service)
        return (*stacks, self.governance) if self.governance is not None else stacks


def metrics_namespace(config: KitConfig) -> str:
    """CloudWatch namespace of one environment's gateway metrics."""
    return f"BedrockKit/{config.env_name}"


def _access_check(config: KitConfig) -> AccessCheckSettings | None:
    check = config.access_check
    if check.mode is AccessCheckMode.OFF:
        return None
    return AccessCheckSettings(
        # Foundation models only: own models are the doctor's to check (local/own_models_check).
        model_ids=tuple(spec.model_id for spec in config.models.specs() if spec.invocation is None),
        use_case_model_ids=tuple(
            spec.model_id for spec in config.models.specs() if spec.provider == Provider.ANTHROPIC
        ),
        mode=check.mode.value,
        accept_offers=check.accept_offers,
        marketplace_product_ids=tuple(check.marketplace_product_ids),
        use_case_parameter=check.anthropic_use_case_parameter,
    )


def _teams(config: KitConfig) -> tuple[UsagePlanLimits, ...]:
    return tuple(
        UsagePlanLimits(
            name=team.name,
            throttle_rate_limit=team.throttle_rate_limit,
            throttle_burst_limit=team.throttle_burst_limit,
            quota_requests_per_day=team.quota_requests_per_day,
        )
        for team in config.api.teams
    )


def _team_profiles(config: KitConfig) -> tuple[TeamProfileSet, ...]:
    """Each team's application inference profiles: one per model it may call, as called."""
    if not config.api.team_inference_profiles:
        return ()
    routing = config.models.routing()
    policies = config.team_policies().policies
    sets = []
    for team in config.api.teams:
        allowed = policies[team.name].model_ids
        sources = tuple(
            ProfileSource(
                model_id=target.spec.model_id,
                invocation_id=target.invocation_id,
                geography=None if target.path is InvocationPath.IN_REGION else routing.geography,
            )
            for target in map(routing.target, routing.enabled)
            # An application profile copies a foundation model or a system profile only.
            if target.spec.invocation is None
            and (allowed is None or target.spec.model_id in allowed)
        )
        sets.append(TeamProfileSet(team=team.name, tags=dict(team.tags), sources=sources))
    return tuple(sets)


def _store(kb: KnowledgeBaseConfig) -> StoreSettings:
    fields = FieldMapping(*kb.bedrock_field_mapping)
    if kb.store is VectorStore.OPENSEARCH_SERVERLESS:
        return ServerlessCollectionStore(fields=fields, standby_replicas=kb.standby_replicas)
    if kb.store is VectorStore.OPENSEARCH_DOMAIN:
        assert kb.domain_arn and kb.domain_endpoint and kb.index_name
        return OpenSearchDomainStore(kb.domain_arn, kb.domain_endpoint, kb.index_name, fields)
    if kb.store is VectorStore.AURORA:
        assert kb.cluster_arn and kb.secret_arn and kb.database and kb.table
        assert kb.primary_key_field is not None
        return AuroraStore(
            kb.cluster_arn, kb.secret_arn, kb.database, kb.table, kb.primary_key_field, fields
        )
    return S3VectorStore()


def _knowledge_bases(config: KitConfig) -> tuple[KnowledgeBaseSettings, ...]:
    """Each [knowledge_bases.NAME] as its construct's settings."""
    catalog = config.embedding_models()
    found = []
    for kb in config.knowledge_bases:
        if kb.kind is KnowledgeBaseKind.KENDRA:
            found.append(
                KnowledgeBaseSettings(
                    name=kb.name, description=kb.description, kendra_index_arn=kb.kendra_index_arn
                )
            )
            continue
        spec = kb.embedding_spec(catalog)
        vector = VectorSettings(
            embedding_model_id=spec.model_id,
            dimensions=kb.vector_dimensions(spec),
            store=_store(kb),
            source_bucket=kb.source_bucket,
            source_prefix=kb.source_prefix,
            chunking=FixedChunking(kb.chunk_max_tokens, kb.chunk_overlap_percent)
            if kb.chunking is Chunking.FIXED_SIZE
            else None,
        )
        found.append(KnowledgeBaseSettings(kb.name, kb.description, vector=vector))
    return tuple(found)


def _guardrails(config: KitConfig) -> tuple[GuardrailSettings, ...]:
    """Each [guardrails.NAME] in Bedrock's terms."""
    return tuple(
        GuardrailSettings(
            name=guardrail.name,
            description=guardrail.description,
            blocked_input_message=guardrail.blocked_input_message,
            blocked_output_message=guardrail.blocked_output_message,
            content_filters={
                kind.value.upper(): (strengths.input.value, strengths.output.value)
                for kind, strengths in guardrail.strengths().items()
            },
            denied_topics=tuple(
                (topic.name, topic.definition, topic.examples) for topic in guardrail.denied_topics
            ),
            blocked_words=guardrail.blocked_words,
            profanity=guardrail.profanity,
            pii={kind: action.value.upper() for kind, action in guardrail.pii.items()},
            regexes=tuple(
                (regex.name, regex.pattern, regex.action.value.upper(), regex.description)
                for regex in guardrail.regexes
            ),
            grounding_threshold=guardrail.grounding_threshold,
            relevance_threshold=guardrail.relevance_threshold,
        )
        for guardrail in config.guardrails
    )


def compose(app: App, config: KitConfig, *, gateway_source: Path) -> KitStacks:
    """Add every stack of `config` to `app`, with cdk-nag checks."""
    env = Environment(account=config.deployment.account, region=config.deployment.region)
    prefix = f"BedrockKit-{config.env_name}"
    retention = RETENTION_DAYS[config.observability.log_retention_days]
    removal = RemovalPolicy.RETAIN if config.observability.retain_logs else RemovalPolicy.DESTROY
    access_check = _access_check(config)
    logging = config.invocation_logging

    stateful = StatefulStack(
        app,
        f"{prefix}-Stateful",
        env=env,
        retention=retention,
        removal_policy=removal,
        production=config.deployment.production,
        env_name=config.env_name,
        team_profiles=_team_profiles(config),
        knowledge_bases=_knowledge_bases(config),
        guardrails=_guardrails(config),
        invocation_logs=InvocationLogSettings(
            transition_to_infrequent_access_days=logging.transition_to_infrequent_access_days,
            expiration_days=logging.expiration_days,
            cloudwatch_copy=logging.cloudwatch,
            auditor_role_arn=logging.auditor_role_arn,
        )
        if logging.enabled
        else None,
    )
    # The enabled models, and through the teams' application inference profiles if any.
    model_access = ModelAccess.of(
        config.models.specs(), config.models.cross_region
    ).with_application_profiles(
        stateful.team_profiles.arns_by_model() if stateful.team_profiles else {}
    )
    # The handlers' roles and the endpoint policies come from the same permissions.
    control_plane = [
        *(access_check.permissions() if access_check is not None else []),
        *(invocation_logging_permissions() if logging.enabled else []),
    ]
    network_config = config.network
    existing = network_config.mode is NetworkMode.EXISTING
    network = NetworkStack(
        app,
        f"{prefix}-Network",
        env=env,
        vpc_cidr=network_config.vpc_cidr,
        availability_zones=network_config.availability_zones,
        existing_vpc_id=network_config.vpc_id if existing else None,
        existing_subnet_ids=network_config.subnet_ids,
        flow_log_group=stateful.logs.flow,
        runtime_endpoint_statements=[
            *model_access.endpoint_statements(),
            *(stateful.guardrails.endpoint_statements() if stateful.guardrails else []),
        ],
        control_plane_endpoint_statements=endpoint_statements(control_plane, "bedrock"),
        parameter_endpoint_statements=endpoint_statements(control_plane, "ssm"),
        # The gateway functions count team usage in DynamoDB from the isolated subnets.
        usage_endpoint_statements=stateful.team_tables.usage_endpoint_statements(),
        sagemaker_endpoint_statements=model_access.sagemaker_endpoint_statements(),
        # The gateway searches the knowledge bases (Retrieve) through bedrock-agent-runtime.
        retrieval_endpoint_statements=stateful.knowledge_bases.endpoint_statements()
        if stateful.knowledge_bases
        else (),
        # In an existing VPC, only on the route tables config names (KitNetwork warns without
        # any: the VPC must then reach DynamoDB some other way).
        existing_route_table_ids=network_config.route_table_ids,
        private_api=config.api.endpoint_type is EndpointType.PRIVATE,
        log_key=stateful.logs.key,
        log_retention=retention,
        log_removal_policy=removal,
    )
    api = config.api
    service = ServiceStack(
        app,
        f"{prefix}-Service",
        env=env,
        # The deployment's routing travels inside the asset (it outgrows Lambda's 4 KB of
        # environment variables once each enabled model carries its spec).
        code=gateway_code(gateway_source, routing_json=config.gateway_routing_json()),
        model_access=model_access,
        logs=stateful.logs,
        tables=stateful.team_tables,
        team_profiles=stateful.team_profiles,
        knowledge_bases=stateful.knowledge_bases,
        guardrails=stateful.guardrails,
        vpc=network.network.vpc,
        subnets=network.network.subnets,
        security_group=network.network.gateway_security_group,
        private_api_endpoint=network.network.execute_api_endpoint,
        allowed_vpc_ids=tuple(api.allowed_vpc_ids),
        gateway=GatewaySettings(
            memory_mb=config.gateway.memory_mb,
            timeout_seconds=config.gateway.timeout_seconds,
            stream_timeout_seconds=config.gateway.stream_timeout_seconds,
            reserved_concurrency=config.gateway.reserved_concurrency,
            web_adapter_layer_version=config.gateway.web_adapter_layer_version,
            log_content=config.observability.log_content,
            metrics_namespace=metrics_namespace(config),
            # Key callers always have a team; SigV4 callers when teams name their principals.
            require_team=config.api.auth is ApiAuth.API_KEY
            or any(team.iam_principals for team in config.api.teams),
            cors_origins=tuple(config.api.cors_allowed_origins),
        ),
        api=ApiSettings(
            name=f"bedrock-kit-{config.env_name}",
            stage_name=api.stage_name,
            throttle_rate_limit=api.throttle_rate_limit,
            throttle_burst_limit=api.throttle_burst_limit,
            teams=_teams(config),
            iam_callers=IamCallers(api.admitted_principals, api.organization_id)
            if api.auth is ApiAuth.IAM
            else None,
            authorizer_reserved_concurrency=api.authorizer_reserved_concurrency,
            waf_rate_limit_per_ip=api.waf_limit_per_ip if api.waf else None,
            manage_account_logging_role=api.manage_account_logging_role,
            cors_origins=tuple(api.cors_allowed_origins),
        ),
        monitoring=MonitoringSettings(
            dashboard_name=f"bedrock-kit-{config.env_name}",
            thresholds=AlarmThresholds(
                error_rate_percent=config.alarms.error_rate_percent,
                throttle_rate_percent=config.alarms.throttle_rate_percent,
                p99_latency_ms=config.alarms.p99_latency_ms,
                daily_cost_usd=config.alarms.daily_cost_usd,
            ),
            emails=tuple(config.alarms.emails),
            topic_arn=config.alarms.topic_arn,
            model_ids=tuple(config.models.enabled),
            teams=tuple(team.name for team in config.api.teams),
            budget_alerts=tuple(
                BudgetAlert(team.name, team.soft_limit_percent)
                for team in config.api.teams
                if team.budgeted
            ),
        ),
    )
    governance = None
    control_plane_group = network.network.control_plane_security_group
    if control_plane_group is not None:
        store = stateful.invocation_logs
        governance = GovernanceStack(
            app,
            f"{prefix}-Governance",
            env=env,
            access_check=access_check,
            invocation_logging=InvocationLoggingSettings(
                store=store,
                on_existing=logging.on_existing.value,
                text=logging.text,
                image=logging.image,
                embedding=logging.embedding,
            )
            if store is not None
            else None,
            vpc=network.network.vpc,
            subnets=network.network.subnets,
            security_group=control_plane_group,
            log_key=stateful.logs.key,
            log_retention=retention,
            removal_policy=removal,
        )
    if governance is not None and access_check is not None and access_check.mode == "strict":
        # A strict access check gates the service: nothing serves until every model is usable.
        service.add_dependency(governance)
    stacks = KitStacks(stateful=stateful, network=network, service=service, governance=governance)
    for stack in stacks.all():
        Tags.of(stack).add("bedrock-kit:environment", config.env_name)
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app), NIST80053R5Checks(app), HIPAASecurityChecks(app)
    )
    boundary = config.security.permissions_boundary_arn
    if boundary is not None:
        for stack in stacks.all():
            policy = iam.ManagedPolicy.from_managed_policy_arn(
                stack, "PermissionsBoundary", boundary
            )
            # Every role the stack creates, CDK's own helper roles included.
            iam.PermissionsBoundary.of(stack).apply(policy)
    return stacks
