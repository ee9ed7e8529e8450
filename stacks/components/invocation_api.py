"""API Gateway REST front door: authentication, per-team usage plans, validation, logs, WAF."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Aws, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from stacks.components import reasons
from stacks.components.findings import (
    AWS_SOLUTIONS,
    acknowledge,
    acknowledge_both_packs,
    checkov_skip,
)

# Request metadata and who made the request (usage-plan key id, the authorizer's team and kit key
# id), never a body, a header or a key value ($context.identity.apiKey is deliberately absent).
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "apiKeyId": "$context.identity.apiKeyId",
    "principalId": "$context.authorizer.principalId",
    # The authorizer's context: the caller's team and the kit key's id (never its secret).
    "team": "$context.authorizer.team",
    "keyId": "$context.authorizer.key_id",
    "callerArn": "$context.identity.userArn",
    "authorizerError": "$context.authorizer.error",
    "integrationError": "$context.integrationErrorMessage",
    "wafResponseCode": "$context.wafResponseCode",
}
# AWS managed rule groups for a JSON API whose bodies are prompts. Prompts legitimately hold
# code, paths, URLs and long text, so the rules that inspect the body only count (their
# matches show in WAF's metrics and logs); headers, URIs and query strings stay blocked. Rule
# names from the AWS WAF developer guide's baseline rule-group tables; the gateway enforces
# its own body size limit.
WAF_RULE_GROUPS = (
    (
        "AWSManagedRulesCommonRuleSet",
        (
            "SizeRestrictions_BODY",
            "CrossSiteScripting_BODY",
            "GenericLFI_BODY",
            "GenericRFI_BODY",
            "EC2MetaDataSSRF_BODY",
        ),
    ),
    ("AWSManagedRulesKnownBadInputsRuleSet", ("JavaDeserializationRCE_BODY", "Log4JRCE_BODY")),
    ("AWSManagedRulesAmazonIpReputationList", ()),
)
# What the rate rule answers: the status the OpenAI SDKs retry with backoff.
WAF_RATE_LIMITED_STATUS = 429
# WAF counts a rate-based rule's requests over this window (seconds).
WAF_RATE_WINDOW_SECONDS = 300


@dataclass(frozen=True, slots=True)
class ErrorAnswer:
    """What API Gateway answers itself (a gateway response), in OpenAI's error shape."""

    # None: the error's own status (the DEFAULT_4XX / DEFAULT_5XX fallbacks).
    status: int | None
    # A JSON string literal, or a template variable that API Gateway substitutes with one.
    message: str
    type: str
    code: str

    def template(self) -> str:
        """The body template: `{"error": {"message", "type", "param": null, "code"}}`.

        Gateway response templates are not run through VTL (no `$util`): `$context` variables
        are substituted as text, and `$context.error.messageString` is the error message
        already in double quotes (API Gateway developer guide, "Set up a gateway response":
        https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-gatewayResponse-definition.html).
        """
        return (
            f'{{"error": {{"message": {self.message}, "type": "{self.type}", '
            f'"param": null, "code": "{self.code}"}}}}'
        )


def _quoted(text: str) -> str:
    return json.dumps(text)


# Statuses are API Gateway's defaults for each type (API Gateway developer guide, "Gateway
# response types": https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
# Answers whose wording concerns the kit's API keys: only with the authorizer.
KEY_ANSWERS = {
    # The authorizer raised Unauthorized, or the header is missing or malformed.
    apigw.ResponseType.UNAUTHORIZED: ErrorAnswer(
        401,
        _quoted(
            "Invalid or missing API key: send Authorization: Bearer <key> "
            "(make keys create issues one)."
        ),
        "invalid_request_error",
        "invalid_api_key",
    ),
    # The authorizer denied a known key; its context says why (expired, revoked,
    # team_not_configured), which API Gateway substitutes into the code.
    apigw.ResponseType.ACCESS_DENIED: ErrorAnswer(
        403,
        _quoted(
            "Access denied. With code api_key_expired, api_key_revoked or "
            "api_key_team_not_configured the API key no longer works (make keys create issues a "
            "new one); with code api_key_ alone, this API's resource policy refused the caller."
        ),
        "permission_error",
        "api_key_$context.authorizer.reason",
    ),
    # The team's usage-plan key is not on a plan of this stage: a deployment problem.
    apigw.ResponseType.INVALID_API_KEY: ErrorAnswer(
        403,
        _quoted(
            "The API key's team has no usage plan on this API: ask the kit's operators to "
            "check the team's configuration and redeploy."
        ),
        "permission_error",
        "invalid_api_key",
    ),
}
COMMON_ANSWERS = {
    apigw.ResponseType.QUOTA_EXCEEDED: ErrorAnswer(
        429,
        _quoted("The team's daily request quota is used up: retry after it resets."),
        "insufficient_quota",
        "request_quota_exceeded",
    ),
    apigw.ResponseType.THROTTLED: ErrorAnswer(
        429,
        _quoted("Rate limit exceeded for the team or the API: retry after a short wait."),
        "rate_limit_error",
        "rate_limit_exceeded",
    ),
    apigw.ResponseType.DEFAULT_4_XX: ErrorAnswer(
        None,
        "$context.error.messageString",
        "invalid_request_error",
        "$context.error.responseType",
    ),
    apigw.ResponseType.DEFAULT_5_XX: ErrorAnswer(
        None, "$context.error.messageString", "api_error", "$context.error.responseType"
    ),
}


