"""Invocation logs (prompts and completions): S3 only by default, one key, one reader."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from stacks.components.invocation_log_store import InvocationLogSettings, InvocationLogStore
from tests.infra.cfn import as_list, render
from tests.infra.conftest import Synthesized, project_app

AUDITOR = "arn:aws:iam::123456789012:role/SecurityAuditor"


def store_alone(
    *, cloudwatch_copy: bool = False, auditor_role_arn: str | None = None
) -> tuple[InvocationLogStore, Template]:
    stack = Stack(project_app(), "Bare")
    store = InvocationLogStore(
        stack,
        "Store",
        settings=InvocationLogSettings(
            transition_to_infrequent_access_days=30,
            expiration_days=365,
            cloudwatch_copy=cloudwatch_copy,
            auditor_role_arn=auditor_role_arn,
        ),
        removal_policy=RemovalPolicy.RETAIN,
        log_retention=logs.RetentionDays.ONE_YEAR,
    )
    return store, Template.from_stack(stack)


def key_statements(template: Template) -> dict[str, dict[str, Any]]:
    (key,) = template.find_resources("AWS::KMS::Key").values()
    return {s["Sid"]: s for s in render(key["Properties"]["KeyPolicy"])["Statement"]}


def bucket_statements(template: Template) -> list[dict[str, Any]]:
    return [
        s
        for policy in template.find_resources("AWS::S3::BucketPolicy").values()
        for s in as_list(render(policy["Properties"]["PolicyDocument"])["Statement"])
    ]


def test_logs_go_to_s3_only_by_default() -> None:
    store, template = store_alone()
    template.resource_count_is("AWS::Logs::LogGroup", 0)
    config = render(
        Stack.of(store).resolve(store.logging_config(text=True, image=False, embedding=False))
    )
    assert "cloudWatchConfig" not in config
    assert config["s3Config"]["keyPrefix"] == "bedrock-invocations"


def test_administrators_manage_the_key_but_only_the_auditor_decrypts() -> None:
    _, template = store_alone()
    statements = key_statements(template)
    assert set(statements) == {
        "KeyAdministrationWithoutDecryption",
        "BedrockWritesInvocationLogs",
        "AuditorReadsInvocationLogs",
    }
    admin = as_list(statements["KeyAdministrationWithoutDecryption"]["Action"])
    assert "kms:*" not in admin and "kms:Decrypt" not in admin
    # A grant could give its creator decryption: administrators may not create one.
    assert not any(a in ("kms:Create*", "kms:CreateGrant") for a in admin)
    assert not any(
        a.startswith(("kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncrypt")) for a in admin
    )
    bedrock = statements["BedrockWritesInvocationLogs"]
    assert as_list(bedrock["Action"]) == ["kms:GenerateDataKey"]
    assert bedrock["Condition"]["StringEquals"] == {"aws:SourceAccount": "${AWS::AccountId}"}
    auditor = statements["AuditorReadsInvocationLogs"]
    assert "kms:Decrypt" in as_list(auditor["Action"])
    assert "AuditorRole" in auditor["Principal"]["AWS"]


def test_the_bucket_refuses_reads_by_anyone_but_the_auditor() -> None:
    _, template = store_alone()
    (deny,) = [
        s for s in bucket_statements(template) if s.get("Sid") == "DenyReadsExceptTheAuditorRole"
    ]
    assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"}
    assert set(as_list(deny["Action"])) == {"s3:GetObject", "s3:GetObjectVersion"}
    assert "AuditorRole" in deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
    (write,) = [s for s in bucket_statements(template) if s.get("Sid") == "AmazonBedrockLogsWrite"]
    assert as_list(write["Action"]) == ["s3:PutObject"]
    assert "/bedrock-invocations/AWSLogs/${AWS::AccountId}/BedrockModelInvocationLogs/*" in str(
        write["Resource"]
    )


def test_an_existing_auditor_role_is_named_instead_of_created() -> None:
    _, template = store_alone(auditor_role_arn=AUDITOR)
    template.resource_count_is("AWS::IAM::Role", 0)
    assert key_statements(template)["AuditorReadsInvocationLogs"]["Principal"] == {"AWS": AUDITOR}
    (deny,) = [
        s for s in bucket_statements(template) if s.get("Sid") == "DenyReadsExceptTheAuditorRole"
    ]
    assert deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] == AUDITOR


def test_the_cloudwatch_copy_grants_bedrocks_one_stream_by_the_groups_name() -> None:
    store, template = store_alone(cloudwatch_copy=True)
    (group_id,) = template.find_resources("AWS::Logs::LogGroup")
    (policy,) = [
        p
        for p in template.find_resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"][0]["Ref"].startswith("StoreDeliveryRole")
    ]
    (statement,) = render(policy["Properties"]["PolicyDocument"])["Statement"]
    assert statement["Resource"] == (
        f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:${{{group_id}}}"
        ":log-stream:aws/bedrock/modelinvocations"
    )
    config = render(
        Stack.of(store).resolve(store.logging_config(text=True, image=False, embedding=False))
    )
    assert config["cloudWatchConfig"]["logGroupName"] == f"${{{group_id}}}"


def test_prod_keeps_invocation_logs_under_their_own_key(prod: Synthesized) -> None:
    keys = prod.stateful.find_resources("AWS::KMS::Key")
    (store_key_id,) = [k for k in keys if k.startswith("InvocationLogsKey")]
    (bucket,) = [
        b
        for k, b in prod.stateful.find_resources("AWS::S3::Bucket").items()
        if k.startswith("InvocationLogsBucket")
    ]
    encryption = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {
        "Fn::GetAtt": [store_key_id, "Arn"]
    }
    assert bucket["DeletionPolicy"] == "Retain"


def test_only_principals_tagged_as_readers_may_assume_the_kits_auditor_role() -> None:
    _, template = store_alone()
    (role,) = template.find_resources("AWS::IAM::Role").values()
    (statement,) = render(role["Properties"]["AssumeRolePolicyDocument"])["Statement"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:PrincipalTag/bedrock-kit:invocation-log-reader": "true"}
    }
