"""Model access pre-flight and invocation logging as custom resources, least privilege each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stacks.config import parse_config
from tests.infra.cfn import as_list, render
from tests.infra.conftest import Synthesized, synthesize

HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA = "amazon.nova-micro-v1:0"
HAIKU_PRODUCT = "prod-xdkflymybwmvi"  # Bedrock user guide, "Product IDs for Amazon Bedrock models"
PARAMETER = "/bedrock-kit/anthropic-use-case"
FULL: dict[str, Any] = {
    "models": {"enabled": [NOVA, HAIKU], "cross_region": "us"},
    "access_check": {
        "mode": "strict",
        "accept_offers": True,
        "marketplace_product_ids": [HAIKU_PRODUCT],
        "anthropic_use_case_parameter": PARAMETER,
    },
    "invocation_logging": {
        "enabled": True,
        "on_existing": "replace",
        "image": True,
        "cloudwatch": True,
    },
}


@pytest.fixture(scope="module")
def full() -> Synthesized:
    """Every governance switch on, under the three nag packs."""
    return synthesize(parse_config(FULL, source="inline.toml", env_name="gov"))


def custom_resource(env: Synthesized, prefix: str) -> dict[str, Any]:
    assert env.governance is not None
    (resource,) = [
        r
        for k, r in env.governance.find_resources("AWS::CloudFormation::CustomResource").items()
        if k.startswith(prefix)
    ]
    return resource


def role_statements(env: Synthesized, role_prefix: str) -> dict[str, dict[str, Any]]:
    """The statements of one handler role's policy, by Sid."""
    assert env.governance is not None
    statements: dict[str, dict[str, Any]] = {}
    for policy in env.governance.find_resources("AWS::IAM::Policy").values():
        (role,) = policy["Properties"]["Roles"]
        if role["Ref"].startswith(role_prefix):
            for statement in render(policy["Properties"]["PolicyDocument"])["Statement"]:
                statements[statement.get("Sid", "(grant)")] = statement
    return statements


