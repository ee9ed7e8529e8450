"""Helpers to read synthesized CloudFormation: render intrinsic functions as readable strings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from local.cfn import render


def as_list(value: Any) -> list[Any]:
    """Return `value` as a list (IAM allows a single string where a list is meant)."""
    return value if isinstance(value, list) else [value]


def statements(template_json: dict[str, Any], resource_type: str) -> Iterator[dict[str, Any]]:
    """Yield the rendered policy statements of every resource of `resource_type`."""
    for resource in template_json["Resources"].values():
        if resource["Type"] != resource_type:
            continue
        properties = resource["Properties"]
        document = properties.get("PolicyDocument")
        if document is not None:
            yield from (render(s) for s in as_list(document["Statement"]))


POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")


def policy_statements(template_json: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield the statements of every identity policy: inline, managed and role-embedded."""
    for resource_type in POLICY_TYPES:
        yield from statements(template_json, resource_type)
    for resource in template_json["Resources"].values():
        if resource["Type"] == "AWS::IAM::Role":
            for policy in resource["Properties"].get("Policies", []):
                yield from (render(s) for s in as_list(policy["PolicyDocument"]["Statement"]))
