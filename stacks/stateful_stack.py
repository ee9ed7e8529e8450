"""StatefulStack: what holds data and outlives the service (keys, log groups, log buckets)."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.components.invocation_log_store import InvocationLogSettings, InvocationLogStore
from stacks.components.kit_logs import KitLogs


class StatefulStack(Stack):
    """Wires the operational logs and, when invocation logging is on, its store."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        invocation_logs: InvocationLogSettings | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.logs = KitLogs(self, "Logs", retention=retention, removal_policy=removal_policy)
        self.invocation_logs: InvocationLogStore | None = None
        if invocation_logs is not None:
            self.invocation_logs = InvocationLogStore(
                self,
                "InvocationLogs",
                removal_policy=removal_policy,
                log_retention=retention,
                settings=invocation_logs,
            )
