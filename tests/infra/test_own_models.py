"""Own models in the stacks: exactly their ARNs and endpoints, through private endpoints."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from local.cfn import render
from stacks.config import parse_config
from tests.gateway.test_own_models import CONFIG, PROVISIONED
from tests.infra.cfn import as_list, policy_statements
from tests.infra.conftest import Synthesized, synthesize

ENDPOINT = "Support-Llama"


@pytest.fixture(scope="module")
def kit() -> Synthesized:
    """Two own models (a SageMaker endpoint, a Provisioned Throughput), under the nag packs."""
    data: dict[str, Any] = json.loads(json.dumps(CONFIG))
    data["models"]["declared"]["acme.support-llama-v1"]["sagemaker_endpoint"] = ENDPOINT
    data.update(
        {
            "deployment": {"region": "us-east-1"},
            "network": {"availability_zones": ["us-east-1a", "us-east-1b"]},
            "access_check": {"mode": "strict"},
        }
    )
    return synthesize(parse_config(data, source="own.toml", env_name="own"))


def test_the_templates_pass_cfn_lint(kit: Synthesized) -> None:
    for template in kit.templates():
        problems = lint(
            json.dumps(template.to_json()), config=ManualArgs(ignore_checks=["W3005", "W3010"])
        )
        assert not problems, [str(p) for p in problems]


def test_the_gateway_invokes_exactly_the_own_endpoint_and_arn(kit: Synthesized) -> None:
    statements = {
        s["Sid"]: s for s in render(list(policy_statements(kit.service.to_json()))) if "Sid" in s
    }
    sagemaker = statements["InvokeOwnModelEndpoints"]
    assert sagemaker["Action"] == "sagemaker:InvokeEndpoint"
    # As named and as SageMaker writes its ARNs (lower case).
    assert sagemaker["Resource"] == [
        f"arn:${{AWS::Partition}}:sagemaker:${{AWS::Region}}:${{AWS::AccountId}}:endpoint/{ENDPOINT}",
        "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:endpoint/support-llama",
    ]
    assert PROVISIONED in as_list(statements["InvokeEnabledModels"]["Resource"])


def test_a_sagemaker_runtime_endpoint_admits_the_same_for_this_account(kit: Synthesized) -> None:
    (endpoint,) = [
        e["Properties"]
        for e in kit.network.find_resources("AWS::EC2::VPCEndpoint").values()
        if str(render(e["Properties"]["ServiceName"])).endswith("sagemaker.runtime")
    ]
    assert endpoint["PrivateDnsEnabled"] is True
    (statement,) = render(endpoint["PolicyDocument"]["Statement"])
    assert statement["Action"] == "sagemaker:InvokeEndpoint"
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalAccount": "${AWS::AccountId}"}}


def test_the_deploy_time_access_check_reads_foundation_models_only(kit: Synthesized) -> None:
    assert kit.governance is not None
    (check,) = [
        r["Properties"]
        for r in kit.governance.find_resources("AWS::CloudFormation::CustomResource").values()
        if "ModelIds" in r["Properties"]
    ] or [
        r["Properties"]
        for r in kit.governance.to_json()["Resources"].values()
        if "ModelIds" in r.get("Properties", {})
    ]
    assert check["ModelIds"] == ["amazon.nova-micro-v1:0"]
