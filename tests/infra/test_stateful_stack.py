"""Log groups keep data as long as config says, and prod retains them on stack deletion."""

from __future__ import annotations

from tests.infra.cfn import render
from tests.infra.conftest import Synthesized


def test_log_groups_have_configured_retention_and_the_kit_key(env: Synthesized) -> None:
    groups = env.stateful.find_resources("AWS::Logs::LogGroup")
    (key_id,) = [k for k in env.stateful.find_resources("AWS::KMS::Key") if k.startswith("LogsKey")]
    # gateway, authorizer, API access log, VPC flow logs; the knowledge bases' sync calls
    assert len(groups) == 4 + bool(env.config.knowledge_bases)
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == env.config.observability.log_retention_days
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_kms_key_rotates_and_serves_only_this_accounts_log_groups(env: Synthesized) -> None:
    (key,) = [
        k
        for i, k in env.stateful.find_resources("AWS::KMS::Key").items()
        if i.startswith("LogsKey")
    ]
    assert key["Properties"]["EnableKeyRotation"] is True
    statements = render(key["Properties"]["KeyPolicy"])["Statement"]
    (logs_statement,) = [
        s for s in statements if s.get("Sid") == "AllowCloudWatchLogsForThisAccount"
    ]
    assert logs_statement["Principal"] == {"Service": "logs.${AWS::Region}.amazonaws.com"}
    assert logs_statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == (
        "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"
    )


def test_prod_retains_logs_and_dev_deletes_them(dev: Synthesized, prod: Synthesized) -> None:
    for resource_type in ("AWS::Logs::LogGroup", "AWS::KMS::Key"):
        for resource in prod.stateful.find_resources(resource_type).values():
            assert resource["DeletionPolicy"] == "Retain"
    for group in dev.stateful.find_resources("AWS::Logs::LogGroup").values():
        assert group["DeletionPolicy"] == "Delete"
