"""The outputs of an environment's deployed Stateful stack, read with your AWS credentials."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient


class MissingOutput(Exception):
    """The stack, or the output a command needs, is not there: deploy first."""


def stateful_stack(env: str) -> str:
    """The name of environment `env`'s Stateful stack."""
    return f"BedrockKit-{env}-Stateful"


def output_value(
    client: CloudFormationClient,
    env: str,
    prefix: str,
    *,
    instead: str,
    exact: bool = False,
    stack: str | None = None,
) -> str:
    """The one output of a stack (default: Stateful) whose key starts with `prefix` (or is it).

    CDK adds a hash to the key of an output defined inside a construct, hence the prefix
    (the knowledge bases' outputs have exact keys). `instead` says what else the user can do.
    """
    stack = stack or stateful_stack(env)
    deploy_first = f"deploy first (make deploy ENV={env}), or {instead}"
    try:
        stacks = client.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ValidationError" and "does not exist" in str(error):
            raise MissingOutput(f"stack {stack} does not exist: {deploy_first}") from None
        raise
    values = [
        output["OutputValue"]
        for found in stacks
        for output in found.get("Outputs", [])
        if output.get("OutputValue")
        and (
            output.get("OutputKey") == prefix
            if exact
            else output.get("OutputKey", "").startswith(prefix)
        )
    ]
    if len(values) != 1:
        problem = "has no" if not values else "has more than one"
        raise MissingOutput(f"stack {stack} {problem} {prefix} output: {deploy_first}")
    return values[0]
