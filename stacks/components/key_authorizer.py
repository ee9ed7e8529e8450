"""The Lambda token authorizer that turns `Authorization: Bearer <key>` into a usage-plan key."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

AUTHORIZER_SOURCE = Path(__file__).resolve().parents[2] / "lambdas" / "authorizer"


class KeyAuthorizer(Construct):
    """Authorizer function plus the API Gateway token authorizer wired to it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role: iam.IRole,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        log_group: logs.ILogGroup,
        reserved_concurrency: int,
    ) -> None:
        super().__init__(scope, construct_id)
        # It calls nothing: a security group without any rule keeps it that way.
        group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="API key authorizer: no inbound, no outbound",
            allow_all_outbound=False,
        )
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
            role=role,
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[group],
            log_group=log_group,
            memory_size=128,
            timeout=Duration.seconds(3),
            reserved_concurrent_executions=reserved_concurrency,
        )
        self.authorizer = apigw.TokenAuthorizer(
            self,
            "TokenAuthorizer",
            handler=self.function,
            identity_source=apigw.IdentitySource.header("Authorization"),
            # Malformed headers are refused by API Gateway without invoking the function.
            validation_regex=r"^[Bb]earer [!-~]+$",
            results_cache_ttl=Duration.minutes(5),
        )
