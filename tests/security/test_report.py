"""The reviewer's report is generated from the templates, complete, and committed up to date."""

from __future__ import annotations

import json

import pytest

from local.security_report import ENVIRONMENTS, build_report, report_path
from tests.infra.cfn import as_list, policy_statements
from tests.infra.conftest import Synthesized


@pytest.fixture(scope="module")
def report() -> str:
    return build_report("dev")


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_committed_report_matches_the_current_templates(env_name: str, report: str) -> None:
    current = report if env_name == "dev" else build_report(env_name)
    assert report_path(env_name).read_text(encoding="utf-8") == current, "run: make security-report"


def test_report_names_every_role_and_every_bedrock_action(report: str, dev: Synthesized) -> None:
    roles = [
        role["Properties"].get("Description")
        for template in dev.templates()
        for role in template.find_resources("AWS::IAM::Role").values()
    ]
    for description in filter(None, roles):
        assert description in report
    actions = {
        action
        for template in dev.templates()
        for statement in policy_statements(template.to_json())
        for action in as_list(statement["Action"])
        if action.startswith("bedrock:")
    }
    assert actions
    for action in actions:
        assert f"`{action}`" in report


def test_report_shows_names_of_environment_variables_never_values(
    report: str, dev: Synthesized
) -> None:
    for function in dev.service.find_resources("AWS::Lambda::Function").values():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        if "GATEWAY_ROUTING" in variables:
            assert "GATEWAY_ROUTING" in report
            assert variables["GATEWAY_ROUTING"] not in report
            assert (
                json.loads(variables["GATEWAY_ROUTING"])["enabled"][0] in report
            )  # via IAM, not env


def test_report_lists_every_acknowledgment_with_its_reason(report: str) -> None:
    assert (
        "### AwsSolutions" in report
        and "### NIST.800.53.R5" in report
        and "### HIPAA.Security" in report
    )
    assert "`AwsSolutions-IAM5[Resource::*]`" in report
    assert "dead-letter queue" in report


def test_rendering_is_deterministic(report: str) -> None:
    assert build_report("dev") == report
