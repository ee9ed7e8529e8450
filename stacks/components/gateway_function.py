"""A gateway Lambda function: Python on arm64 inside the kit's VPC, buffered or streaming.

The buffered function runs the gateway as a plain Python handler (no HTTP hop); the streaming
one runs it under uvicorn behind the Lambda Web Adapter, the one way a Python function can
stream its answer. bench/README.md has the measurements behind the split.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.components.gateway_bundle import LAMBDA_PYTHON
from stacks.components.gateway_environment import (
    PYTHON_HANDLER,
    WEB_ADAPTER_HANDLER,
    gateway_environment,
)

# The one place the gateway's Python version is set: the bundle compiles bytecode for it.
RUNTIME: lambda_.Runtime = getattr(lambda_.Runtime, "PYTHON_{}_{}".format(*LAMBDA_PYTHON))
# Published by the Lambda Web Adapter project (aws/aws-lambda-web-adapter README, "Lambda layer").
WEB_ADAPTER_LAYER_ACCOUNT = "753240598075"


def web_adapter_layer_arn(version: int) -> str:
    """Return the arm64 Lambda Web Adapter layer ARN for the deployment region."""
    return (
        f"arn:{Aws.PARTITION}:lambda:{Aws.REGION}:{WEB_ADAPTER_LAYER_ACCOUNT}"
        f":layer:LambdaAdapterLayerArm64:{version}"
    )


class GatewayFunction(Construct):
    """One gateway function; `streaming` adds the Web Adapter and its response-stream mode."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        role: iam.IRole,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        log_group: logs.ILogGroup,
        memory_mb: int,
        timeout: Duration,
        reserved_concurrency: int | None,
        web_adapter_layer_version: int,
        streaming: bool = False,
        log_content: bool = False,
        metrics_namespace: str = "BedrockKit/Gateway",
        usage_table_name: str | None = None,
        require_team: bool = False,
        description: str = "OpenAI-compatible gateway to Amazon Bedrock",
    ) -> None:
        super().__init__(scope, construct_id)
        layers: list[lambda_.ILayerVersion] = []
        if streaming:
            layers.append(
                lambda_.LayerVersion.from_layer_version_arn(
                    self, "WebAdapterLayer", web_adapter_layer_arn(web_adapter_layer_version)
                )
            )
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=WEB_ADAPTER_HANDLER if streaming else PYTHON_HANDLER,
            code=code,
            layers=layers,
            role=role,
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[security_group],
            log_group=log_group,
            memory_size=memory_mb,
            timeout=timeout,
            reserved_concurrent_executions=reserved_concurrency or None,
            environment=gateway_environment(
                streaming=streaming,
                timeout_seconds=int(timeout.to_seconds()),
                log_content=log_content,
                metrics_namespace=metrics_namespace,
                usage_table_name=usage_table_name,
                require_team=require_team,
            ),
        )
