"""The Lambda token authorizer that turns `Authorization: Bearer <key>` into a usage-plan key."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.components import reasons
from stacks.components.findings import acknowledge_both_packs, checkov_skip
from stacks.components.gateway import acknowledge_synchronous_function
from stacks.components.lambda_permissions import service_role

AUTHORIZER_SOURCE = Path(__file__).resolve().parents[2] / "lambdas" / "authorizer"


class KeyAuthorizer(Construct):
    """Authorizer function (outside the VPC: it calls nothing) and its token authorizer."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        log_group: logs.ILogGroup,
        reserved_concurrency: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = service_role(
            self,
            "Role",
            service="lambda.amazonaws.com",
            description="API key authorizer function: write its logs",
        )
        log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description="Moves the Bearer API key to API Gateway's usage-plan check",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler="handler.handler",
            code=lambda_.Code.from_asset(
                str(AUTHORIZER_SOURCE), exclude=["__pycache__", "*.pyc", "__init__.py"]
            ),
            role=self.role,
            log_group=log_group,
            memory_size=128,
            timeout=Duration.seconds(3),
            reserved_concurrent_executions=reserved_concurrency or None,
        )
        acknowledge_synchronous_function(self.function, reserved_concurrency=reserved_concurrency)
        acknowledge_both_packs(self.function, "LambdaInsideVPC", reasons.AUTHORIZER_OUTSIDE_VPC)
        checkov_skip(self.function, "CKV_AWS_117", reasons.AUTHORIZER_OUTSIDE_VPC)
        self.authorizer = apigw.TokenAuthorizer(
            self,
            "TokenAuthorizer",
            handler=self.function,
            identity_source=apigw.IdentitySource.header("Authorization"),
            # Malformed headers are refused by API Gateway without invoking the function.
            validation_regex=r"^[Bb]earer [!-~]+$",
            results_cache_ttl=Duration.minutes(5),
        )
