"""cdk-nag acknowledgments: one finding each, with the reason a reviewer needs to accept it.

Three packs run on every synthesis: AwsSolutions, NIST 800-53 rev 5 and HIPAA Security. Every
acknowledgment below names one granular finding on one construct; anything else fails synth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, CfnResource, Validations
from constructs import IConstruct

if TYPE_CHECKING:
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
    if not config.api.waf:
        _acknowledge(stage, f"{AWS_SOLUTIONS}APIG3", NO_WAF)
        _acknowledge(stage, f"{NIST}APIGWAssociatedWithWAF", NO_WAF)


def _acknowledge_cdk_default_sg_handler(network: IConstruct) -> None:
    for construct in network.node.find_all():
        if (
            isinstance(construct, CfnResource)
            and construct.cfn_resource_type == "AWS::Lambda::Function"
        ):
            for check in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"):
                _checkov_skip(construct, check, CDK_DEFAULT_SG_HANDLER)
