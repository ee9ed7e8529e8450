"""cdk-nag acknowledgments: one finding each, with the reason a reviewer needs to accept it.

Three packs run on every synthesis: AwsSolutions, NIST 800-53 rev 5 and HIPAA Security. Every
acknowledgment below names one granular finding on one construct; anything else fails synth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from constructs import IConstruct

if TYPE_CHECKING:
    from stacks.components.governed_function import GovernedCustomResource
    from stacks.config import KitConfig
    from stacks.kit import KitStacks

AWS_SOLUTIONS = "AwsSolutions::AwsSolutions-"
NIST = "NIST.800.53.R5::NIST.800.53.R5-"
HIPAA = "HIPAA.Security::HIPAA.Security-"

VPC_NETWORKING_WILDCARD = (
    "Only the Lambda VPC networking actions (ec2:CreateNetworkInterface, "
    "DescribeNetworkInterfaces, DeleteNetworkInterface, Assign/UnassignPrivateIpAddresses) use "
    "'*': EC2 offers no resource-level permissions for Describe, and the interfaces do not "
    "exist before Lambda creates them. No other statement, and no Bedrock action, uses '*'."
)
LOG_STREAMS_WILDCARD = (
    "The ':*' suffix covers the log streams inside this one log group (logs:CreateLogStream "
    "and logs:PutLogEvents act on streams, whose names Lambda or VPC Flow Logs choose); no other "
    "log group is reachable."
)
SYNCHRONOUS_LAMBDA = (
    "Invoked synchronously by API Gateway only: a dead-letter queue applies to asynchronous "
    "invocations and would never receive anything. Failures are answered to the caller, "
    "logged and counted in the per-request metrics."
)
NO_CACHE = (
    "Responses are per-request model generations (POST bodies) and the chat route streams; "
    "API Gateway caching cannot serve them and is unsupported with response streaming. No "
    "response is stored, so there is nothing to encrypt at rest."
)
NO_BACKEND_CERTIFICATE = (
    "Client certificates authenticate API Gateway to HTTP backends; every integration here is "
    "a Lambda proxy integration, called by API Gateway through the signed AWS Lambda API over "
    "TLS, so there is no backend endpoint to present a certificate to."
)
NO_WAF = (
    "api.waf is off in this environment's config: abuse is bounded by per-team API keys, "
    "usage-plan throttles and quotas, stage throttling and reserved concurrency. Set "
    "api.waf = true for AWS WAF with AWS managed rule groups (fixed monthly cost)."
)
NO_COGNITO = (
    "Callers are services using API keys (the OpenAI SDK's Bearer token, checked against "
    "per-team usage plans by API Gateway) or AWS IAM (SigV4); there are no end users to sign "
    "in with a Cognito user pool."
)
APIGW_LOGGING_ROLE = (
    "The account-level API Gateway logging role must write the log groups of any API in the "
    "region; this AWS-maintained policy grants CloudWatch Logs actions only and is needed for "
    "the stage's access and error logs."
)


PLAIN_ENVIRONMENT = (
    "The environment holds no secret: model routing (ids and aliases), timeouts and Web "
    "Adapter settings, all visible in the template anyway. Lambda encrypts it at rest with an "
    "AWS-owned key; a customer key would add a KMS call to every cold start for nothing."
)
ACCOUNT_LEVEL_WILDCARD = (
    "Bedrock's model-access and invocation-logging settings are account-level: their actions "
    "(GetFoundationModelAvailability, Get/PutUseCaseForModelAccess, agreement offers, "
    "Put/Get/DeleteModelInvocationLoggingConfiguration) take no resource ARN, so IAM accepts "
    "only '*'. GetFoundationModel is scoped to the enabled models; the VPC networking actions "
    "have no resource scoping either."
)
DEPLOY_TIME_LAMBDA = (
    "Runs only when CloudFormation creates, updates or deletes the resource; a failure fails "
    "that deployment visibly with the reason, and the provider framework handles retries. A "
    "dead-letter queue would hold events nobody can replay."
)
PROVIDER_FRAMEWORK = (
    "CDK's custom-resource provider framework function: it only relays CloudFormation's "
    "request to the handler (which runs in the VPC) and answers CloudFormation's pre-signed "
    "response URL, which it cannot reach from the isolated subnets. It runs during "
    "deployments only, one request at a time, and holds no data."
)
NO_REPLICATION = (
    "Replication would copy Bedrock invocation logs (prompts and completions) to another "
    "region, against the data-residency choice this kit makes explicit; versioning, "
    "retention and the prod RETAIN policy protect against loss instead."
)
ACCESS_LOGS_SSE_S3 = (
    "S3 server access logging delivers only to buckets encrypted with SSE-S3 (AES-256), not "
    "SSE-KMS; this bucket holds access logs only, never model content."
)
CDK_DEFAULT_SG_HANDLER = (
    "CDK's own deploy-time handler that removes the default security group's rules "
    "(restrict_default_security_group). It runs only during stack operations, invoked by "
    "CloudFormation, and must reach the EC2 API, which the isolated VPC cannot."
)


def _acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))


def _checkov_skip(construct: IConstruct, check: str, reason: str) -> None:
    """Record a checkov skip with its reason in the resource's template metadata."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    assert isinstance(resource, CfnResource), construct.node.path
    skips = list((resource.get_metadata("checkov") or {}).get("skip", []))
    skips.append({"id": check, "comment": reason})
    resource.add_metadata("checkov", {"skip": skips})


