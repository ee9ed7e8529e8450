"""The teams' DynamoDB tables: API keys (hashes only) and monthly usage counters.

Both are on-demand, encrypted with one customer-managed rotating key, and recoverable to any
second of the last 35 days (point-in-time recovery). The keys table is always retained: a
deleted stack must not revoke every team's keys at once. Each grant names the exact item
actions its caller makes, never a Scan, a Query or a write it does not need.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.components import reasons
from stacks.components.encryption import rotating_key
from stacks.components.findings import acknowledge_both_packs
from stacks.components.model_access import account_scoped

# `make keys` finds the keys table through the Stateful stack output whose key starts so
# (local/keys.py, OUTPUT_PREFIX).
KEYS_TABLE_OUTPUT = "ApiKeysTable"
# The authorizer reads one key record per token; it never lists or writes keys.
KEY_LOOKUP_ACTIONS = ("dynamodb:GetItem",)
# The gateway reads a team's month before a call and adds to it after (UpdateItem with ADD).
USAGE_COUNTING_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")
# DynamoDB uses the table's KMS key on the caller's behalf: reads decrypt the table key,
# writes may also have it encrypt (CDK's own table grants use the same split).
KEY_READ_ACTIONS = ("kms:Decrypt",)
KEY_WRITE_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
USAGE_TTL_ATTRIBUTE = "expires_at"


class TeamTables(Construct):
    """The keys table, the usage table and the key that encrypts both."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        removal_policy: RemovalPolicy,
        production: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        # Retained with the keys table: a deleted key would make the retained table unreadable.
        self.key = rotating_key(
            self,
            "Key",
            description="Bedrock kit: encrypts the API keys and usage tables",
            removal_policy=RemovalPolicy.RETAIN,
        )

        def table(
            construct_id: str,
            partition: str,
            *,
            sort: str | None = None,
            ttl: str | None = None,
            removal: RemovalPolicy,
        ) -> dynamodb.Table:
            created = dynamodb.Table(
                self,
                construct_id,
                partition_key=dynamodb.Attribute(
                    name=partition, type=dynamodb.AttributeType.STRING
                ),
                sort_key=dynamodb.Attribute(name=sort, type=dynamodb.AttributeType.STRING)
                if sort
                else None,
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
                encryption_key=self.key,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                deletion_protection=production,
                time_to_live_attribute=ttl,
                removal_policy=removal,
            )
            acknowledge_both_packs(created, "DynamoDBInBackupPlan", reasons.TABLES_USE_PITR)
            return created

        # Items: key_id, team, secret_sha256 (never the secret), created/expires/revoked_at.
        self.keys_table = table("KeysTable", "key_id", removal=RemovalPolicy.RETAIN)
        # Items: one per team and month ("YYYY-MM", UTC); old months expire by TTL.
        self.usage_table = table(
            "UsageTable", "team", sort="period", ttl=USAGE_TTL_ATTRIBUTE, removal=removal_policy
        )
        output = CfnOutput(
            self,
            "KeysTableName",
            value=self.keys_table.table_name,
            description="API keys table: make keys create|list|revoke|rotate use it",
        )
        output.override_logical_id(f"{KEYS_TABLE_OUTPUT}Name")

    def grant_key_lookup(self, grantee: iam.IGrantable) -> None:
        """Allow `grantee` to read one key record at a time (GetItem), and nothing else."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadOneApiKeyRecord",
                actions=list(KEY_LOOKUP_ACTIONS),
                resources=[self.keys_table.table_arn],
            )
        )
        self._grant_key(grantee, "DecryptApiKeysTable", KEY_READ_ACTIONS)

    def grant_usage_counting(self, grantee: iam.IGrantable) -> None:
        """Allow `grantee` to read and add to a team's monthly counters, and nothing else."""
        grantee.grant_principal.add_to_principal_policy(self._usage_counting())
        self._grant_key(grantee, "UseUsageTableKey", KEY_WRITE_ACTIONS)

    def usage_endpoint_statements(self) -> list[iam.PolicyStatement]:
        """The DynamoDB endpoint's policy: the same usage counting, for this account only."""
        return [account_scoped(self._usage_counting(principal=iam.AnyPrincipal()))]

    def _usage_counting(self, principal: iam.IPrincipal | None = None) -> iam.PolicyStatement:
        """The counters' item reads and updates (with `principal`: as a resource policy)."""
        return iam.PolicyStatement(
            sid="CountTeamUsage",
            principals=[principal] if principal is not None else None,
            actions=list(USAGE_COUNTING_ACTIONS),
            resources=[self.usage_table.table_arn],
        )

    def _grant_key(self, grantee: iam.IGrantable, sid: str, actions: tuple[str, ...]) -> None:
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid=sid,
                actions=list(actions),
                resources=[self.key.key_arn],
                # Only through DynamoDB: the grant never decrypts anything else under the key.
                # kms:ViaService names the calling service as SERVICE.REGION.amazonaws.com
                # (AWS KMS developer guide, "kms:ViaService":
                # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html).
                conditions={
                    "StringEquals": {
                        "kms:ViaService": f"dynamodb.{self.key.stack.region}.amazonaws.com"
                    }
                },
            )
        )
