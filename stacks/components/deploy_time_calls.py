"""CDK's AwsCustomResource function: one per stack, shared by every deploy-time SDK call."""

from __future__ import annotations

from aws_cdk import Stack
from constructs import Construct

from stacks.components import reasons
from stacks.components.findings import (
    AWS_SOLUTIONS,
    acknowledge,
    acknowledge_both_packs,
    checkov_skip,
)

# The construct id of the one function CDK adds to a stack for all its AwsCustomResources.
AWS_CUSTOM_RESOURCE_FUNCTION = "AWS679f53fac002430cb0da5b7982bd2287"


def acknowledge_sdk_call_function(
    scope: Construct, *, outside_vpc: str, no_dead_letters: str
) -> None:
    """Acknowledge, with these reasons, what the packs find on the stack's SDK-call function."""
    stack = Stack.of(scope)
    for child in stack.node.children:
        if not child.node.id.startswith(AWS_CUSTOM_RESOURCE_FUNCTION):
            continue
        acknowledge(
            child,
            f"{AWS_SOLUTIONS}IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            reasons.LAMBDA_BASIC_EXECUTION,
        )
        acknowledge_both_packs(child, "LambdaInsideVPC", outside_vpc)
        acknowledge_both_packs(child, "LambdaConcurrency", reasons.DEPLOY_TIME_CONCURRENCY)
        acknowledge_both_packs(child, "LambdaDLQ", no_dead_letters)
        checkov_skip(child, "CKV_AWS_117", outside_vpc)
        checkov_skip(child, "CKV_AWS_115", reasons.DEPLOY_TIME_CONCURRENCY)
        checkov_skip(child, "CKV_AWS_116", no_dead_letters)


def skip_auto_delete_handler(scope: Construct) -> None:
    """Record checkov's skips on CDK's bucket-emptying handler, if the stack has one."""
    provider = Stack.of(scope).node.try_find_child(
        "Custom::S3AutoDeleteObjectsCustomResourceProvider"
    )
    handler = provider.node.try_find_child("Handler") if provider is not None else None
    if handler is None:
        return
    for check in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"):
        checkov_skip(handler, check, reasons.CDK_AUTO_DELETE_HANDLER)