@dataclass(frozen=True, slots=True)
class UsagePlanLimits:
    """One team's API key and the usage plan limiting it."""

    name: str
    throttle_rate_limit: float
    throttle_burst_limit: int
    quota_requests_per_day: int


@dataclass(frozen=True, slots=True)
class IamCallers:
    """Who may call an IAM-authenticated API: named principals and/or one organization."""

    principal_arns: tuple[str, ...]
    organization_id: str | None


@dataclass(frozen=True, slots=True)
class PrivateAccess:
    """How a PRIVATE API is reached: the kit's execute-api endpoint and listed VPCs."""

    endpoint_id: str
    allowed_vpc_ids: tuple[str, ...]


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
        stage_name: str,
        access_log_group: logs.ILogGroup,
        throttle_rate_limit: float,
        throttle_burst_limit: int,
        teams: Sequence[UsagePlanLimits],
        authorizer: apigw.IAuthorizer | None,
        # With the authorizer: each team's usage-plan key (KeyAuthorizer.usage_keys).
        usage_keys: Mapping[str, apigw.IApiKey] | None = None,
        iam_callers: IamCallers | None = None,
        private_access: PrivateAccess | None = None,
        waf_rate_limit_per_ip: int | None = None,
        manage_account_logging_role: bool = False,
        cors_origins: Sequence[str] = (),
        api_name: str = "bedrock-kit",
        waf_log_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        if (authorizer is None) == (iam_callers is None):
            raise ValueError("an InvocationApi takes either an authorizer or IAM callers")
        self.api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=api_name,
            description="OpenAI-compatible access to the enabled Bedrock models",
            endpoint_types=[
                apigw.EndpointType.PRIVATE if private_access else apigw.EndpointType.REGIONAL
            ],
            policy=_resource_policy(iam_callers, private_access),
            # With the authorizer, the key comes from `Authorization: Bearer`, as the OpenAI SDK
            # sends it; API Gateway still checks it against the usage plans.
            api_key_source_type=(
                apigw.ApiKeySourceType.AUTHORIZER if authorizer else apigw.ApiKeySourceType.HEADER
            ),
            # Browsers ask before calling with a key: API Gateway answers those preflights
            # itself (no key, no function), for the configured origins only.
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=list(cors_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                # Authorization must be named; "*" covers what the OpenAI SDKs add (x-stainless-*).
                allow_headers=["Authorization", "Content-Type", "X-Api-Key", "*"],
                max_age=Duration.seconds(600),
            )
            if cors_origins
            else None,
            # The account-and-region logging role is one setting shared by every API: only the
            # environment the config names manages it (docs/configuration.md).
            cloud_watch_role=manage_account_logging_role,
            deploy_options=apigw.StageOptions(
                stage_name=stage_name,
                access_log_destination=apigw.LogGroupLogDestination(access_log_group),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
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

        def add_method(
            resource: apigw.IResource, verb: str, integration: apigw.Integration
        ) -> None:
            """Every method: validated, and behind the authorizer and a key (or IAM)."""
            resource.add_method(
                verb,
                integration,
                request_validator=validator,
                api_key_required=authorizer is not None,
                authorizer=authorizer,
                authorization_type=(
                    apigw.AuthorizationType.CUSTOM if authorizer else apigw.AuthorizationType.IAM
                ),
            )

        # Every path goes to the gateway, which routes and answers 404 itself. No test-invoke
        # permission: a console test call would reach the function without key or access log.
        add_method(
            self.api.root.add_proxy(any_method=False),
            "ANY",
            apigw.LambdaIntegration(handler, allow_test_invoke=False),
        )
        # Chat completions and responses stream: API Gateway's STREAM transfer mode relays the
        # streaming function's server-sent events as they come (no 29 s limit, no caching or
        # encoding).
        version = self.api.root.add_resource("v1")
        for resource in (
            version.add_resource("chat").add_resource("completions"),
            version.add_resource("responses"),
        ):
            add_method(
                resource,
                "POST",
                apigw.LambdaIntegration(
                    streaming_handler,
                    allow_test_invoke=False,
                    response_transfer_mode=apigw.ResponseTransferMode.STREAM,
                    timeout=stream_timeout,
                ),
            )
        CfnOutput(self, "BaseUrl", value=f"{self.api.url}v1", description="OpenAI base_url")
        self._add_error_answers(with_keys=authorizer is not None, cors_origins=cors_origins)
        if authorizer is not None:
            for team in teams:
                if team.name not in (usage_keys or {}):
                    raise ValueError(f"team {team.name!r} has no usage-plan key")
                self._add_team(team, (usage_keys or {})[team.name])
        if waf_rate_limit_per_ip is not None:
            self._add_web_acl(waf_rate_limit_per_ip, waf_log_key, log_retention, log_removal_policy)
        self._acknowledge(manage_account_logging_role, waf=waf_rate_limit_per_ip is not None)

    def _acknowledge(self, manages_logging_role: bool, *, waf: bool) -> None:
        acknowledge(self.api, f"{AWS_SOLUTIONS}COG4", reasons.NO_COGNITO)
        if manages_logging_role:
            acknowledge(
                self.api,
                f"{AWS_SOLUTIONS}IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]",
                reasons.APIGW_LOGGING_ROLE,
            )
        stage = self.api.deployment_stage
        checkov_skip(stage, "CKV_AWS_120", reasons.NO_CACHE)
        acknowledge_both_packs(stage, "APIGWCacheEnabledAndEncrypted", reasons.NO_CACHE)
        acknowledge_both_packs(stage, "APIGWSSLEnabled", reasons.NO_BACKEND_CERTIFICATE)
        if not waf:
            acknowledge(stage, f"{AWS_SOLUTIONS}APIG3", reasons.NO_WAF)
            acknowledge(
                stage, "NIST.800.53.R5::NIST.800.53.R5-APIGWAssociatedWithWAF", reasons.NO_WAF
            )

    def _add_team(self, team: UsagePlanLimits, key: apigw.IApiKey) -> None:
        plan = self.api.add_usage_plan(
            f"UsagePlan-{team.name}",
            description=f"Usage plan of team {team.name}",
            throttle=apigw.ThrottleSettings(
                rate_limit=team.throttle_rate_limit, burst_limit=team.throttle_burst_limit
            ),
            quota=apigw.QuotaSettings(limit=team.quota_requests_per_day, period=apigw.Period.DAY),
        )
        plan.add_api_stage(stage=self.api.deployment_stage)
        plan.add_api_key(key)

    def _add_error_answers(self, *, with_keys: bool, cors_origins: Sequence[str]) -> None:
        """Answer API Gateway's own errors as OpenAI's SDKs expect them (JSON `error` object)."""
        answers = {**(KEY_ANSWERS if with_keys else {}), **COMMON_ANSWERS}
        headers = {"Content-Type": "'application/json'"}
        if cors_origins:
            # So a browser app can read why it was refused (a 401 or 429 from API Gateway).
            headers["Access-Control-Allow-Origin"] = _allow_origin(cors_origins)
        for response_type, answer in answers.items():
            self.api.add_gateway_response(
                # The response type's own name, e.g. "UNAUTHORIZED" or "DEFAULT_4XX".
                f"Answer{response_type.response_type}",
                type=response_type,
                status_code=None if answer.status is None else str(answer.status),
                response_headers=headers,
                templates={"application/json": answer.template()},
            )

    def _add_web_acl(
        self,
        rate_limit_per_ip: int,
        key: kms.IKey | None,
        retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        def visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
            )

        # First, before any managed group: one source address may not use up the stage
        # throttle that every team shares (junk tokens included, which no usage plan sees).
        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name="RateLimitPerIp",
                priority=0,
                action=wafv2.CfnWebACL.RuleActionProperty(
                    block=wafv2.CfnWebACL.BlockActionProperty(
                        custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                            response_code=WAF_RATE_LIMITED_STATUS
                        )
                    )
                ),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        limit=rate_limit_per_ip,
                        aggregate_key_type="IP",
                        evaluation_window_sec=WAF_RATE_WINDOW_SECONDS,
                    )
                ),
                visibility_config=visibility("RateLimitPerIp"),
            )
        ]
        rules += [
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
                visibility_config=visibility(name),
            )
            for priority, (name, counted) in enumerate(WAF_RULE_GROUPS, start=1)
        ]
        acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules,
            visibility_config=visibility("BedrockKitApi"),
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
            # As the environment's other logs: a deleted dev stack leaves no group behind
            # (a retained one would outlive its key and block the next deployment's name).
            removal_policy=removal_policy,
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


