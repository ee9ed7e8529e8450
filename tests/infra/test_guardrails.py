"""Guardrails as code: the resources, their versions, and who may apply them."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Stack
from aws_cdk.assertions import Template

from local.cfn import render
from stacks.components.guardrails import Guardrails, GuardrailSettings, GuardrailVersions
from tests.infra.cfn import as_list, policy_statements
from tests.infra.conftest import Synthesized, project_app


def _one(template: Template, kind: str) -> dict[str, Any]:
    (resource,) = template.find_resources(kind).values()
    return dict(resource["Properties"])


def test_devs_guardrail_carries_every_policy_the_config_names(dev: Synthesized) -> None:
    properties = _one(dev.stateful, "AWS::Bedrock::Guardrail")
    assert properties["Name"] == "bedrock-kit-dev-standard"
    filters = {f["Type"]: f for f in properties["ContentPolicyConfig"]["FiltersConfig"]}
    assert set(filters) == {"HATE", "INSULTS", "SEXUAL", "VIOLENCE", "MISCONDUCT", "PROMPT_ATTACK"}
    # Prompt attacks are judged on prompts only.
    assert filters["PROMPT_ATTACK"]["OutputStrength"] == "NONE"
    (topic,) = properties["TopicPolicyConfig"]["TopicsConfig"]
    assert (topic["Name"], topic["Type"]) == ("investment-advice", "DENY")
    words = properties["WordPolicyConfig"]
    assert words["WordsConfig"] == [{"Text": "project nightingale"}]
    assert words["ManagedWordListsConfig"] == [{"Type": "PROFANITY"}]
    pii = {
        e["Type"]: e["Action"]
        for e in properties["SensitiveInformationPolicyConfig"]["PiiEntitiesConfig"]
    }
    assert pii == {
        "CREDIT_DEBIT_CARD_NUMBER": "BLOCK",
        "EMAIL": "ANONYMIZE",
        "PHONE": "ANONYMIZE",
        "US_SOCIAL_SECURITY_NUMBER": "BLOCK",
    }
    # Published in the Service stack, beside the functions that apply it (no export of it).
    assert dev.stateful.find_resources("AWS::Bedrock::GuardrailVersion") == {}
    version = _one(dev.service, "AWS::Bedrock::GuardrailVersion")
    assert "GuardrailId" in str(render(version["GuardrailIdentifier"]))


def test_the_gateway_may_apply_exactly_the_guardrails_and_knows_their_versions(
    dev: Synthesized,
) -> None:
    applying = [
        s
        for s in policy_statements(dev.service.to_json())
        if "bedrock:ApplyGuardrail" in as_list(s["Action"])
    ]
    (statement,) = applying
    assert statement["Action"] == "bedrock:ApplyGuardrail"
    assert "GuardrailArn" in json.dumps(statement["Resource"])
    functions = [
        f["Properties"]["Environment"]["Variables"]
        for f in dev.service.find_resources("AWS::Lambda::Function").values()
        if "VpcConfig" in f["Properties"]
    ]
    assert len(functions) == 2
    for variables in functions:
        ids = render(variables["GATEWAY_GUARDRAILS"])
        # The id is the Stateful stack's (stable); the version is this stack's own resource.
        assert '"standard":{"id":"${Import:' in ids
        assert '"version":"${GuardrailVersionsstandard' in ids
    endpoint = [
        e["Properties"]["PolicyDocument"]["Statement"]
        for e in dev.network.find_resources("AWS::EC2::VPCEndpoint").values()
        if str(render(e["Properties"]["ServiceName"])).endswith(".bedrock-runtime")
    ]
    (runtime,) = endpoint
    (apply,) = [s for s in runtime if s.get("Sid") == "ApplyTheGuardrails"]
    assert apply["Condition"] == {
        "StringEquals": {"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}}
    }


def _version_description(settings: GuardrailSettings) -> str:
    stack = Stack(project_app(), "Bare")
    guardrails = Guardrails(stack, "Guardrails", env_name="t", guardrails=[settings])
    GuardrailVersions(stack, "Versions", guardrails=guardrails)
    return str(_one(Template.from_stack(stack), "AWS::Bedrock::GuardrailVersion")["Description"])


def test_changed_settings_publish_a_new_version_and_unchanged_ones_do_not() -> None:
    base = GuardrailSettings(
        name="g", blocked_input_message="no", blocked_output_message="no", profanity=True
    )
    same = GuardrailSettings(
        name="g", blocked_input_message="no", blocked_output_message="no", profanity=True
    )
    changed = GuardrailSettings(
        name="g", blocked_input_message="no", blocked_output_message="no", blocked_words=("x",)
    )
    assert _version_description(base) == _version_description(same)
    assert _version_description(base) != _version_description(changed)


def test_an_environment_without_guardrails_grants_no_apply(prod: Synthesized) -> None:
    if prod.config.guardrails:
        assert prod.stateful.find_resources("AWS::Bedrock::Guardrail")
        return
    assert prod.stateful.find_resources("AWS::Bedrock::Guardrail") == {}
    assert not any(
        "bedrock:ApplyGuardrail" in as_list(s["Action"])
        for s in policy_statements(prod.service.to_json())
    )


def test_no_stack_imports_a_guardrail_version_a_change_would_replace(dev: Synthesized) -> None:
    # An export in use cannot change: the version must not cross stacks at all.
    imports = [
        str(value)
        for template in dev.templates()
        for value in _values(template.to_json(), "Fn::ImportValue")
    ]
    assert imports and not any("GuardrailVersion" in value for value in imports)


def _values(node: object, key: str) -> list[object]:
    """Every value of `key` anywhere in a template."""
    if isinstance(node, dict):
        found = [node[key]] if key in node else []
        return found + [v for child in node.values() for v in _values(child, key)]
    if isinstance(node, list):
        return [v for child in node for v in _values(child, key)]
    return []
