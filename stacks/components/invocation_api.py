"""API Gateway REST front door: API-key usage plan, validation, throttling, JSON access logs."""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

# Only request metadata: no bodies, no headers, so no API key value can reach the log.
ACCESS_LOG_FIELDS = apigw.AccessLogFormat.json_with_standard_fields(
    caller=False,
    http_method=True,
    ip=True,
    protocol=True,
    request_time=True,
    resource_path=True,
    response_length=True,
    status=True,
    user=False,
)


class InvocationApi(Construct):
    """A REST API proxying every path to the gateway function, behind a usage-plan API key."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        streaming_handler: lambda_.IFunction,
        stream_timeout: Duration,
        endpoint_type: apigw.EndpointType,
        stage_name: str,
        access_log_group: logs.ILogGroup,
        throttle_rate_limit: float,
        throttle_burst_limit: int,
        quota_requests_per_day: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.api = apigw.RestApi(
            self,
            "RestApi",
            description="OpenAI-compatible access to the enabled Bedrock models",
            endpoint_types=[endpoint_type],
            api_key_source_type=apigw.ApiKeySourceType.HEADER,
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name=stage_name,
                access_log_destination=apigw.LogGroupLogDestination(access_log_group),
                access_log_format=ACCESS_LOG_FIELDS,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                # Data trace would write request and response bodies (prompts) to logs.
                data_trace_enabled=False,
                metrics_enabled=True,
                throttling_rate_limit=throttle_rate_limit,
                throttling_burst_limit=throttle_burst_limit,
            ),
        )
        validator = self.api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        # Every path goes to the gateway, which routes and answers 404 itself.
        proxy = self.api.root.add_proxy(any_method=False)
        proxy.add_method(
            "ANY",
            apigw.LambdaIntegration(handler),
            api_key_required=True,
            request_validator=validator,
        )
        # Chat completions stream: API Gateway's STREAM transfer mode relays the streaming
        # function's server-sent events as they come (no 29 s limit, no caching or encoding).
        chat = self.api.root.add_resource("v1").add_resource("chat").add_resource("completions")
        chat.add_method(
            "POST",
            apigw.LambdaIntegration(
                streaming_handler,
                response_transfer_mode=apigw.ResponseTransferMode.STREAM,
                timeout=stream_timeout,
            ),
            api_key_required=True,
            request_validator=validator,
        )
        plan = self.api.add_usage_plan(
            "UsagePlan",
            description="Default plan of the invocation API",
            throttle=apigw.ThrottleSettings(
                rate_limit=throttle_rate_limit, burst_limit=throttle_burst_limit
            ),
            quota=apigw.QuotaSettings(limit=quota_requests_per_day, period=apigw.Period.DAY),
        )
        plan.add_api_stage(stage=self.api.deployment_stage)
        self.api_key = self.api.add_api_key("DefaultKey", description="Default team key")
        plan.add_api_key(self.api_key)

        CfnOutput(self, "BaseUrl", value=f"{self.api.url}v1", description="OpenAI base_url")
        # The key's value never appears in outputs: fetch it with the id.
        CfnOutput(
            self,
            "ApiKeyId",
            value=self.api_key.key_id,
            description="Fetch the key value with: aws apigateway get-api-key --include-value "
            "--api-key <this id>",
        )
