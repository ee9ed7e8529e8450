"""Model access pre-flight and invocation logging as custom resources, least privilege each."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.config import parse_config
from tests.infra.cfn import as_list, render
from tests.infra.conftest import Synthesized, synthesize

HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA = "amazon.nova-micro-v1:0"
FULL: dict[str, Any] = {
    "models": {"enabled": [NOVA, HAIKU], "cross_region": "us"},
    "access_check": {
        "mode": "strict",
        "accept_offers": True,
        "anthropic_use_case": {
            "companyName": "Example",
            "companyWebsite": "https://example.com",
            "intendedUsers": "0",
            "useCases": "Internal assistants",
        },
    },
    "invocation_logging": {"enabled": True, "on_existing": "replace", "image": True},
}


@pytest.fixture(scope="module")
def full() -> Synthesized:
    return synthesize(parse_config(FULL, source="inline.toml", env_name="gov"))


def custom_resource(env: Synthesized, prefix: str) -> dict[str, Any]:
    assert env.governance is not None
    (resource,) = [
        r
        for k, r in env.governance.find_resources("AWS::CloudFormation::CustomResource").items()
        if k.startswith(prefix)
    ]
    return resource


def policy_actions(env: Synthesized, prefix: str) -> dict[str, list[str]]:
    assert env.governance is not None
    (policy,) = [
        p
        for k, p in env.governance.find_resources("AWS::IAM::ManagedPolicy").items()
        if k.startswith(f"{prefix}Policy")
    ]
    return {
        s["Sid"]: sorted(as_list(s["Action"]))
        for s in render(policy["Properties"]["PolicyDocument"])["Statement"]
    }


def test_dev_runs_the_access_check_in_warn_mode_without_invocation_logging(
    dev: Synthesized,
) -> None:
    properties = custom_resource(dev, "ModelAccessCheck")["Properties"]
    assert properties["ModelIds"] == list(dev.config.models.enabled)
    assert properties["Mode"] == "warn" and properties["AcceptOffers"] == "false"
    anthropic = [m for m in dev.config.models.enabled if m.startswith("anthropic.")]
    assert properties["AnthropicModelIds"] == anthropic
    assert dev.governance is not None
    dev.governance.resource_count_is("AWS::S3::Bucket", 0)


def test_access_check_role_may_only_read_and_accept_what_config_allows(
    dev: Synthesized, full: Synthesized
) -> None:
    assert policy_actions(dev, "ModelAccessCheck") == {
        "ReadEnabledModels": ["bedrock:GetFoundationModel"],
        "ReadModelAccessState": [
            "bedrock:GetFoundationModelAvailability",
            "bedrock:GetUseCaseForModelAccess",
        ],
        "WriteOwnLogs": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "ManageVpcNetworkInterfaces": sorted(
            [
                "ec2:AssignPrivateIpAddresses",
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:UnassignPrivateIpAddresses",
            ]
        ),
    }
    actions = policy_actions(full, "ModelAccessCheck")
    assert actions["AcceptPublicOffers"] == [
        "aws-marketplace:Subscribe",
        "aws-marketplace:ViewSubscriptions",
        "bedrock:CreateFoundationModelAgreement",
        "bedrock:ListFoundationModelAgreementOffers",
    ]
    assert actions["SubmitAnthropicUseCase"] == ["bedrock:PutUseCaseForModelAccess"]
    properties = custom_resource(full, "ModelAccessCheck")["Properties"]
    assert (
        properties["Mode"] == "strict"
        and json.loads(properties["UseCaseForm"])["companyName"] == "Example"
    )


def test_invocation_logging_bucket_is_encrypted_private_tls_only_and_expires(
    full: Synthesized,
) -> None:
    assert full.governance is not None
    buckets = full.governance.find_resources("AWS::S3::Bucket")
    (log_bucket,) = [b for k, b in buckets.items() if k.startswith("InvocationLogBucket")]
    properties = log_bucket["Properties"]
    encryption = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert "LoggingConfiguration" in properties
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 365
    assert rule["Transitions"][0] == {"StorageClass": "STANDARD_IA", "TransitionInDays": 30}
    policies = full.governance.find_resources("AWS::S3::BucketPolicy")
    statements = [
        s for p in policies.values() for s in render(p["Properties"]["PolicyDocument"])["Statement"]
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )
    (bedrock,) = [s for s in statements if s.get("Sid") == "AmazonBedrockLogsWrite"]
    assert bedrock["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert bedrock["Condition"]["StringEquals"] == {"aws:SourceAccount": "${AWS::AccountId}"}
    assert "BedrockModelInvocationLogs/*" in as_list(bedrock["Resource"])[0]


def test_logging_custom_resource_waits_for_its_destinations_and_passes_only_its_role(
    full: Synthesized,
) -> None:
    resource = custom_resource(full, "InvocationLogging")
    depends = " ".join(resource["DependsOn"])
    for dependency in (
        "InvocationLogBucketPolicy",
        "InvocationLogGroup",
        "DeliveryPolicy",
        "DeliveryRole",
    ):
        assert dependency in depends, dependency
    config = json.loads(render(resource["Properties"]["LoggingConfig"]))
    assert config["textDataDeliveryEnabled"] is True and config["imageDataDeliveryEnabled"] is True
    assert config["embeddingDataDeliveryEnabled"] is False
    assert resource["Properties"]["OnExisting"] == "replace"
    actions = policy_actions(full, "InvocationLogging")
    assert actions["ManageInvocationLoggingConfiguration"] == [
        "bedrock:DeleteModelInvocationLoggingConfiguration",
        "bedrock:GetModelInvocationLoggingConfiguration",
        "bedrock:PutModelInvocationLoggingConfiguration",
    ]
    assert actions["PassDeliveryRoleToBedrock"] == ["iam:PassRole"]


def test_delivery_role_trusts_bedrock_for_this_account_only(full: Synthesized) -> None:
    assert full.governance is not None
    roles = full.governance.find_resources("AWS::IAM::Role")
    (delivery,) = [r for k, r in roles.items() if k.startswith("DeliveryRole")]
    (statement,) = render(delivery["Properties"]["AssumeRolePolicyDocument"])["Statement"]
    assert statement["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "${AWS::AccountId}"}


def test_control_plane_endpoint_admits_only_the_handlers_actions(full: Synthesized) -> None:
    endpoints = full.network.find_resources("AWS::EC2::VPCEndpoint").values()
    (control,) = [
        e for e in endpoints if str(render(e["Properties"]["ServiceName"])).endswith(".bedrock")
    ]
    actions = {
        a
        for s in render(control["Properties"]["PolicyDocument"])["Statement"]
        for a in as_list(s["Action"])
    }
    assert "bedrock:InvokeModel" not in actions
    assert "bedrock:PutModelInvocationLoggingConfiguration" in actions
    assert "bedrock:GetFoundationModel" in actions


def test_no_governance_stack_when_both_features_are_off() -> None:
    env = synthesize(
        parse_config(
            {"models": {"enabled": [NOVA]}, "access_check": {"mode": "off"}},
            source="inline.toml",
            env_name="bare",
        )
    )
    assert env.governance is None
    endpoints = [
        render(e["Properties"]["ServiceName"])
        for e in env.network.find_resources("AWS::EC2::VPCEndpoint").values()
    ]
    assert not any(str(name).endswith(".bedrock") for name in endpoints)


def test_handler_assets_hold_only_their_package(tmp_path: Any) -> None:
    from aws_cdk import App

    from app import GATEWAY_SOURCE
    from stacks.kit import compose

    app = App(outdir=str(tmp_path))
    compose(
        app,
        parse_config(FULL, source="inline.toml", env_name="assets"),
        gateway_source=GATEWAY_SOURCE,
    )
    app.synth()
    packages = {
        frozenset(p.name for p in asset.iterdir())
        for asset in tmp_path.glob("asset.*")
        if (asset / "model_access_check").exists() or (asset / "invocation_logging").exists()
    }
    assert packages == {frozenset({"model_access_check"}), frozenset({"invocation_logging"})}
    for package in ("model_access_check", "invocation_logging"):
        (asset,) = [a for a in tmp_path.glob("asset.*") if (a / package).exists()]
        assert (asset / package / "handler.py").is_file()
