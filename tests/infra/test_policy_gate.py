"""Review gate: every policy in every synthesized template, parsed and checked.

Fails on a wildcard action, a wildcard resource on any Bedrock action, a Bedrock ARN that
does not belong to a model enabled in the environment's config, an ARN that can match nothing
(':*:' once log-group ARNs are resolved), a security group without an explicit egress list,
an interface endpoint without an account-scoped policy, a service principal trusted without a
source condition, or a stack importing another's export by a hand-written name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from stacks.components.control_plane_access import (
    ACCOUNT_LEVEL_BEDROCK_ACTIONS,
    MARKETPLACE_ACTIONS,
)
from tests.infra.cfn import as_list, render
from tests.infra.conftest import Synthesized

BEDROCK_RESOURCE = re.compile(r"(foundation-model|inference-profile)/[^/]+$")
ACCOUNT_LEVEL = {*ACCOUNT_LEVEL_BEDROCK_ACTIONS, *MARKETPLACE_ACTIONS}
POLICY_PROPERTIES = ("PolicyDocument", "AssumeRolePolicyDocument", "KeyPolicy", "Policy")


def all_statements(env: Synthesized) -> Iterator[tuple[str, dict[str, Any]]]:
    """(resource type, statement) for identity, trust, key, endpoint and resource policies."""
    for template in env.templates():
        for resource in template.to_json()["Resources"].values():
            properties = resource.get("Properties", {})
            documents = [
                properties[p] for p in POLICY_PROPERTIES if isinstance(properties.get(p), dict)
            ]
            documents += [p["PolicyDocument"] for p in properties.get("Policies", [])]
            for document in documents:
                for statement in as_list(render(document).get("Statement", [])):
                    yield resource["Type"], statement


def allowed_bedrock_suffixes(env: Synthesized) -> set[str]:
    geography = env.config.models.cross_region
    suffixes = set()
    for spec in env.config.models.specs():
        suffixes.add(f"foundation-model/{spec.model_id}")
        if geography is not None and geography in spec.profile_geographies:
            suffixes.add(f"inference-profile/{geography.value}.{spec.model_id}")
    return suffixes


def test_no_policy_grants_a_wildcard_action(env: Synthesized) -> None:
    checked = 0
    for resource_type, statement in all_statements(env):
        if statement.get("Effect") != "Allow" or resource_type == "AWS::KMS::Key":
            continue  # the key policy's account-root statement is KMS's documented default
        for action in as_list(statement.get("Action", [])):
            checked += 1
            assert action != "*" and not action.endswith(":*"), (resource_type, statement)
    assert checked > 20


def test_bedrock_actions_never_have_a_wildcard_resource(env: Synthesized) -> None:
    bedrock = [
        s
        for _, s in all_statements(env)
        if any(str(a).startswith("bedrock:") for a in as_list(s.get("Action", [])))
    ]
    assert bedrock, "the gateway role and the endpoint policy must grant Bedrock access"
    for statement in bedrock:
        resources = as_list(statement["Resource"])
        if resources == ["*"]:
            # Only account-level settings, whose actions take no resource ARN, and only those.
            assert set(as_list(statement["Action"])) <= ACCOUNT_LEVEL, statement
            continue
        for resource in resources:
            assert "*" not in resource, statement


def test_every_bedrock_arn_belongs_to_an_enabled_model(env: Synthesized) -> None:
    allowed = allowed_bedrock_suffixes(env)
    seen: set[str] = set()
    for _, statement in all_statements(env):
        for resource in as_list(statement.get("Resource", [])):
            if ":bedrock:" in str(resource):
                match = BEDROCK_RESOURCE.search(str(resource))
                assert match is not None, resource
                suffix = match.group(0)
                assert suffix in allowed, resource
                seen.add(suffix)
    # And nothing enabled is missing: the allow-list is exactly the config's.
    assert seen == allowed


# What CloudFormation returns for a log group's Arn attribute: the group ARN plus ':*'.
LOG_GROUP_ARN = "arn:aws:logs:us-west-2:123456789012:log-group:{name}:*"
TOKEN = re.compile(r"\$\{([^}]*)\}")


def log_group_ids(env: Synthesized) -> set[str]:
    """Logical ids of every log group of the environment."""
    return {
        logical_id
        for template in env.templates()
        for logical_id, resource in template.to_json()["Resources"].items()
        if resource["Type"] == "AWS::Logs::LogGroup"
    }


def resolve_log_group_arns(rendered: str, groups: set[str]) -> str:
    """Replace references to a log group's Arn attribute (direct or imported) by its value."""

    def value(match: re.Match[str]) -> str:
        token = match.group(1)
        for group in groups:
            if token == f"{group}.Arn" or (
                token.startswith("Import:") and f"GetAtt{group}Arn" in token
            ):
                return LOG_GROUP_ARN.format(name=group)
        return match.group(0)

    return TOKEN.sub(value, rendered)


def test_the_resolver_catches_a_stream_arn_built_on_the_group_arn() -> None:
    # The shape that broke prod's invocation logging: GetAtt Arn + ":log-stream:...".
    broken = render({"Fn::Join": ["", [{"Fn::GetAtt": ["Group", "Arn"]}, ":log-stream:s"]]})
    assert ":*:" in resolve_log_group_arns(broken, {"Group"})


def test_no_arn_in_any_policy_holds_a_wildcard_segment_that_matches_nothing(
    env: Synthesized,
) -> None:
    groups = log_group_ids(env)
    checked = 0
    for _, statement in all_statements(env):
        for key in ("Resource", "NotResource"):
            for resource in as_list(statement.get(key, [])):
                resolved = resolve_log_group_arns(str(resource), groups)
                checked += 1
                assert ":*:" not in resolved, (resource, resolved)
    assert checked > 20


