"""cdk-nag acknowledgments: one finding each, with the reason a reviewer needs to accept it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

if TYPE_CHECKING:
    from stacks.kit import KitStacks

PACK = "AwsSolutions::"


def _acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=PACK + finding, reason=reason))


def acknowledge_findings(stacks: KitStacks) -> None:
    """Acknowledge the findings that are deliberate, granular id by granular id."""
    access = stacks.access
    _acknowledge(
        access.gateway_policy,
        "AwsSolutions-IAM5[Resource::*]",
        "Only the Lambda VPC networking actions (ec2:CreateNetworkInterface, "
        "DescribeNetworkInterfaces, DeleteNetworkInterface, Assign/UnassignPrivateIpAddresses) "
        "use '*': EC2 does not support resource-level permissions for Describe, and the "
        "interfaces do not exist before the function creates them. No Bedrock action uses '*'.",
    )
    _acknowledge(
        access.gateway_policy,
        f"AwsSolutions-IAM5[Resource::{access.log_group_arn_export}:*]",
        "The ':*' suffix covers the log streams inside the gateway's own log group "
        "(logs:CreateLogStream and logs:PutLogEvents act on streams); no other log group.",
    )
    rest_api = stacks.api.invocation_api.api
    _acknowledge(
        rest_api,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonAPIGatewayPushToCloudWatchLogs]",
        "The account-level API Gateway logging role must write the log groups of any API in "
        "the region; this AWS-maintained policy grants CloudWatch Logs actions only. Needed for "
        "the stage's access and error logs.",
    )
    authentication = (
        "Every method requires a usage-plan API key validated by API Gateway (throttled and "
        "metered per key); callers are services using the OpenAI SDK with keys, not Cognito "
        "users. IAM (SigV4) and authorizer options are tracked in the security issue."
    )
    _acknowledge(rest_api, "AwsSolutions-APIG4", authentication)
    _acknowledge(rest_api, "AwsSolutions-COG4", authentication)
    _acknowledge(
        rest_api,
        "AwsSolutions-APIG3",
        "Abuse is bounded by API keys, per-key usage-plan throttling and quotas and stage "
        "throttling; an optional AWS WAF web ACL (fixed monthly cost) is tracked in the "
        "security issue.",
    )
