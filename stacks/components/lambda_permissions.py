"""Roles of the kit's functions and services, and the statements every VPC function needs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.components import reasons
from stacks.components.findings import acknowledge_both_packs

# Lambda needs these to attach a function to the VPC; EC2 supports no resource scoping here.
VPC_NETWORKING_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)


def vpc_networking() -> iam.PolicyStatement:
    """Allow Lambda to manage the function's network interfaces in the VPC."""
    return iam.PolicyStatement(
        sid="ManageVpcNetworkInterfaces", actions=list(VPC_NETWORKING_ACTIONS), resources=["*"]
    )


def service_role(
    scope: Construct,
    construct_id: str,
    *,
    service: str,
    description: str,
    conditions: Mapping[str, Any] | None = None,
) -> iam.Role:
    """A role one AWS service assumes for one job; grants land in its own single policy."""
    role = iam.Role(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal(service, conditions=conditions),
        description=description,
    )
    acknowledge_both_packs(role, "IAMNoInlinePolicy", reasons.ROLE_OWN_POLICY)
    return role