def acknowledge_findings(stacks: KitStacks, config: KitConfig) -> None:
    """Acknowledge the findings that are deliberate, granular id by granular id."""
    access = stacks.access
    exports = access.log_group_exports
    for policy, export in (
        (access.gateway_policy, exports["GatewayLogGroupArn"]),
        (access.authorizer_policy, exports["AuthorizerLogGroupArn"]),
        (access.flow_logs_policy, exports["FlowLogGroupArn"]),
    ):
        _acknowledge(policy, f"{AWS_SOLUTIONS}IAM5[Resource::{export}:*]", LOG_STREAMS_WILDCARD)
    for policy in (access.gateway_policy, access.authorizer_policy):
        _acknowledge(policy, f"{AWS_SOLUTIONS}IAM5[Resource::*]", VPC_NETWORKING_WILDCARD)
        _checkov_skip(policy, "CKV_AWS_111", VPC_NETWORKING_WILDCARD)

    api = stacks.api
    functions = [api.gateway.function, api.streaming_gateway.function]
    if api.key_authorizer is not None:
        functions.append(api.key_authorizer.function)
    for function in functions:
        _acknowledge(function, f"{NIST}LambdaDLQ", SYNCHRONOUS_LAMBDA)
        _acknowledge(function, f"{HIPAA}LambdaDLQ", SYNCHRONOUS_LAMBDA)
        _checkov_skip(function, "CKV_AWS_116", SYNCHRONOUS_LAMBDA)
    for function in (api.gateway.function, api.streaming_gateway.function):
        _checkov_skip(function, "CKV_AWS_173", PLAIN_ENVIRONMENT)
    _acknowledge_cdk_default_sg_handler(stacks.network)

    rest_api = api.invocation_api.api
    _acknowledge(
        rest_api,
        f"{AWS_SOLUTIONS}IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonAPIGatewayPushToCloudWatchLogs]",
        APIGW_LOGGING_ROLE,
    )
    _acknowledge(rest_api, f"{AWS_SOLUTIONS}COG4", NO_COGNITO)
    stage = rest_api.deployment_stage
    _checkov_skip(stage, "CKV_AWS_120", NO_CACHE)
    for pack in (NIST, HIPAA):
        _acknowledge(stage, f"{pack}APIGWCacheEnabledAndEncrypted", NO_CACHE)
        _acknowledge(stage, f"{pack}APIGWSSLEnabled", NO_BACKEND_CERTIFICATE)
    if stacks.governance is not None:
        for resource in (stacks.governance.access_check, stacks.governance.invocation_logging):
            if resource is not None:
                _acknowledge_governance(resource)
        for bucket in stacks.governance.buckets():
            for pack in (NIST, HIPAA):
                _acknowledge(bucket, f"{pack}S3BucketReplicationEnabled", NO_REPLICATION)
        if stacks.governance.access_log_bucket is not None:
            for pack in (NIST, HIPAA):
                _acknowledge(
                    stacks.governance.access_log_bucket,
                    f"{pack}S3DefaultEncryptionKMS",
                    ACCESS_LOGS_SSE_S3,
                )
    if not config.api.waf:
        _acknowledge(stage, f"{AWS_SOLUTIONS}APIG3", NO_WAF)
        _acknowledge(stage, f"{NIST}APIGWAssociatedWithWAF", NO_WAF)


def _acknowledge_governance(resource: GovernedCustomResource) -> None:
    """Findings of a deploy-time custom resource (handler, CDK provider framework)."""
    stack = Stack.of(resource)
    _acknowledge(resource.policy, f"{AWS_SOLUTIONS}IAM5[Resource::*]", ACCOUNT_LEVEL_WILDCARD)
    _checkov_skip(resource.policy, "CKV_AWS_111", ACCOUNT_LEVEL_WILDCARD)
    for policy, group in (
        (resource.policy, resource.log_group),
        (resource.framework_policy, resource.framework_log_group),
    ):
        logical = stack.get_logical_id(group.node.default_child)  # type: ignore[arg-type]
        _acknowledge(
            policy, f"{AWS_SOLUTIONS}IAM5[Resource::<{logical}.Arn>:*]", LOG_STREAMS_WILDCARD
        )
    handler = stack.get_logical_id(resource.function.node.default_child)  # type: ignore[arg-type]
    _acknowledge(
        resource.framework_policy,
        f"{AWS_SOLUTIONS}IAM5[Resource::<{handler}.Arn>:*]",
        "The ':*' suffix covers the versions and aliases of this one handler function, which "
        "the provider framework invokes; no other function.",
    )
    framework = resource.provider.node.find_child("framework-onEvent")
    for function in (resource.function, framework):
        for pack in (NIST, HIPAA):
            _acknowledge(function, f"{pack}LambdaDLQ", DEPLOY_TIME_LAMBDA)
        _checkov_skip(function, "CKV_AWS_116", DEPLOY_TIME_LAMBDA)
    for pack in (NIST, HIPAA):
        _acknowledge(framework, f"{pack}LambdaInsideVPC", PROVIDER_FRAMEWORK)
        _acknowledge(framework, f"{pack}LambdaConcurrency", PROVIDER_FRAMEWORK)
    for check in ("CKV_AWS_115", "CKV_AWS_117", "CKV_AWS_173"):
        _checkov_skip(framework, check, PROVIDER_FRAMEWORK)
    _checkov_skip(resource.function, "CKV_AWS_173", PLAIN_ENVIRONMENT)


def _acknowledge_cdk_default_sg_handler(network: IConstruct) -> None:
    for construct in network.node.find_all():
        if (
            isinstance(construct, CfnResource)
            and construct.cfn_resource_type == "AWS::Lambda::Function"
        ):
            for check in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"):
                _checkov_skip(construct, check, CDK_DEFAULT_SG_HANDLER)
