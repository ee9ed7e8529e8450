"""GovernanceStack: model access pre-flight and Bedrock invocation logging, as code.

Both are account-and-region settings Bedrock offers no CloudFormation resource for, so each is
a custom resource whose handler runs in the kit's VPC and reaches Bedrock's control plane
through its interface endpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.components.control_plane_access import (
    Permission,
    access_check_permissions,
    invocation_logging_permissions,
)
from stacks.components.governed_function import GovernedCustomResource
from stacks.components.invocation_log_store import InvocationLogStore


@dataclass(frozen=True, slots=True)
class AccessCheckSettings:
    """What the deploy-time model access check checks and may do."""

    model_ids: tuple[str, ...]
    use_case_model_ids: tuple[str, ...]
    mode: str
    accept_offers: bool
    marketplace_product_ids: tuple[str, ...]
    use_case_parameter: str | None

    def permissions(self) -> list[Permission]:
        """What the check's handler may do (its role, and the endpoints it calls through)."""
        return access_check_permissions(
            self.model_ids,
            accept_offers=self.accept_offers,
            marketplace_product_ids=self.marketplace_product_ids,
            use_case_parameter=self.use_case_parameter,
        )


@dataclass(frozen=True, slots=True)
class InvocationLoggingSettings:
    """Which invocation data Bedrock logs, where, and what to do with an existing setting."""

    store: InvocationLogStore
    on_existing: str
    text: bool
    image: bool
    embedding: bool


class GovernanceStack(Stack):
    """Deploy-time checks and account settings the gateway depends on."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        access_check: AccessCheckSettings | None,
        invocation_logging: InvocationLoggingSettings | None,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        log_key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)

        def custom_resource(
            construct_id: str,
            package: str,
            description: str,
            statements: Sequence[iam.PolicyStatement],
            properties: dict[str, Any],
        ) -> GovernedCustomResource:
            return GovernedCustomResource(
                self,
                construct_id,
                package=package,
                description=description,
                statements=statements,
                properties=properties,
                vpc=vpc,
                subnets=subnets,
                security_group=security_group,
                log_retention=log_retention,
                log_key=log_key,
                removal_policy=removal_policy,
            )

        self.access_check: GovernedCustomResource | None = None
        if access_check is not None:
            statements = [p.for_role() for p in access_check.permissions()]
            self.access_check = custom_resource(
                "ModelAccessCheck",
                "model_access_check",
                "Deploy-time check that every enabled Bedrock model is usable",
                statements,
                {
                    "ModelIds": list(access_check.model_ids),
                    "AnthropicModelIds": list(access_check.use_case_model_ids),
                    "Mode": access_check.mode,
                    "AcceptOffers": "true" if access_check.accept_offers else "false",
                    # Only the parameter's name: the form itself never enters the template.
                    "UseCaseFormParameter": access_check.use_case_parameter or "",
                },
            )
        self.invocation_logging: GovernedCustomResource | None = None
        if invocation_logging is not None:
            store = invocation_logging.store
            statements = [p.for_role() for p in invocation_logging_permissions()]
            if store.delivery_role is not None:
                statements.append(
                    iam.PolicyStatement(
                        sid="PassDeliveryRoleToBedrock",
                        actions=["iam:PassRole"],
                        resources=[store.delivery_role.role_arn],
                        conditions={
                            "StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}
                        },
                    )
                )
            config = store.logging_config(
                text=invocation_logging.text,
                image=invocation_logging.image,
                embedding=invocation_logging.embedding,
            )
            self.invocation_logging = custom_resource(
                "InvocationLogging",
                "invocation_logging",
                "Bedrock model invocation logging configuration, owned by the kit",
                statements,
                {
                    # A JSON string, so CloudFormation keeps the booleans booleans.
                    "LoggingConfig": self.to_json_string(config),
                    "OnExisting": invocation_logging.on_existing,
                },
            )
            # Bedrock validates the destinations when the configuration is put.
            for dependency in store.dependables:
                self.invocation_logging.resource.node.add_dependency(dependency)