def test_every_security_group_lists_its_egress_explicitly(env: Synthesized) -> None:
    # Without an inline egress list EC2 adds allow-all egress, whatever separate rules say.
    groups = [
        resource
        for template in env.templates()
        for resource in template.to_json()["Resources"].values()
        if resource["Type"] == "AWS::EC2::SecurityGroup"
    ]
    assert groups
    for group in groups:
        egress = group["Properties"].get("SecurityGroupEgress")
        assert egress, group["Properties"]["GroupDescription"]
        for rule in egress:
            assert rule.get("CidrIp") != "0.0.0.0/0", group["Properties"]["GroupDescription"]


def test_every_interface_endpoint_has_a_policy_scoped_to_this_account(env: Synthesized) -> None:
    endpoints = env.network.find_resources("AWS::EC2::VPCEndpoint")
    assert endpoints
    for logical_id, endpoint in endpoints.items():
        document = endpoint["Properties"].get("PolicyDocument")
        assert document, f"{logical_id} has no endpoint policy"
        for statement in as_list(render(document)["Statement"]):
            principal_account = (
                statement.get("Condition", {}).get("StringEquals", {}).get("aws:PrincipalAccount")
            )
            resources = as_list(statement["Resource"])
            # API-key callers of a private API are anonymous: the resource names the account.
            account_resources = all(":${AWS::AccountId}:" in r for r in resources)
            assert principal_account == "${AWS::AccountId}" or account_resources, (
                logical_id,
                statement,
            )


# AWS documents no source condition for CloudWatch alarms using a topic's key; that key
# protects only the alarm topic (stacks/components/gateway_monitoring.py).
UNCONDITIONED_SERVICES = {"cloudwatch.amazonaws.com"}


def test_every_service_principal_in_a_key_or_trust_policy_has_a_source_condition(
    env: Synthesized,
) -> None:
    checked = 0
    for resource_type, statement in all_statements(env):
        if resource_type not in ("AWS::KMS::Key", "AWS::IAM::Role"):
            continue
        services = as_list(statement.get("Principal", {}).get("Service", []))
        # Lambda's own service role trust and the logs statement (scoped by its encryption
        # context) are the documented forms.
        for service in services:
            if service == "lambda.amazonaws.com" or service in UNCONDITIONED_SERVICES:
                continue
            checked += 1
            assert statement.get("Condition"), (resource_type, statement)
    assert checked >= 2


def test_stacks_share_values_only_through_references_cdk_generates(env: Synthesized) -> None:
    for template in env.templates():
        text = json.dumps(template.to_json())
        for name in re.findall(r'"Fn::ImportValue": "([^"]+)"', text):
            assert ":ExportsOutput" in name, name


# IAM counts policy characters without whitespace: a managed policy holds 6,144, and all
# inline policies of one role together 10,240 (IAM user guide, "IAM and AWS STS quotas").
MANAGED_POLICY_LIMIT = 6_144
ROLE_INLINE_LIMIT = 10_240
# Deploy-time values, at their longest: what a template's references become.
LONGEST = {
    "${AWS::Partition}": "aws-us-gov",
    "${AWS::Region}": "ap-southeast-4",
    "${AWS::AccountId}": "123456789012",
}
REFERENCE_LENGTH = 120  # an imported or resource ARN


def resolved_size(document: dict[str, Any]) -> int:
    """Characters IAM counts once CloudFormation resolved the document's references."""
    text = json.dumps(render(document), separators=(",", ":"))
    for token, value in LONGEST.items():
        text = text.replace(token, value)
    return len(TOKEN.sub("x" * REFERENCE_LENGTH, text))


def test_every_policy_fits_iams_size_limits_once_resolved(env: Synthesized) -> None:
    inline_by_role: dict[str, int] = {}
    for template in env.templates():
        for logical_id, resource in template.to_json()["Resources"].items():
            properties = resource.get("Properties", {})
            if resource["Type"] == "AWS::IAM::ManagedPolicy":
                size = resolved_size(properties["PolicyDocument"])
                assert size <= MANAGED_POLICY_LIMIT, (logical_id, size)
            elif resource["Type"] == "AWS::IAM::Policy":
                for role in properties.get("Roles", []):
                    name = str(render(role))
                    size = resolved_size(properties["PolicyDocument"])
                    inline_by_role[name] = inline_by_role.get(name, 0) + size
    assert inline_by_role
    for role, size in inline_by_role.items():
        assert size <= ROLE_INLINE_LIMIT, (role, size)


# The teams' tables are read and counted item by item; nothing lists, scans or deletes them.
DYNAMODB_ITEM_ACTIONS = {"dynamodb:GetItem", "dynamodb:UpdateItem"}


def test_dynamodb_access_is_item_level_on_the_kits_own_tables(env: Synthesized) -> None:
    tables = set(env.stateful.find_resources("AWS::DynamoDB::Table"))
    checked = 0
    for _, statement in all_statements(env):
        actions = [a for a in as_list(statement.get("Action", [])) if a.startswith("dynamodb:")]
        if not actions:
            continue
        checked += 1
        assert set(actions) <= DYNAMODB_ITEM_ACTIONS, statement
        for resource in as_list(statement["Resource"]):
            assert "*" not in resource, statement
            assert any(f"GetAtt{table}Arn" in resource for table in tables), statement
    # The authorizer's role, the gateway's role and the DynamoDB endpoint's policy.
    assert checked >= 3
