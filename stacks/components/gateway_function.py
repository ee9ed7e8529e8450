"""The gateway Lambda: Python on arm64, run by the Lambda Web Adapter, inside the kit's VPC."""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.components.gateway_bundle import ROUTING_FILE

# Published by the Lambda Web Adapter project (aws/aws-lambda-web-adapter README, "Lambda layer").
WEB_ADAPTER_LAYER_ACCOUNT = "753240598075"
WEB_ADAPTER_PORT = "8080"


def web_adapter_layer_arn(version: int) -> str:
    """Return the arm64 Lambda Web Adapter layer ARN for the deployment region."""
    return (
        f"arn:{Aws.PARTITION}:lambda:{Aws.REGION}:{WEB_ADAPTER_LAYER_ACCOUNT}"
        f":layer:LambdaAdapterLayerArm64:{version}"
    )


class GatewayFunction(Construct):
    """The gateway function and its Web Adapter wiring."""

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
        reserved_concurrency: int,
        web_adapter_layer_version: int,
        invoke_mode: str = "buffered",
        log_content: bool = False,
        metrics_namespace: str = "BedrockKit/Gateway",
        description: str = "OpenAI-compatible gateway to Amazon Bedrock",
    ) -> None:
        super().__init__(scope, construct_id)
        adapter = lambda_.LayerVersion.from_layer_version_arn(
            self, "WebAdapterLayer", web_adapter_layer_arn(web_adapter_layer_version)
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            # The Web Adapter's wrapper runs this script, which starts the HTTP server.
            handler="run.sh",
            code=code,
            layers=[adapter],
            role=role,
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[security_group],
            log_group=log_group,
            memory_size=memory_mb,
            timeout=timeout,
            reserved_concurrent_executions=reserved_concurrency,
            environment={
                "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap",
                "AWS_LWA_PORT": WEB_ADAPTER_PORT,
                "AWS_LWA_READINESS_CHECK_PATH": "/health",
                # "response_stream" for the function behind API Gateway's STREAM integration.
                "AWS_LWA_INVOKE_MODE": invoke_mode,
                "PORT": WEB_ADAPTER_PORT,
                # Written into the asset by the bundler (stacks/components/gateway_bundle.py).
                "GATEWAY_ROUTING_FILE": ROUTING_FILE,
                # API Gateway validates the usage-plan key before the function runs.
                "GATEWAY_AUTH": "api-gateway",
                # One request at a time per environment: no thread hand-off needed.
                "GATEWAY_THREADED_CALLS": "false",
                "GATEWAY_LOG_CONTENT": "true" if log_content else "false",
                "GATEWAY_METRICS_NAMESPACE": metrics_namespace,
                # Leave 2 s of the function's time for the answer and its log line; every
                # Bedrock read ends within what is left of this budget.
                "GATEWAY_TIME_BUDGET_SECONDS": str(max(timeout.to_seconds() - 2, 1)),
                # One attempt per model: an alias's next model is the retry.
                "GATEWAY_BEDROCK_MAX_ATTEMPTS": "1",
            },
        )
