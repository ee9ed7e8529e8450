"""ApiStack: the gateway function behind the API Gateway REST API."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.components.gateway_function import GatewayFunction
from stacks.components.invocation_api import InvocationApi
from stacks.components.key_authorizer import KeyAuthorizer
from stacks.config import ApiConfig, AuthMode, EndpointType, GatewayFunctionConfig


class ApiStack(Stack):
    """Wires the gateway function and the invocation API."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        role: iam.IRole,
        authorizer_role: iam.IRole,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        function_log_group: logs.ILogGroup,
        authorizer_log_group: logs.ILogGroup,
        access_log_group: logs.ILogGroup,
        execute_api_endpoint: ec2.IInterfaceVpcEndpoint | None,
        logs_key: kms.IKey,
        log_retention: logs.RetentionDays,
        log_content: bool,
        metrics_namespace: str,
        api_name: str,
        api: ApiConfig,
        gateway: GatewayFunctionConfig,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)

        def gateway_function(
            construct_id: str, timeout_seconds: int, *, streaming: bool, description: str
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
                memory_mb=gateway.memory_mb,
                timeout=Duration.seconds(timeout_seconds),
                reserved_concurrency=gateway.reserved_concurrency,
                web_adapter_layer_version=gateway.web_adapter_layer_version,
                streaming=streaming,
                description=description,
                log_content=log_content,
                metrics_namespace=metrics_namespace,
            )

        # Two functions from one asset: only the chat route goes through API Gateway's
        # streaming (InvokeWithResponseStream) path, which needs the Web Adapter; every other
        # route is served by a plain Python handler, without the HTTP hop (bench/README.md).
        self.gateway = gateway_function(
            "Gateway",
            gateway.timeout_seconds,
            streaming=False,
            description="OpenAI-compatible Bedrock gateway",
        )
        self.streaming_gateway = gateway_function(
            "StreamingGateway",
            gateway.stream_timeout_seconds,
            streaming=True,
            description="OpenAI-compatible Bedrock gateway: chat completions, streamed",
        )
        self.key_authorizer: KeyAuthorizer | None = None
        if api.auth is AuthMode.API_KEY:
            self.key_authorizer = KeyAuthorizer(
                self,
                "KeyAuthorizer",
                role=authorizer_role,
                vpc=vpc,
                subnets=subnets,
                log_group=authorizer_log_group,
                reserved_concurrency=gateway.reserved_concurrency,
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
            teams=api.teams,
            authorizer=self.key_authorizer.authorizer if self.key_authorizer else None,
            policy=_private_api_policy(execute_api_endpoint, api.allowed_vpc_ids)
            if api.endpoint_type is EndpointType.PRIVATE
            else None,
            waf=api.waf,
            api_name=api_name,
            waf_log_key=logs_key,
            log_retention=log_retention,
        )


def _private_api_policy(
    endpoint: ec2.IInterfaceVpcEndpoint | None, allowed_vpc_ids: tuple[str, ...]
) -> iam.PolicyDocument:
    """Allow invocation only through the kit's execute-api endpoint or from listed VPCs."""
    if endpoint is None:
        raise ValueError("a PRIVATE API needs the execute-api VPC endpoint")
    not_from_allowed: dict[str, object] = {"aws:SourceVpce": endpoint.vpc_endpoint_id}
    if allowed_vpc_ids:
        not_from_allowed["aws:SourceVpc"] = list(allowed_vpc_ids)
    invoke = "execute-api:/*"
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="AllowInvoke",
                principals=[iam.AnyPrincipal()],
                actions=["execute-api:Invoke"],
                resources=[invoke],
            ),
            # Conditions are ANDed: denied unless the call came through the endpoint or a VPC.
            iam.PolicyStatement(
                sid="DenyOutsideTheKitsEndpointAndListedVpcs",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["execute-api:Invoke"],
                resources=[invoke],
                conditions={"StringNotEquals": not_from_allowed},
            ),
        ]
    )