def actions(statements: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    return {sid: sorted(as_list(s["Action"])) for sid, s in statements.items()}


def test_dev_runs_the_access_check_in_warn_mode_without_invocation_logging(
    dev: Synthesized,
) -> None:
    properties = custom_resource(dev, "ModelAccessCheck")["Properties"]
    assert properties["ModelIds"] == list(dev.config.models.enabled)
    assert properties["Mode"] == "warn" and properties["AcceptOffers"] == "false"
    anthropic = [m for m in dev.config.models.enabled if m.startswith("anthropic.")]
    assert properties["AnthropicModelIds"] == anthropic
    assert properties["UseCaseFormParameter"] == ""
    # No invocation-log bucket: the stateful stack's buckets are the knowledge base's alone.
    buckets = dev.stateful.find_resources("AWS::S3::Bucket")
    assert all("KnowledgeBases" in logical_id for logical_id in buckets), list(buckets)


def test_access_check_role_may_only_read_unless_config_allows_more(dev: Synthesized) -> None:
    granted = actions(role_statements(dev, "ModelAccessCheckRole"))
    assert granted["ReadEnabledModels"] == ["bedrock:GetFoundationModel"]
    assert granted["ReadModelAccessState"] == [
        "bedrock:GetFoundationModelAvailability",
        "bedrock:GetUseCaseForModelAccess",
    ]
    assert granted["ManageVpcNetworkInterfaces"] == sorted(
        [
            "ec2:AssignPrivateIpAddresses",
            "ec2:CreateNetworkInterface",
            "ec2:DeleteNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:UnassignPrivateIpAddresses",
        ]
    )
    assert granted["(grant)"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert len(granted) == 4


def test_accepting_offers_subscribes_only_to_the_named_products(full: Synthesized) -> None:
    statements = role_statements(full, "ModelAccessCheckRole")
    assert actions(statements)["AcceptPublicOffers"] == [
        "bedrock:CreateFoundationModelAgreement",
        "bedrock:ListFoundationModelAgreementOffers",
    ]
    subscribe = statements["SubscribeToNamedProducts"]
    assert as_list(subscribe["Action"]) == ["aws-marketplace:Subscribe"]
    assert subscribe["Condition"] == {
        "ForAnyValue:StringEquals": {"aws-marketplace:ProductId": [HAIKU_PRODUCT]}
    }
    assert as_list(statements["ViewSubscriptions"]["Action"]) == [
        "aws-marketplace:ViewSubscriptions"
    ]


def test_the_use_case_form_is_read_from_its_parameter_never_carried_in_the_template(
    full: Synthesized,
) -> None:
    properties = custom_resource(full, "ModelAccessCheck")["Properties"]
    assert properties["UseCaseFormParameter"] == PARAMETER
    assert "UseCaseForm" not in properties
    statements = role_statements(full, "ModelAccessCheckRole")
    assert statements["ReadAnthropicUseCaseForm"]["Resource"] == (
        "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/"
        "bedrock-kit/anthropic-use-case"
    )
    assert as_list(statements["SubmitAnthropicUseCase"]["Action"]) == [
        "bedrock:PutUseCaseForModelAccess"
    ]
    endpoints = full.network.find_resources("AWS::EC2::VPCEndpoint").values()
    (ssm,) = [e for e in endpoints if str(render(e["Properties"]["ServiceName"])).endswith(".ssm")]
    (statement,) = render(ssm["Properties"]["PolicyDocument"])["Statement"]
    assert statement["Action"] == "ssm:GetParameter"
    assert statement["Resource"] == statements["ReadAnthropicUseCaseForm"]["Resource"]


def test_logging_custom_resource_waits_for_its_destinations_and_passes_only_its_role(
    full: Synthesized,
) -> None:
    resource = custom_resource(full, "InvocationLogging")
    depends = " ".join(resource.get("DependsOn", []))
    # Cross-stack dependencies become stack ordering: the store is in Stateful.
    assert depends == "" or "InvocationLogs" not in depends
    config = json.loads(render(resource["Properties"]["LoggingConfig"]))
    assert config["textDataDeliveryEnabled"] is True and config["imageDataDeliveryEnabled"] is True
    assert config["embeddingDataDeliveryEnabled"] is False
    assert config["s3Config"]["keyPrefix"] == "bedrock-invocations"
    assert "cloudWatchConfig" in config
    assert resource["Properties"]["OnExisting"] == "replace"
    statements = role_statements(full, "InvocationLoggingRole")
    assert actions(statements)["ManageInvocationLoggingConfiguration"] == [
        "bedrock:DeleteModelInvocationLoggingConfiguration",
        "bedrock:GetModelInvocationLoggingConfiguration",
        "bedrock:PutModelInvocationLoggingConfiguration",
    ]
    passing = statements["PassDeliveryRoleToBedrock"]
    assert passing["Condition"] == {
        "StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}
    }
    assert "DeliveryRole" in passing["Resource"]


def test_governance_stack_deploys_after_the_store_it_configures(full: Synthesized) -> None:
    manifest = json.loads((full.outdir / "manifest.json").read_text())
    dependencies = manifest["artifacts"]["BedrockKit-gov-Governance"]["dependencies"]
    assert "BedrockKit-gov-Stateful" in dependencies


def test_control_plane_endpoint_admits_only_the_handlers_actions(full: Synthesized) -> None:
    endpoints = full.network.find_resources("AWS::EC2::VPCEndpoint").values()
    (control,) = [
        e for e in endpoints if str(render(e["Properties"]["ServiceName"])).endswith(".bedrock")
    ]
    endpoint_actions = {
        a
        for s in render(control["Properties"]["PolicyDocument"])["Statement"]
        for a in as_list(s["Action"])
    }
    role_actions = {
        a
        for prefix in ("ModelAccessCheckRole", "InvocationLoggingRole")
        for s in role_statements(full, prefix).values()
        for a in as_list(s["Action"])
        if a.startswith("bedrock:")
    }
    # One derivation: the endpoint admits exactly what the handlers' roles hold.
    assert endpoint_actions == role_actions


def test_dev_endpoint_admits_no_action_dev_does_not_use(dev: Synthesized) -> None:
    endpoints = dev.network.find_resources("AWS::EC2::VPCEndpoint").values()
    (control,) = [
        e for e in endpoints if str(render(e["Properties"]["ServiceName"])).endswith(".bedrock")
    ]
    endpoint_actions = {
        a
        for s in render(control["Properties"]["PolicyDocument"])["Statement"]
        for a in as_list(s["Action"])
    }
    assert endpoint_actions == {
        "bedrock:GetFoundationModel",
        "bedrock:GetFoundationModelAvailability",
        "bedrock:GetUseCaseForModelAccess",
    }


def test_deploy_time_handlers_reserve_no_concurrency(full: Synthesized) -> None:
    assert full.governance is not None
    for function in full.governance.find_resources("AWS::Lambda::Function").values():
        assert "ReservedConcurrentExecutions" not in function["Properties"]


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


def test_handler_assets_hold_only_their_package(full: Synthesized) -> None:
    outdir: Path = full.outdir
    packages = {
        frozenset(p.name for p in asset.iterdir())
        for asset in outdir.glob("asset.*")
        if (asset / "model_access_check").exists() or (asset / "invocation_logging").exists()
    }
    assert packages == {frozenset({"model_access_check"}), frozenset({"invocation_logging"})}
    for package in ("model_access_check", "invocation_logging"):
        (asset,) = [a for a in outdir.glob("asset.*") if (a / package).exists()]
        assert (asset / package / "handler.py").is_file()


def test_a_strict_access_check_deploys_before_the_service_it_gates(
    prod: Synthesized, dev: Synthesized
) -> None:
    def service_dependencies(env: Synthesized) -> list[str]:
        manifest = json.loads((env.outdir / "manifest.json").read_text())
        name = f"BedrockKit-{env.config.env_name}-Service"
        return list(manifest["artifacts"][name]["dependencies"])

    assert prod.config.access_check.mode.value == "strict"
    assert "BedrockKit-prod-Governance" in service_dependencies(prod)
    # dev only warns: its service does not wait for the check.
    assert "BedrockKit-dev-Governance" not in service_dependencies(dev)
