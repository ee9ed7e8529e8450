"""Policy statements every kit function needs: its own log group and VPC network interfaces."""

from __future__ import annotations

from aws_cdk import aws_iam as iam

# Lambda needs these to attach a function to the VPC; EC2 supports no resource scoping here.
VPC_NETWORKING_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)


def write_logs(sid: str, log_group_arn: str, *extra_actions: str) -> iam.PolicyStatement:
    """Allow writing the streams of one log group (and `extra_actions` on it)."""
    return iam.PolicyStatement(
        sid=sid,
        actions=["logs:CreateLogStream", "logs:PutLogEvents", *extra_actions],
        resources=[log_group_arn, f"{log_group_arn}:*"],
    )


def vpc_networking() -> iam.PolicyStatement:
    """Allow Lambda to manage the function's network interfaces in the VPC."""
    return iam.PolicyStatement(
        sid="ManageVpcNetworkInterfaces", actions=list(VPC_NETWORKING_ACTIONS), resources=["*"]
    )
