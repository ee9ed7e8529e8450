"""cdk-nag runs on every synthesis, and every acknowledgment is granular and reasoned."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Validations

from app import GATEWAY_SOURCE
from stacks import kit
from stacks.components import findings, reasons
from stacks.config import KitConfig
from tests.infra.conftest import Synthesized, project_app

CATALOGUE = {value for name, value in vars(reasons).items() if name.isupper()}


class _Unacknowledged:
    """Stands in for CDK's Validations: every acknowledgment is dropped."""

    @staticmethod
    def of(_construct: Any) -> Any:
        return _Unacknowledged()

    def acknowledge(self, *_args: Any) -> None:
        return None


def test_synthesis_fails_on_an_unacknowledged_finding(
    dev_config: KitConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the constructs' acknowledgments the same app must not synthesize.
    monkeypatch.setattr(findings, "Validations", _Unacknowledged)
    app = project_app()
    kit.compose(app, dev_config, gateway_source=GATEWAY_SOURCE)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()


def test_acknowledgments_name_one_finding_with_a_catalogued_reason(dev_config: KitConfig) -> None:
    app = project_app()
    stacks = kit.compose(app, dev_config, gateway_source=GATEWAY_SOURCE)
    acknowledged: list[tuple[str, str]] = []
    for stack in stacks.all():
        for construct in stack.node.find_all():
            for entry in construct.node.metadata:
                if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                    # CDK acknowledges some of its own cfn-lint rules; ours are cdk-nag's.
                    acknowledged += [
                        (k, v)
                        for k, v in entry.data.items()
                        if k.split("::")[0] in ("AwsSolutions", "NIST.800.53.R5", "HIPAA.Security")
                    ]
    assert len(acknowledged) >= 30
    for rule_id, reason in acknowledged:
        # IAM findings are granular: they name the exact resource or policy acknowledged.
        if "IAM5" in rule_id or "IAM4" in rule_id:
            assert "[" in rule_id, rule_id
        assert reason in CATALOGUE, (rule_id, reason)


def test_every_checkov_skip_names_one_check_and_gives_a_catalogued_reason(
    env: Synthesized,
) -> None:
    skips = [
        skip
        for template in env.templates()
        for resource in template.to_json()["Resources"].values()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for skip in skips:
        assert skip["id"].startswith("CKV_AWS_") and skip["comment"] in CATALOGUE, skip
