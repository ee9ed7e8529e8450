"""What the deploy-time handlers may do, as their roles and as the VPC endpoint policies.

One derivation serves the handlers' roles and the endpoint policies, so an endpoint never
admits an action no role holds (and the other way round).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws
from aws_cdk import aws_iam as iam

from stacks.components.model_access import account_scoped, foundation_model_arn

# Account-level settings: these actions take no resource ARN, so IAM accepts only "*".
ACCESS_STATE_ACTIONS = (
    "bedrock:GetFoundationModelAvailability",
    "bedrock:GetUseCaseForModelAccess",
)
OFFER_ACTIONS = (
    "bedrock:ListFoundationModelAgreementOffers",
    "bedrock:CreateFoundationModelAgreement",
)
SUBMIT_USE_CASE_ACTIONS = ("bedrock:PutUseCaseForModelAccess",)
INVOCATION_LOGGING_ACTIONS = (
    "bedrock:GetModelInvocationLoggingConfiguration",
    "bedrock:PutModelInvocationLoggingConfiguration",
    "bedrock:DeleteModelInvocationLoggingConfiguration",
)
ACCOUNT_LEVEL_BEDROCK_ACTIONS = (
    *ACCESS_STATE_ACTIONS,
    *SUBMIT_USE_CASE_ACTIONS,
    *OFFER_ACTIONS,
    *INVOCATION_LOGGING_ACTIONS,
)
# Accepting a model's offer subscribes the account through AWS Marketplace.
MARKETPLACE_SUBSCRIBE = "aws-marketplace:Subscribe"
MARKETPLACE_VIEW_SUBSCRIPTIONS = "aws-marketplace:ViewSubscriptions"
MARKETPLACE_ACTIONS = (MARKETPLACE_SUBSCRIBE, MARKETPLACE_VIEW_SUBSCRIPTIONS)


@dataclass(frozen=True, slots=True)
class Permission:
    """One statement's worth of access: which actions of one service on which resources."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: Mapping[str, Any] | None = None

    @property
    def service(self) -> str:
        """The IAM service prefix of the actions ("bedrock", "ssm"...): the endpoint they use."""
        return self.actions[0].partition(":")[0]

    def for_role(self) -> iam.PolicyStatement:
        """This permission as an identity-policy statement."""
        return iam.PolicyStatement(
            sid=self.sid,
            actions=list(self.actions),
            resources=list(self.resources),
            conditions=dict(self.conditions) if self.conditions else None,
        )

    def for_endpoint(self) -> iam.PolicyStatement:
        """This permission as a VPC endpoint policy statement, for this account only."""
        return account_scoped(
            iam.PolicyStatement(
                sid=self.sid,
                principals=[iam.AnyPrincipal()],
                actions=list(self.actions),
                resources=list(self.resources),
                conditions=dict(self.conditions) if self.conditions else None,
            )
        )


def endpoint_statements(
    permissions: Sequence[Permission], service: str
) -> list[iam.PolicyStatement]:
    """The policy of `service`'s endpoint: exactly the permissions that go through it."""
    return [p.for_endpoint() for p in permissions if p.service == service]


def parameter_arn(name: str) -> str:
    """ARN of an SSM parameter in this account and region (names may start with '/')."""
    return f"arn:{Aws.PARTITION}:ssm:{Aws.REGION}:{Aws.ACCOUNT_ID}:parameter/{name.lstrip('/')}"


def access_check_permissions(
    model_ids: Sequence[str],
    *,
    accept_offers: bool,
    marketplace_product_ids: Sequence[str],
    use_case_parameter: str | None,
) -> list[Permission]:
    """What the model access check may do: read-only unless config allows more."""
    permissions = [
        Permission(
            "ReadEnabledModels",
            ("bedrock:GetFoundationModel",),
            tuple(foundation_model_arn(model_id, Aws.REGION) for model_id in model_ids),
        ),
        Permission("ReadModelAccessState", ACCESS_STATE_ACTIONS, ("*",)),
    ]
    if accept_offers:
        permissions.append(Permission("AcceptPublicOffers", OFFER_ACTIONS, ("*",)))
    if use_case_parameter is not None:
        permissions.append(Permission("SubmitAnthropicUseCase", SUBMIT_USE_CASE_ACTIONS, ("*",)))
    if accept_offers:
        # Subscribing only to the products config names (AWS documents the ProductId condition
        # for Subscribe only); viewing subscriptions is read-only.
        permissions += [
            Permission(
                "SubscribeToNamedProducts",
                (MARKETPLACE_SUBSCRIBE,),
                ("*",),
                {
                    "ForAnyValue:StringEquals": {
                        "aws-marketplace:ProductId": list(marketplace_product_ids)
                    }
                },
            ),
            Permission("ViewSubscriptions", (MARKETPLACE_VIEW_SUBSCRIPTIONS,), ("*",)),
        ]
    if use_case_parameter is not None:
        # Anthropic's use-case form, read at deploy time (never in the template).
        permissions.append(
            Permission(
                "ReadAnthropicUseCaseForm",
                ("ssm:GetParameter",),
                (parameter_arn(use_case_parameter),),
            )
        )
    return permissions


def invocation_logging_permissions() -> list[Permission]:
    """Bedrock access of the invocation-logging handler: the account's logging setting."""
    return [Permission("ManageInvocationLoggingConfiguration", INVOCATION_LOGGING_ACTIONS, ("*",))]
