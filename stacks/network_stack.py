"""NetworkStack: the isolated VPC (created or imported) and the private AWS endpoints it needs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.config import NetworkConfig, NetworkMode


class NetworkStack(Stack):
    """VPC without internet access, interface endpoints for Bedrock runtime and Logs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: NetworkConfig,
        bedrock_statements: Sequence[iam.PolicyStatement],
        flow_log_group: logs.ILogGroup,
        flow_logs_role: iam.IRole,
        private_api: bool,
        control_plane_statements: Sequence[iam.PolicyStatement] = (),
        **kwargs: Any,
    ) -> None:
        self._zones = list(network.availability_zones)
        super().__init__(scope, construct_id, **kwargs)
        self.vpc: ec2.IVpc
        if network.mode is NetworkMode.CREATE:
            self.vpc = self._create_vpc(network, flow_log_group, flow_logs_role)
        else:
            self.vpc = ec2.Vpc.from_vpc_attributes(
                self,
                "Vpc",
                vpc_id=network.vpc_id or "",
                vpc_cidr_block=network.vpc_cidr,
                availability_zones=self._zones,
                isolated_subnet_ids=list(network.subnet_ids),
            )
        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.gateway_security_group = ec2.SecurityGroup(
            self,
            "GatewaySecurityGroup",
            vpc=self.vpc,
            description="Bedrock gateway function",
            allow_all_outbound=False,
        )
        endpoint_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="Interface endpoints, reachable only from the gateway",
            allow_all_outbound=False,
        )
        endpoint_group.add_ingress_rule(
            self.gateway_security_group, ec2.Port.tcp(443), "HTTPS from the gateway function"
        )
        self.gateway_security_group.add_egress_rule(
            endpoint_group, ec2.Port.tcp(443), "HTTPS to the interface endpoints"
        )
        # The runtime endpoint admits only calls to the enabled models, whoever makes them.
        self._endpoint(
            "BedrockRuntimeEndpoint",
            ec2.InterfaceVpcEndpointAwsService.BEDROCK_RUNTIME,
            endpoint_group,
            bedrock_statements,
        )
        self._endpoint(
            "LogsEndpoint", ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS, endpoint_group
        )
        self.control_plane_security_group: ec2.SecurityGroup | None = None
        if control_plane_statements:
            # Deploy-time handlers (model access check, invocation logging) reach Bedrock's
            # control plane through this endpoint; its policy admits only their actions.
            self.control_plane_security_group = ec2.SecurityGroup(
                self,
                "ControlPlaneSecurityGroup",
                vpc=self.vpc,
                description="Bedrock kit deploy-time handlers",
                allow_all_outbound=False,
            )
            endpoint_group.add_ingress_rule(
                self.control_plane_security_group,
                ec2.Port.tcp(443),
                "HTTPS from the deploy-time handlers",
            )
            self.control_plane_security_group.add_egress_rule(
                endpoint_group, ec2.Port.tcp(443), "HTTPS to the interface endpoints"
            )
            self._endpoint(
                "BedrockEndpoint",
                ec2.InterfaceVpcEndpointAwsService.BEDROCK,
                endpoint_group,
                control_plane_statements,
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
                # The configured CIDR (a literal), so rule checkers can read the source range.
                ec2.Peer.ipv4(network.vpc_cidr),
                ec2.Port.tcp(443),
                "HTTPS from the VPC",
            )
            self.execute_api_endpoint = self._endpoint(
                "ExecuteApiEndpoint", ec2.InterfaceVpcEndpointAwsService.APIGATEWAY, callers
            )

    def _endpoint(
        self,
        construct_id: str,
        service: ec2.InterfaceVpcEndpointAwsService,
        security_group: ec2.ISecurityGroup,
        statements: Sequence[iam.PolicyStatement] = (),
    ) -> ec2.InterfaceVpcEndpoint:
        """An interface endpoint in the kit's subnets, private DNS on, policy from `statements`."""
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

    @property
    def availability_zones(self) -> list[str]:
        """Zones from config when given, so a region-bound stack never looks them up."""
        return self._zones or super().availability_zones

    def _create_vpc(
        self, network: NetworkConfig, flow_log_group: logs.ILogGroup, flow_logs_role: iam.IRole
    ) -> ec2.Vpc:
        return ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(network.vpc_cidr),
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
