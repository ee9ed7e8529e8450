"""NetworkStack: the isolated VPC and its private endpoints (changes rarely, holds no data)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.components.kit_network import KitNetwork, acknowledge_default_sg_handler


class NetworkStack(Stack):
    """Wires the kit's network: VPC, security groups, endpoints with their policies."""

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
        control_plane_endpoint_statements: Sequence[iam.PolicyStatement],
        parameter_endpoint_statements: Sequence[iam.PolicyStatement],
        usage_endpoint_statements: Sequence[iam.PolicyStatement],
        existing_route_table_ids: Sequence[str],
        private_api: bool,
        log_key: kms.IKey,
        log_retention: logs.RetentionDays,
        log_removal_policy: RemovalPolicy,
        retrieval_endpoint_statements: Sequence[iam.PolicyStatement] = (),
        sagemaker_endpoint_statements: Sequence[iam.PolicyStatement] = (),
        **kwargs: Any,
    ) -> None:
        self._zones = list(availability_zones)
        super().__init__(scope, construct_id, **kwargs)
        self.network = KitNetwork(
            self,
            "Network",
            vpc_cidr=vpc_cidr,
            availability_zones=availability_zones,
            existing_vpc_id=existing_vpc_id,
            existing_subnet_ids=existing_subnet_ids,
            flow_log_group=flow_log_group,
            runtime_endpoint_statements=runtime_endpoint_statements,
            control_plane_endpoint_statements=control_plane_endpoint_statements,
            parameter_endpoint_statements=parameter_endpoint_statements,
            usage_endpoint_statements=usage_endpoint_statements,
            retrieval_endpoint_statements=retrieval_endpoint_statements,
            sagemaker_endpoint_statements=sagemaker_endpoint_statements,
            existing_route_table_ids=existing_route_table_ids,
            private_api=private_api,
            log_key=log_key,
            log_retention=log_retention,
            log_removal_policy=log_removal_policy,
        )
        acknowledge_default_sg_handler(self)

    @property
    def availability_zones(self) -> list[str]:
        """Zones from config when given, so a region-bound stack never looks them up."""
        return self._zones or super().availability_zones
