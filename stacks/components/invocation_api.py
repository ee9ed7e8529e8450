"""API Gateway REST front door: authentication, per-team usage plans, validation, logs, WAF."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws, CfnOutput, Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from stacks.config import TeamConfig

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
# AWS managed rule groups for a JSON API. CommonRuleSet's body-size rule would block prompts
# over 8 KB, so it only counts; the gateway enforces its own body limit.
WAF_RULE_GROUPS = (
    ("AWSManagedRulesCommonRuleSet", ("SizeRestrictions_BODY",)),
    ("AWSManagedRulesKnownBadInputsRuleSet", ()),
    ("AWSManagedRulesAmazonIpReputationList", ()),
)


class InvocationApi(Construct):
    """A REST API proxying every path to the gateway; chat completions stream."""

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
        teams: Sequence[TeamConfig],
        authorizer: apigw.IAuthorizer | None,
        policy: iam.PolicyDocument | None,
        waf: bool,
        api_name: str = "bedrock-kit",
        waf_log_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
    ) -> None:
        super().__init__(scope, construct_id)
        self.api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=api_name,
            description="OpenAI-compatible access to the enabled Bedrock models",
            endpoint_types=[endpoint_type],
            policy=policy,
            # With the authorizer, the key comes from `Authorization: Bearer`, as the OpenAI SDK
            # sends it; API Gateway still checks it against the usage plans.
            api_key_source_type=(
                apigw.ApiKeySourceType.AUTHORIZER if authorizer else apigw.ApiKeySourceType.HEADER
            ),
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name=stage_name,
                access_log_destination=apigw.LogGroupLogDestination(access_log_group),
                access_log_format=ACCESS_LOG_FIELDS,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                # Data trace would write request and response bodies (prompts) to logs.
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
                throttling_rate_limit=throttle_rate_limit,
                throttling_burst_limit=throttle_burst_limit,
            ),
        )
        validator = self.api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        method_options = {
            "request_validator": validator,
            # IAM mode: SigV4 callers inside AWS, no API keys.
            "api_key_required": authorizer is not None,
            "authorizer": authorizer,
            "authorization_type": (
                apigw.AuthorizationType.CUSTOM if authorizer else apigw.AuthorizationType.IAM
            ),
        }
        # Every path goes to the gateway, which routes and answers 404 itself.
        proxy = self.api.root.add_proxy(any_method=False)
        proxy.add_method("ANY", apigw.LambdaIntegration(handler), **method_options)  # type: ignore[arg-type]
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
            **method_options,  # type: ignore[arg-type]
        )
        CfnOutput(self, "BaseUrl", value=f"{self.api.url}v1", description="OpenAI base_url")
        self.api_keys: dict[str, apigw.IApiKey] = {}
        if authorizer is not None:
            for team in teams:
                self._add_team(team)
        if waf:
            self._add_web_acl(waf_log_key, log_retention)

    def _add_team(self, team: TeamConfig) -> None:
        plan = self.api.add_usage_plan(
            f"UsagePlan-{team.name}",
            description=f"Usage plan of team {team.name}",
            throttle=apigw.ThrottleSettings(
                rate_limit=team.throttle_rate_limit, burst_limit=team.throttle_burst_limit
            ),
            quota=apigw.QuotaSettings(limit=team.quota_requests_per_day, period=apigw.Period.DAY),
        )
        plan.add_api_stage(stage=self.api.deployment_stage)
        key = self.api.add_api_key(
            f"ApiKey-{team.name}", description=f"API key of team {team.name}"
        )
        plan.add_api_key(key)
        self.api_keys[team.name] = key
        # The key's value never appears in outputs: fetch it with the id.
        CfnOutput(
            self,
            f"ApiKeyId-{team.name}",
            value=key.key_id,
            description=f"Team {team.name}: aws apigateway get-api-key --include-value "
            "--api-key <this id>",
        )

    def _add_web_acl(self, key: kms.IKey | None, retention: logs.RetentionDays) -> None:
        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS",
                        name=name,
                        rule_action_overrides=[
                            wafv2.CfnWebACL.RuleActionOverrideProperty(
                                name=rule,
                                action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={}),
                            )
                            for rule in counted
                        ]
                        or None,
                    )
                ),
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
                    cloud_watch_metrics_enabled=True,
                    metric_name=name,
                    sampled_requests_enabled=True,
                ),
            )
            for priority, (name, counted) in enumerate(WAF_RULE_GROUPS)
        ]
        acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules,
            visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True,
                metric_name="BedrockKitApi",
                sampled_requests_enabled=True,
            ),
        )
        stage_arn = (
            f"arn:{Aws.PARTITION}:apigateway:{Aws.REGION}::/restapis/{self.api.rest_api_id}"
            f"/stages/{self.api.deployment_stage.stage_name}"
        )
        wafv2.CfnWebACLAssociation(
            self, "WebAclAssociation", resource_arn=stage_arn, web_acl_arn=acl.attr_arn
        )
        # WAF only logs to groups named aws-waf-logs-*: the one physical name in the kit,
        # made unique by the stack name.
        log_group = logs.LogGroup(
            self,
            "WafLogGroup",
            log_group_name=f"aws-waf-logs-{Stack.of(self).stack_name}",
            retention=retention,
            encryption_key=key,
        )
        wafv2.CfnLoggingConfiguration(
            self,
            "WafLogging",
            resource_arn=acl.attr_arn,
            log_destination_configs=[log_group.log_group_arn],
            # The API key travels in this header: it must never reach a log.
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(
                    single_header={"Name": "authorization"}
                ),
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(
                    single_header={"Name": "x-api-key"}
                ),
            ],
        )