def _allow_origin(origins: Sequence[str]) -> str:
    """The Access-Control-Allow-Origin mapping of an error answer for the configured origins.

    A gateway response cannot choose among several origins, so with more than one it echoes the
    request's Origin: only API Gateway's own error bodies (no data) are then readable by any
    page, while preflights and the gateway's answers still admit only the configured origins.
    """
    if "*" in origins:
        return "'*'"
    if len(origins) == 1:
        return f"'{origins[0]}'"
    return "method.request.header.Origin"


def _resource_policy(
    iam_callers: IamCallers | None, private_access: PrivateAccess | None
) -> iam.PolicyDocument | None:
    """Who may invoke: named IAM callers (IAM mode), only through the endpoint (PRIVATE)."""
    if iam_callers is None and private_access is None:
        return None
    invoke = "execute-api:/*"
    statements: list[iam.PolicyStatement] = []
    if iam_callers is None:
        # API keys: the caller is anonymous to IAM; the authorizer and usage plans decide.
        statements.append(
            iam.PolicyStatement(
                sid="AllowInvoke",
                principals=[iam.AnyPrincipal()],
                actions=["execute-api:Invoke"],
                resources=[invoke],
            )
        )
    else:
        if iam_callers.principal_arns:
            statements.append(
                iam.PolicyStatement(
                    sid="AllowNamedPrincipals",
                    principals=[iam.ArnPrincipal(arn) for arn in iam_callers.principal_arns],
                    actions=["execute-api:Invoke"],
                    resources=[invoke],
                )
            )
        if iam_callers.organization_id is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="AllowTheOrganization",
                    principals=[iam.AnyPrincipal()],
                    actions=["execute-api:Invoke"],
                    resources=[invoke],
                    conditions={
                        "StringEquals": {"aws:PrincipalOrgID": iam_callers.organization_id}
                    },
                )
            )
        # Same-account principals need no resource-policy Allow when their own IAM policy
        # allows execute-api:Invoke: only an explicit Deny keeps the others out. Conditions are
        # ANDed: denied when neither named nor in the organization.
        not_admitted: dict[str, object] = {}
        if iam_callers.principal_arns:
            not_admitted["ArnNotEquals"] = {"aws:PrincipalArn": list(iam_callers.principal_arns)}
        if iam_callers.organization_id is not None:
            not_admitted["StringNotEquals"] = {"aws:PrincipalOrgID": iam_callers.organization_id}
        statements.append(
            iam.PolicyStatement(
                sid="DenyEveryoneElse",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["execute-api:Invoke"],
                resources=[invoke],
                conditions=not_admitted,
            )
        )
    if private_access is not None:
        not_from_allowed: dict[str, object] = {"aws:SourceVpce": private_access.endpoint_id}
        if private_access.allowed_vpc_ids:
            not_from_allowed["aws:SourceVpc"] = list(private_access.allowed_vpc_ids)
        # Conditions are ANDed: denied unless the call came through the endpoint or a VPC.
        statements.append(
            iam.PolicyStatement(
                sid="DenyOutsideTheKitsEndpointAndListedVpcs",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["execute-api:Invoke"],
                resources=[invoke],
                conditions={"StringNotEquals": not_from_allowed},
            )
        )
    return iam.PolicyDocument(statements=statements)
