"""Composes the kit's stacks from a validated KitConfig (called by app.py and by the tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import App, Aws, Environment, RemovalPolicy, Stack, Tags, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks

from lambdas.gateway.catalog import Provider
from stacks.access_stack import AccessStack
from stacks.api_stack import ApiStack
from stacks.components.gateway_asset import gateway_code
from stacks.components.model_access import foundation_model_arn, invoke_statements, model_arns
from stacks.config import AccessCheckMode, EndpointType, KitConfig
from stacks.governance_stack import ACCOUNT_LEVEL_BEDROCK_ACTIONS, GovernanceStack
from stacks.monitoring_stack import MonitoringStack
from stacks.nag_acknowledgments import acknowledge_findings
from stacks.network_stack import NetworkStack
from stacks.observability_stack import ObservabilityStack

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
"""CloudWatch retention periods by days (config validates against these keys)."""


@dataclass(frozen=True, slots=True)
class KitStacks:
    """The stacks of one environment."""

    network: NetworkStack
    observability: ObservabilityStack
    access: AccessStack
    api: ApiStack
    monitoring: MonitoringStack
    governance: GovernanceStack | None = None

    def all(self) -> tuple[Stack, ...]:
        """Every stack of the environment."""
        stacks: tuple[Stack, ...] = (
            self.network,
            self.observability,
            self.access,
            self.api,
            self.monitoring,
        )
        return (*stacks, self.governance) if self.governance is not None else stacks


def _control_plane_statements(config: KitConfig) -> list[iam.PolicyStatement]:
    """Endpoint policy for Bedrock's control plane: only what the deploy-time handlers call."""
    needs_check = config.access_check.mode is not AccessCheckMode.OFF
    if not needs_check and not config.invocation_logging.enabled:
        return []
    actions = [
        action
        for action in ACCOUNT_LEVEL_BEDROCK_ACTIONS
        if ("InvocationLogging" in action and config.invocation_logging.enabled)
        or ("InvocationLogging" not in action and needs_check)
    ]
    statements = [
        iam.PolicyStatement(
            sid="DeployTimeAccountSettings",
            principals=[iam.AnyPrincipal()],
            actions=actions,
            resources=["*"],
        )
    ]
    if needs_check:
        statements.append(
            iam.PolicyStatement(
                sid="ReadEnabledModels",
                principals=[iam.AnyPrincipal()],
                actions=["bedrock:GetFoundationModel"],
                resources=[foundation_model_arn(m, Aws.REGION) for m in config.models.enabled],
            )
        )
    return statements


def metrics_namespace(config: KitConfig) -> str:
    """CloudWatch namespace of one environment's gateway metrics."""
    return f"BedrockKit/{config.env_name}"


def compose(app: App, config: KitConfig, *, gateway_source: Path) -> KitStacks:
    """Add every stack of `config` to `app`, with cdk-nag checks and reasoned acknowledgments."""
    env = Environment(account=config.deployment.account, region=config.deployment.region)
    prefix = f"BedrockKit-{config.env_name}"
    retention = RETENTION_DAYS[config.observability.log_retention_days]
    removal = RemovalPolicy.RETAIN if config.observability.retain_logs else RemovalPolicy.DESTROY
    specs = config.models.specs()
    # One derivation serves the role and the endpoint policy, so they cannot disagree.
    arns = model_arns(specs, config.models.cross_region)

    observability = ObservabilityStack(
        app, f"{prefix}-Observability", env=env, retention=retention, removal_policy=removal
    )
    access = AccessStack(
        app,
        f"{prefix}-Access",
        env=env,
        bedrock_statements=invoke_statements(arns),
        log_group_exports=observability.exports,
    )
    access.add_stack_dependency(observability)
    network = NetworkStack(
        app,
        f"{prefix}-Network",
        env=env,
        network=config.network,
        bedrock_statements=invoke_statements(arns, principal=iam.AnyPrincipal()),
        flow_log_group=observability.flow_log_group,
        # Other stacks may not edit a role: every permission is decided in AccessStack.
        flow_logs_role=access.flow_logs_role.without_policy_updates(),
        private_api=config.api.endpoint_type is EndpointType.PRIVATE,
        control_plane_statements=_control_plane_statements(config),
    )
    governance = None
    if network.control_plane_security_group is not None:
        governance = GovernanceStack(
            app,
            f"{prefix}-Governance",
            env=env,
            model_ids=config.models.enabled,
            anthropic_model_ids=[
                spec.model_id for spec in specs if spec.provider == Provider.ANTHROPIC
            ],
            access_check=config.access_check,
            invocation_logging=config.invocation_logging,
            vpc=network.vpc,
            subnets=network.subnets,
            security_group=network.control_plane_security_group,
            key=observability.key,
            log_retention=retention,
            removal_policy=removal,
        )
    api = ApiStack(
        app,
        f"{prefix}-Api",
        env=env,
        # The deployment's routing travels inside the asset (it outgrows Lambda's 4 KB of
        # environment variables once each enabled model carries its spec).
        code=gateway_code(gateway_source, routing_json=config.models.routing().to_json()),
        role=access.gateway_role.without_policy_updates(),
        authorizer_role=access.authorizer_role.without_policy_updates(),
        vpc=network.vpc,
        subnets=network.subnets,
        security_group=network.gateway_security_group,
        function_log_group=observability.gateway_log_group,
        authorizer_log_group=observability.authorizer_log_group,
        access_log_group=observability.access_log_group,
        execute_api_endpoint=network.execute_api_endpoint,
        logs_key=observability.key,
        log_retention=retention,
        log_content=config.observability.log_content,
        metrics_namespace=metrics_namespace(config),
        api_name=f"bedrock-kit-{config.env_name}",
        api=config.api,
        gateway=config.gateway,
    )
    # The functions need their roles' policies in place before they start.
    api.add_stack_dependency(access)
    monitoring = MonitoringStack(
        app,
        f"{prefix}-Monitoring",
        env=env,
        dashboard_name=f"bedrock-kit-{config.env_name}",
        api_name=f"bedrock-kit-{config.env_name}",
        stage_name=config.api.stage_name,
        namespace=metrics_namespace(config),
        model_ids=config.models.enabled,
        log_group=observability.gateway_log_group,
        alarms=config.alarms,
        key=observability.key,
    )
    stacks = KitStacks(
        network=network,
        observability=observability,
        access=access,
        api=api,
        monitoring=monitoring,
        governance=governance,
    )
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
    acknowledge_findings(stacks, config)
    return stacks
