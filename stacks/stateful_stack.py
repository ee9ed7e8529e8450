"""StatefulStack: what holds data and outlives the service (keys, tables, logs, knowledge bases)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.components.guardrails import Guardrails, GuardrailSettings
from stacks.components.invocation_log_store import InvocationLogSettings, InvocationLogStore
from stacks.components.kit_logs import KitLogs
from stacks.components.knowledge_bases import KnowledgeBases, KnowledgeBaseSettings
from stacks.components.team_profiles import TeamInferenceProfiles, TeamProfileSet
from stacks.components.team_tables import TeamTables


class StatefulStack(Stack):
    """Wires the operational logs, the teams' tables and, with invocation logging, its store."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        invocation_logs: InvocationLogSettings | None,
        production: bool,
        env_name: str = "",
        team_profiles: Sequence[TeamProfileSet] = (),
        knowledge_bases: Sequence[KnowledgeBaseSettings] = (),
        guardrails: Sequence[GuardrailSettings] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.logs = KitLogs(self, "Logs", retention=retention, removal_policy=removal_policy)
        self.team_tables = TeamTables(
            self, "TeamTables", removal_policy=removal_policy, production=production
        )
        # The teams' application inference profiles: their ids stay while the service changes,
        # and both the network's endpoint policy and the gateway's role name them.
        self.team_profiles: TeamInferenceProfiles | None = None
        if team_profiles:
            self.team_profiles = TeamInferenceProfiles(
                self, "TeamProfiles", env_name=env_name, teams=team_profiles
            )
        # Documents and their vectors are data: they outlive the service that searches them.
        self.knowledge_bases: KnowledgeBases | None = None
        if knowledge_bases:
            self.knowledge_bases = KnowledgeBases(
                self,
                "KnowledgeBases",
                env_name=env_name,
                knowledge_bases=knowledge_bases,
                removal_policy=removal_policy,
                log_key=self.logs.key,
                log_retention=retention,
            )
        # Guardrails with their published versions: both the gateway's role and the network's
        # endpoint policy name them.
        self.guardrails: Guardrails | None = None
        if guardrails:
            self.guardrails = Guardrails(
                self, "Guardrails", env_name=env_name, guardrails=guardrails
            )
        self.invocation_logs: InvocationLogStore | None = None
        if invocation_logs is not None:
            self.invocation_logs = InvocationLogStore(
                self,
                "InvocationLogs",
                removal_policy=removal_policy,
                log_retention=retention,
                settings=invocation_logs,
            )
