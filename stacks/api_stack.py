"""ApiStack: the gateway function behind the API Gateway REST API."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.components.gateway_function import GatewayFunction
from stacks.components.invocation_api import InvocationApi
from stacks.config import ApiConfig, GatewayFunctionConfig


class ApiStack(Stack):
    """Wires the gateway function and the invocation API."""

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
        function_log_group: logs.ILogGroup,
        access_log_group: logs.ILogGroup,
        routing_json: str,
        api: ApiConfig,
        gateway: GatewayFunctionConfig,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)

        def gateway_function(
            construct_id: str, timeout_seconds: int, invoke_mode: str, description: str
        ) -> GatewayFunction:
            return GatewayFunction(
                self,
                construct_id,
                code=code,
                role=role,
                vpc=vpc,
                subnets=subnets,
                security_group=security_group,
                log_group=function_log_group,
                routing_json=routing_json,
                memory_mb=gateway.memory_mb,
                timeout=Duration.seconds(timeout_seconds),
                reserved_concurrency=gateway.reserved_concurrency,
                web_adapter_layer_version=gateway.web_adapter_layer_version,
                invoke_mode=invoke_mode,
                description=description,
            )

        # Two functions from one asset: the Web Adapter's invoke mode is per function, and only
        # the chat route goes through API Gateway's streaming (InvokeWithResponseStream) path.
        self.gateway = gateway_function(
            "Gateway", gateway.timeout_seconds, "buffered", "OpenAI-compatible Bedrock gateway"
        )
        self.streaming_gateway = gateway_function(
            "StreamingGateway",
            gateway.stream_timeout_seconds,
            "response_stream",
            "OpenAI-compatible Bedrock gateway: chat completions, streamed",
        )
        self.invocation_api = InvocationApi(
            self,
            "InvocationApi",
            handler=self.gateway.function,
            streaming_handler=self.streaming_gateway.function,
            stream_timeout=Duration.seconds(gateway.stream_timeout_seconds),
            endpoint_type=apigw.EndpointType(api.endpoint_type.value),
            stage_name=api.stage_name,
            access_log_group=access_log_group,
            throttle_rate_limit=api.throttle_rate_limit,
            throttle_burst_limit=api.throttle_burst_limit,
            quota_requests_per_day=api.quota_requests_per_day,
        )
