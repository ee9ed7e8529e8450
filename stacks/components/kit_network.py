"""The isolated VPC (created or imported) and the private AWS endpoints the kit uses.

No internet path: isolated subnets, no NAT. Every security group the kit creates carries an
explicit egress list (EC2 would otherwise add allow-all egress), and every endpoint has a
policy admitting only this account's principals, only for what the kit calls. DynamoDB (the
teams' usage counters) is reached through a gateway endpoint on the subnets' route tables.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Annotations, Aws, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from stacks.components import reasons
from stacks.components.deploy_time_calls import acknowledge_sdk_call_function
from stacks.components.encryption import encrypted_log_group
from stacks.components.findings import (
    AWS_SOLUTIONS,
    acknowledge,
    acknowledge_both_packs,
    checkov_skip,
)
from stacks.components.lambda_permissions import service_role

# Where the lookup reads the ID of the AWS-managed prefix list of DynamoDB's addresses.
PREFIX_LIST_ID_PATH = "PrefixLists.0.PrefixListId"


class KitNetwork(Construct):
    """VPC, security groups and interface endpoints; endpoints only for services in use."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc_cidr: str,
        availability_zones: Sequence[str],
        existing_vpc_id: str | None,
        existing_subnet_ids: Sequence[str],
        flow_log_group: logs.ILogGroup,
        runtime_endpoint_statements: Sequence[iam.PolicyStatement],
        control_plane_endpoint_statements: Sequence[iam.PolicyStatement] = (),
        parameter_endpoint_statements: Sequence[iam.PolicyStatement] = (),
        usage_endpoint_statements: Sequence[iam.PolicyStatement] = (),
        retrieval_endpoint_statements: Sequence[iam.PolicyStatement] = (),
        sagemaker_endpoint_statements: Sequence[iam.PolicyStatement] = (),
        existing_route_table_ids: Sequence[str] = (),
        private_api: bool = False,
        log_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc: ec2.IVpc
        if existing_vpc_id is None:
            self.vpc = self._create_vpc(vpc_cidr, flow_log_group)
        else:
            self.vpc = ec2.Vpc.from_vpc_attributes(
                self,
                "Vpc",
                vpc_id=existing_vpc_id,
                vpc_cidr_block=vpc_cidr,
                availability_zones=list(availability_zones),
                isolated_subnet_ids=list(existing_subnet_ids),
                # One per subnet, same order; without them no gateway endpoint can be added.
                isolated_subnet_route_table_ids=list(existing_route_table_ids) or None,
            )
        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        # Inline rules to the VPC's own range: an explicit egress list replaces EC2's default
        # allow-all, and no address outside the VPC (a NAT's internet) is reachable.
        self.gateway_security_group = self._group(
            "GatewaySecurityGroup", "Bedrock gateway functions", vpc_cidr
        )
        endpoint_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="Interface endpoints, reachable only from the kit functions",
            allow_all_outbound=False,
        )
        endpoint_group.add_ingress_rule(
            self.gateway_security_group, ec2.Port.tcp(443), "HTTPS from the gateway functions"
        )
        self._endpoint(
            "BedrockRuntimeEndpoint",
            ec2.InterfaceVpcEndpointAwsService.BEDROCK_RUNTIME,
            endpoint_group,
            runtime_endpoint_statements,
        )
        if retrieval_endpoint_statements:
            # The gateway searches knowledge bases (Retrieve) through bedrock-agent-runtime.
            self._endpoint(
                "BedrockAgentRuntimeEndpoint",
                ec2.InterfaceVpcEndpointAwsService.BEDROCK_AGENT_RUNTIME,
                endpoint_group,
                retrieval_endpoint_statements,
            )
        if sagemaker_endpoint_statements:
            # Own models on SageMaker endpoints, called through sagemaker-runtime.
            self._endpoint(
                "SageMakerRuntimeEndpoint",
                ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME,
                endpoint_group,
                sagemaker_endpoint_statements,
            )
        self.dynamodb_endpoint: ec2.GatewayVpcEndpoint | None = None
        if usage_endpoint_statements:
            if log_key is None:
                raise ValueError("reaching DynamoDB needs a log key for its prefix-list lookup")
            self._reach_dynamodb(
                usage_endpoint_statements,
                can_route=existing_vpc_id is None or bool(existing_route_table_ids),
                lookup_log_group=encrypted_log_group(
                    self,
                    "PrefixListLookupLogGroup",
                    key=log_key,
                    retention=log_retention,
                    removal_policy=log_removal_policy,
                ),
            )
        self.control_plane_security_group: ec2.SecurityGroup | None = None
        if control_plane_endpoint_statements:
            # Deploy-time handlers (model access check, invocation logging) reach Bedrock's
            # control plane through this endpoint; its policy admits only their actions.
            self.control_plane_security_group = self._group(
                "ControlPlaneSecurityGroup", "Bedrock kit deploy-time handlers", vpc_cidr
            )
            endpoint_group.add_ingress_rule(
                self.control_plane_security_group,
                ec2.Port.tcp(443),
                "HTTPS from the deploy-time handlers",
            )
            self._endpoint(
                "BedrockEndpoint",
                ec2.InterfaceVpcEndpointAwsService.BEDROCK,
                endpoint_group,
                control_plane_endpoint_statements,
            )
            if parameter_endpoint_statements:
                # The model access check reads Anthropic's use-case form from Parameter Store.
                self._endpoint(
                    "ParameterStoreEndpoint",
                    ec2.InterfaceVpcEndpointAwsService.SSM,
                    endpoint_group,
                    parameter_endpoint_statements,
                )
        self.execute_api_endpoint: ec2.InterfaceVpcEndpoint | None = None
        if private_api:
            # Callers of a PRIVATE API reach it through this endpoint from inside the VPC.
            callers = ec2.SecurityGroup(
                self,
                "ExecuteApiEndpointSecurityGroup",
                vpc=self.vpc,
                description="execute-api endpoint, reachable from inside the VPC",
                allow_all_outbound=False,
            )
            callers.add_ingress_rule(
                ec2.Peer.ipv4(vpc_cidr), ec2.Port.tcp(443), "HTTPS from the VPC"
            )
            # API-key callers are anonymous to IAM, so the policy scopes the resource instead
            # of the principal: only this account's APIs are reachable through the endpoint.
            self.execute_api_endpoint = self._endpoint(
                "ExecuteApiEndpoint",
                ec2.InterfaceVpcEndpointAwsService.APIGATEWAY,
                callers,
                [
                    iam.PolicyStatement(
                        sid="InvokeThisAccountsApisOnly",
                        principals=[iam.AnyPrincipal()],
                        actions=["execute-api:Invoke"],
                        resources=[
                            f"arn:{Aws.PARTITION}:execute-api:{Aws.REGION}:{Aws.ACCOUNT_ID}:*"
                        ],
                    )
                ],
            )

    def _group(self, construct_id: str, description: str, vpc_cidr: str) -> ec2.SecurityGroup:
        group = ec2.SecurityGroup(
            self, construct_id, vpc=self.vpc, description=description, allow_all_outbound=False
        )
        group.add_egress_rule(
            ec2.Peer.ipv4(vpc_cidr), ec2.Port.tcp(443), "HTTPS to the interface endpoints"
        )
        return group

    def _reach_dynamodb(
        self,
        statements: Sequence[iam.PolicyStatement],
        *,
        can_route: bool,
        lookup_log_group: logs.ILogGroup,
    ) -> None:
        """The gateway functions reach DynamoDB: a gateway endpoint and an HTTPS egress rule.

        Gateway endpoints are free and route by the subnets' route tables; the traffic still
        leaves the functions' security group for DynamoDB's public addresses, which only the
        AWS-managed prefix list names (VPC user guide, "Gateway endpoints for Amazon
        DynamoDB": https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-ddb.html).
        """
        if can_route:
            # In an existing VPC this can clash: a route table routes DynamoDB through at most
            # one gateway endpoint, so deploying fails if the given route tables already have
            # one; and this endpoint's policy then governs every DynamoDB call from those
            # subnets, other workloads' included. Name only route tables the kit's subnets use
            # alone, or leave them out and keep the VPC's own route to DynamoDB.
            self.dynamodb_endpoint = self.vpc.add_gateway_endpoint(
                "DynamoDbEndpoint",
                service=ec2.GatewayVpcEndpointAwsService.DYNAMODB,
                subnets=[self.subnets],
            )
            for statement in statements:
                self.dynamodb_endpoint.add_to_policy(statement)
        else:
            Annotations.of(self).add_warning_v2(
                "bedrock-kit:no-dynamodb-endpoint",
                "The existing VPC's route tables are not given: no DynamoDB gateway endpoint is "
                "added. The gateway counts team usage in DynamoDB, so the kit's subnets must "
                "already route to it (an existing DynamoDB gateway endpoint or a NAT).",
            )
        self.gateway_security_group.add_egress_rule(
            ec2.Peer.prefix_list(self._dynamodb_prefix_list_id(lookup_log_group)),
            ec2.Port.tcp(443),
            "HTTPS to DynamoDB (the teams' usage table)",
        )

    def _dynamodb_prefix_list_id(self, log_group: logs.ILogGroup) -> str:
        """The region's AWS-managed DynamoDB prefix list ID, looked up at deployment.

        CloudFormation returns no prefix list ID for a gateway endpoint, and the IDs differ by
        region: CDK's AwsCustomResource reads it with one Describe call when the stack is
        created (and again only if the call itself changes).
        """
        lookup = cr.AwsCustomResource(
            self,
            "DynamoDbPrefixList",
            on_update=cr.AwsSdkCall(
                service="EC2",
                action="describeManagedPrefixLists",
                parameters={
                    "Filters": [
                        {
                            "Name": "prefix-list-name",
                            "Values": [f"com.amazonaws.{Aws.REGION}.dynamodb"],
                        }
                    ]
                },
                physical_resource_id=cr.PhysicalResourceId.from_response(PREFIX_LIST_ID_PATH),
                output_paths=[PREFIX_LIST_ID_PATH],
            ),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        sid="DescribeManagedPrefixLists",
                        actions=["ec2:DescribeManagedPrefixLists"],
                        resources=["*"],
                    )
                ]
            ),
            # The Lambda runtime's SDK has this call; no download from npm at deploy time.
            install_latest_aws_sdk=False,
            log_group=log_group,
        )
        acknowledge(
            lookup, f"{AWS_SOLUTIONS}IAM5[Resource::*]", reasons.PREFIX_LIST_LOOKUP_WILDCARD
        )
        acknowledge_both_packs(lookup, "IAMNoInlinePolicy", reasons.ROLE_OWN_POLICY)
        acknowledge_sdk_call_function(
            self,
            outside_vpc=reasons.PREFIX_LIST_LOOKUP,
            no_dead_letters=reasons.PREFIX_LIST_LOOKUP_RETRIES,
        )
        return lookup.get_response_field(PREFIX_LIST_ID_PATH)

    def _endpoint(
        self,
        construct_id: str,
        service: ec2.InterfaceVpcEndpointAwsService,
        security_group: ec2.ISecurityGroup,
        statements: Sequence[iam.PolicyStatement],
    ) -> ec2.InterfaceVpcEndpoint:
        """An interface endpoint in the kit's subnets, private DNS on, policy from `statements`."""
        if not statements:
            raise ValueError(f"{construct_id}: an interface endpoint needs a policy")
        endpoint = self.vpc.add_interface_endpoint(
            construct_id,
            service=service,
            subnets=self.subnets,
            security_groups=[security_group],
            private_dns_enabled=True,
            open=False,
        )
        for statement in statements:
            endpoint.add_to_policy(statement)
        return endpoint

    def _create_vpc(self, vpc_cidr: str, flow_log_group: logs.ILogGroup) -> ec2.Vpc:
        flow_logs_role = service_role(
            self,
            "FlowLogsRole",
            service="vpc-flow-logs.amazonaws.com",
            # Confused-deputy guard documented for flow logs: only on behalf of this account.
            conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            description="VPC flow logs: write the flow log group",
        )
        vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(vpc_cidr),
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                )
            ],
            restrict_default_security_group=True,
            flow_logs={
                "FlowLogs": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                        flow_log_group, flow_logs_role
                    ),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
        )
        return vpc


def acknowledge_default_sg_handler(stack: Construct) -> None:
    """Skip the checks CDK's default-security-group handler cannot meet (it is CDK's, not ours)."""
    provider = stack.node.try_find_child("Custom::VpcRestrictDefaultSGCustomResourceProvider")
    if provider is None:
        return
    handler = provider.node.try_find_child("Handler")
    if handler is None:
        return
    for check in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"):
        checkov_skip(handler, check, reasons.CDK_DEFAULT_SG_HANDLER)
