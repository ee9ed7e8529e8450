"""Pre-flight custom resource: strict fails the deployment, warn reports, Delete does nothing."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lambdas.model_access_check import handler
from lambdas.model_access_check.checks import ModelReport, Problem, ProblemCode
from lambdas.model_access_check.handler import PHYSICAL_ID, ModelAccessError, on_event
from lambdas.model_access_check.report import failure_reason, render, summary
from tests.preflight.stubs import (
    FORM,
    HAIKU,
    NOVA,
    SONNET,
    TERMS,
    expect_availability,
    expect_model,
    expect_ready,
    expect_use_case,
)


@pytest.fixture
def client() -> Any:
    return boto3.client("bedrock", region_name="us-east-1")


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def event(request: str = "Create", **properties: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "RequestType": request,
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:111122223333:function:provider",
            "ModelIds": [NOVA, HAIKU, SONNET],
            "AnthropicModelIds": [],
            "Mode": "warn",
            "AcceptOffers": "false",
            "UseCaseForm": "",
            **properties,
        },
    }
    if request != "Create":
        result["PhysicalResourceId"] = PHYSICAL_ID
    return result


def two_problems(stubber: Stubber) -> None:
    """NOVA is not offered in the region, HAIKU is LEGACY, SONNET is ready."""
    expect_availability(stubber, NOVA, regionAvailability="NOT_AVAILABLE")
    expect_availability(stubber, HAIKU)
    expect_model(stubber, HAIKU, "LEGACY")
    expect_ready(stubber, SONNET)


def test_strict_mode_fails_the_deployment_naming_every_model_and_fix(
    client: Any, stubber: Stubber
) -> None:
    two_problems(stubber)
    with pytest.raises(ModelAccessError) as caught:
        on_event(event(Mode="strict"), None, client=client)
    message = str(caught.value)
    assert "2 of 3 models not ready" in message
    assert f"NOT READY: {NOVA}\n  - region_not_available: model not offered in us-east-1" in (
        message
    )
    assert f"NOT READY: {HAIKU}\n  - legacy: model is LEGACY" in message
    assert SONNET not in message


def test_strict_mode_with_every_model_ready_succeeds(client: Any, stubber: Stubber) -> None:
    for model_id in (NOVA, HAIKU, SONNET):
        expect_ready(stubber, model_id)
    answer = on_event(event(Mode="strict"), None, client=client)
    assert answer == {
        "PhysicalResourceId": PHYSICAL_ID,
        "Data": {"Summary": "3 of 3 models ready", "ProblemCount": "0"},
    }


def test_warn_mode_deploys_returns_the_summary_and_logs_the_full_report(
    client: Any, stubber: Stubber, caplog: pytest.LogCaptureFixture
) -> None:
    two_problems(stubber)
    with caplog.at_level(logging.INFO, logger=handler.__name__):
        answer = on_event(event(Mode="warn"), None, client=client)
    assert answer == {
        "PhysicalResourceId": PHYSICAL_ID,
        "Data": {
            "Summary": f"1 of 3 models ready; not ready: {NOVA}, {HAIKU}",
            "ProblemCount": "2",
        },
    }
    assert "pick another region or remove it from models.enabled" in caplog.text
    assert "plan a replacement before end of life" in caplog.text


def test_update_runs_the_checks_again_and_keeps_the_physical_id(
    client: Any, stubber: Stubber
) -> None:
    two_problems(stubber)
    with pytest.raises(ModelAccessError):
        on_event(event("Update", Mode="strict"), None, client=client)
    for model_id in (NOVA, HAIKU, SONNET):
        expect_ready(stubber, model_id)
    assert on_event(event("Update"), None, client=client)["PhysicalResourceId"] == PHYSICAL_ID


def test_delete_calls_nothing_and_keeps_the_physical_id(
    client: Any, stubber: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_client(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("Delete must not create a client")

    monkeypatch.setattr(boto3, "client", no_client)
    # Stubber with nothing queued: any Bedrock call would fail the test too.
    assert on_event(event("Delete", Mode="strict"), None, client=client) == {
        "PhysicalResourceId": PHYSICAL_ID
    }
    assert on_event(event("Delete"), None) == {"PhysicalResourceId": PHYSICAL_ID}


def test_accept_offers_string_true_accepts_the_offer(client: Any, stubber: Stubber) -> None:
    expect_availability(stubber, NOVA, agreementAvailability={"status": "NOT_AVAILABLE"})
    stubber.add_response(
        "list_foundation_model_agreement_offers",
        {"modelId": NOVA, "offers": [{"offerToken": "tok", "termDetails": TERMS}]},
        {"modelId": NOVA, "offerType": "PUBLIC"},
    )
    stubber.add_response(
        "create_foundation_model_agreement",
        {"modelId": NOVA},
        {"modelId": NOVA, "offerToken": "tok"},
    )
    expect_model(stubber, NOVA)
    answer = on_event(event(ModelIds=[NOVA], AcceptOffers="true"), None, client=client)
    assert answer["Data"]["ProblemCount"] == "1"  # accepted, still pending: not ready yet


def test_use_case_form_is_submitted_and_never_logged_or_returned(
    client: Any, stubber: Stubber, caplog: pytest.LogCaptureFixture
) -> None:
    expect_use_case(stubber, submitted=False)
    stubber.add_response(
        "put_use_case_for_model_access", {}, {"formData": json.dumps(FORM).encode()}
    )
    expect_ready(stubber, HAIKU)
    properties: dict[str, Any] = {
        "ModelIds": [HAIKU],
        "AnthropicModelIds": [HAIKU],
        "UseCaseForm": json.dumps(FORM),
    }
    with caplog.at_level(logging.INFO):
        answer = on_event(event(**properties), None, client=client)
    assert answer["Data"] == {"Summary": "1 of 1 models ready", "ProblemCount": "0"}
    assert "first-time-use form submitted by this run" in caplog.text
    for key in ("companyName", "companyWebsite", "useCases"):
        assert FORM[key] not in caplog.text and FORM[key] not in json.dumps(answer)


def test_create_without_an_injected_client_uses_a_bedrock_client_from_boto3(
    client: Any, stubber: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[str] = []

    def fake_client(service: str, **_kwargs: object) -> Any:
        made.append(service)
        return client

    monkeypatch.setattr(boto3, "client", fake_client)
    expect_ready(stubber, NOVA)
    on_event(event(ModelIds=[NOVA]), None)
    assert made == ["bedrock"]


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"Mode": "off"}, "Mode must be one of strict, warn"),
        ({"AcceptOffers": "yes"}, 'AcceptOffers must be "true" or "false"'),
        ({"ModelIds": NOVA}, "ModelIds must be a list"),
        ({"UseCaseForm": "{not json"}, "UseCaseForm must be a JSON object"),
    ],
)
def test_malformed_properties_fail_with_a_clear_message(
    client: Any, stubber: Stubber, properties: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        on_event(event(**properties), None, client=client)


def many_reports(count: int) -> list[ModelReport]:
    fix = "the account is not authorized for this model: " + "x" * 200
    return [
        ModelReport(
            f"vendor.model-{n:02d}-v1:0",
            (Problem(ProblemCode.NOT_AUTHORIZED, fix), Problem(ProblemCode.LEGACY, fix)),
        )
        for n in range(count)
    ]


def test_a_long_failure_reason_is_truncated_but_still_names_every_model() -> None:
    reports = many_reports(20)
    reason = failure_reason(reports, region="eu-west-1")
    assert len(json.dumps(reason).encode()) <= 3300
    assert all(report.model_id in reason for report in reports)
    shown = reason.count("  - ")
    assert reason.endswith(f"... and {40 - shown} more (full report in the handler's log)")


def test_a_short_failure_reason_is_not_truncated() -> None:
    reason = failure_reason(many_reports(2), region="eu-west-1")
    assert reason.count("  - ") == 4 and "more (full report" not in reason


def test_render_lists_each_model_with_each_fix_and_summary_is_one_line() -> None:
    reports = [ModelReport(NOVA), *many_reports(1)]
    text = render(reports, region="us-west-2")
    assert text.splitlines()[:3] == [
        "Bedrock model access in us-west-2: 1 of 2 models ready; not ready: vendor.model-00-v1:0",
        f"ok: {NOVA}",
        "NOT READY: vendor.model-00-v1:0",
    ]
    assert text.count("  - not_authorized: the account is not authorized") == 1
    assert "\n" not in summary(many_reports(9))
    assert summary(many_reports(9)).endswith("vendor.model-04-v1:0 and 4 more")
