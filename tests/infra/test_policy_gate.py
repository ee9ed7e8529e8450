"""Review gate: every policy in every synthesized template, parsed and checked.

Fails on a wildcard action, a wildcard resource on any Bedrock action, or a Bedrock ARN that
does not belong to a model enabled in the environment's config.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from stacks.governance_stack import ACCOUNT_LEVEL_BEDROCK_ACTIONS
from tests.infra.cfn import as_list, render
from tests.infra.conftest import Synthesized

BEDROCK_RESOURCE = re.compile(r"(foundation-model|inference-profile)/[^/]+$")
ACCOUNT_LEVEL = {
    *ACCOUNT_LEVEL_BEDROCK_ACTIONS,
    "aws-marketplace:Subscribe",
    "aws-marketplace:ViewSubscriptions",
}
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
