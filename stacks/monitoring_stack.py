"""MonitoringStack: the environment's dashboard, alarms to an SNS topic, saved log queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.components.gateway_monitoring import GatewayMonitoring
from stacks.config import AlarmsConfig


class MonitoringStack(Stack):
    """Wires the gateway's monitoring to its API, log group and metrics namespace."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dashboard_name: str,
        api_name: str,
        stage_name: str,
        namespace: str,
        model_ids: Sequence[str],
        log_group: logs.ILogGroup,
        alarms: AlarmsConfig,
        key: kms.IKey,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.monitoring = GatewayMonitoring(
            self,
            "Gateway",
            dashboard_name=dashboard_name,
            api_name=api_name,
            stage_name=stage_name,
            namespace=namespace,
            model_ids=model_ids,
            log_group=log_group,
            alarms=alarms,
            key=key,
        )
