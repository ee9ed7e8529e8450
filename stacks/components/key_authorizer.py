"""The Lambda token authorizer: checks a kit API key and hands API Gateway its team's usage plan.

The function reads one hashed key record from the keys table and, for a valid key, returns the
team's usage-plan API key value (fetched by id from API Gateway) as `usageIdentifierKey`, so
API Gateway meters the request against that team's plan. Clients never see a usage-plan key.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from lambdas.authorizer.keys import AUTHORIZER_CACHE_SECONDS
from stacks.components import reasons
from stacks.components.findings import acknowledge_both_packs, checkov_skip
from stacks.components.gateway import acknowledge_synchronous_function
from stacks.components.lambda_permissions import service_role
from stacks.components.team_tables import TeamTables

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"
AUTHORIZER_PACKAGE = "authorizer"
KEYS_TABLE_ENV = "KEYS_TABLE_NAME"
USAGE_KEY_IDS_ENV = "TEAM_USAGE_KEY_IDS"
# How long API Gateway reuses a decision for the same Authorization header: a revoked or
# expired key stops working within a minute, while a busy client still costs one authorizer
# call (and one DynamoDB read) per minute instead of one per request. One value shared with
# `make keys revoke`, which tells the operator how long a revoked key may still pass.
RESULTS_CACHE_TTL = Duration.seconds(AUTHORIZER_CACHE_SECONDS)


def api_key_arn(key: apigw.IApiKey) -> str:
    """ARN of one API Gateway API key: `arn:partition:apigateway:region::/apikeys/id`.

    No account field (API Gateway developer guide, "Amazon API Gateway Amazon Resource Name
    (ARN) reference": https://docs.aws.amazon.com/apigateway/latest/developerguide/arn-format-reference.html).
    """
    return f"arn:{Aws.PARTITION}:apigateway:{Aws.REGION}::/apikeys/{key.key_id}"


class KeyAuthorizer(Construct):
    """Authorizer function (outside the VPC: it reaches no VPC resource) and token authorizer."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        log_group: logs.ILogGroup,
        reserved_concurrency: int,
        tables: TeamTables,
        teams: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        # Each team's usage-plan key: only the authorizer knows its value (it reads it from API
        # Gateway and hands it over per request); the API attaches each to its team's plan. No
        # stage of its own (its plan is on the stage): the function's environment names the
        # key, and the API's methods name the function.
        self.usage_keys: dict[str, apigw.IApiKey] = {
            team: apigw.ApiKey(
                self, f"UsageKey-{team}", description=f"Usage-plan key of team {team}"
            )
            for team in teams
        }
        self.role = service_role(
            self,
            "Role",
            service="lambda.amazonaws.com",
            description="API key authorizer: read key records and its teams' usage-plan keys",
        )
        log_group.grant_write(self.role)
        tables.grant_key_lookup(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description="Checks kit API keys and names the team's usage plan to API Gateway",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler=f"{AUTHORIZER_PACKAGE}.handler.handler",
            # The asset root holds the package, so its modules import each other as usual.
            code=lambda_.Code.from_asset(
                str(LAMBDAS),
                exclude=[
                    "*",
                    f"!{AUTHORIZER_PACKAGE}",
                    f"!{AUTHORIZER_PACKAGE}/**",
                    "**/__pycache__",
                    "**/*.pyc",
                ],
            ),
            role=self.role,
            log_group=log_group,
            memory_size=128,
            timeout=Duration.seconds(3),
            reserved_concurrent_executions=reserved_concurrency or None,
            environment={
                KEYS_TABLE_ENV: tables.keys_table.table_name,
                USAGE_KEY_IDS_ENV: Stack.of(self).to_json_string(
                    {team: key.key_id for team, key in self.usage_keys.items()}
                ),
            },
        )
        # The role's policy must exist before the function answers its first token.
        self.function.node.add_dependency(self.role)
        acknowledge_synchronous_function(self.function, reserved_concurrency=reserved_concurrency)
        acknowledge_both_packs(self.function, "LambdaInsideVPC", reasons.AUTHORIZER_OUTSIDE_VPC)
        checkov_skip(self.function, "CKV_AWS_117", reasons.AUTHORIZER_OUTSIDE_VPC)
        checkov_skip(self.function, "CKV_AWS_173", reasons.AUTHORIZER_PLAIN_ENVIRONMENT)
        self.authorizer = apigw.TokenAuthorizer(
            self,
            "TokenAuthorizer",
            handler=self.function,
            identity_source=apigw.IdentitySource.header("Authorization"),
            # Malformed headers are refused by API Gateway without invoking the function.
            validation_regex=r"^[Bb]earer [!-~]+$",
            results_cache_ttl=RESULTS_CACHE_TTL,
        )
        if self.usage_keys:
            # GetApiKey (includeValue) is an HTTP GET on the key's resource.
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="ReadTeamUsagePlanKeys",
                    actions=["apigateway:GET"],
                    resources=[api_key_arn(key) for key in self.usage_keys.values()],
                )
            )
