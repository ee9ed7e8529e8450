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
    USE_CASE_PARAMETER,
    expect_availability,
    expect_form_parameter,
    expect_form_parameter_error,
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


@pytest.fixture
def ssm() -> Any:
    return boto3.client("ssm", region_name="us-east-1")


@pytest.fixture
def ssm_stubber(ssm: Any) -> Iterator[Stubber]:
    with Stubber(ssm) as stub:
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
            "UseCaseFormParameter": "",
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


def anthropic_event(**properties: Any) -> dict[str, Any]:
    """A Create for HAIKU alone whose form lives in the SSM parameter USE_CASE_PARAMETER."""
    defaults = {"UseCaseFormParameter": USE_CASE_PARAMETER}
    return event(ModelIds=[HAIKU], AnthropicModelIds=[HAIKU], **{**defaults, **properties})


def test_the_form_is_read_from_its_ssm_parameter_and_submitted(
    client: Any, stubber: Stubber, ssm: Any, ssm_stubber: Stubber
) -> None:
    expect_form_parameter(ssm_stubber)
    expect_use_case(stubber, submitted=False)
    stubber.add_response(
        "put_use_case_for_model_access", {}, {"formData": json.dumps(FORM).encode()}
    )
    expect_ready(stubber, HAIKU)
    answer = on_event(anthropic_event(), None, client=client, ssm=ssm)
    assert answer["Data"] == {"Summary": "1 of 1 models ready", "ProblemCount": "0"}


def test_no_parameter_named_reads_nothing_from_ssm(
    client: Any, stubber: Stubber, ssm: Any, ssm_stubber: Stubber
) -> None:
    # ssm_stubber has nothing queued: any SSM call would fail the test.
    expect_use_case(stubber, submitted=False)
    expect_ready(stubber, HAIKU)
    answer = on_event(anthropic_event(UseCaseFormParameter=""), None, client=client, ssm=ssm)
    assert answer["Data"]["ProblemCount"] == "1"


def values(form: dict[str, str]) -> list[str]:
    return [value for value in form.values() if len(value) > 3]


def messages(error: BaseException | None) -> list[str]:
    """The message of `error` and of every exception chained to it."""
    found = []
    while error is not None:
        found.append(str(error))
        error = error.__cause__ or error.__context__
    return found


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param(json.dumps(FORM), id="valid"),
        pytest.param(json.dumps(FORM)[:-2], id="not-json"),
        pytest.param(json.dumps(list(FORM.values())), id="not-an-object"),
        pytest.param(json.dumps({**FORM, "intendedUsers": 0}), id="a-number"),
        pytest.param(json.dumps({**FORM, FORM["companyName"]: "x"}), id="unknown-key"),
        pytest.param(json.dumps({"companyName": FORM["companyName"]}), id="incomplete"),
    ],
)
@pytest.mark.parametrize("refused", [False, True], ids=["accepted", "refused-by-bedrock"])
def test_the_forms_values_never_reach_a_log_record_or_an_exception(
    client: Any,
    stubber: Stubber,
    ssm: Any,
    ssm_stubber: Stubber,
    caplog: pytest.LogCaptureFixture,
    stored: str,
    refused: bool,
) -> None:
    expect_form_parameter(ssm_stubber, stored)
    valid = stored == json.dumps(FORM)
    if valid:
        expect_use_case(stubber, submitted=False)
        if refused:
            # Bedrock's message echoes the form: it must not travel any further.
            stubber.add_client_error(
                "put_use_case_for_model_access",
                "ValidationException",
                f"bad form {json.dumps(FORM)}",
            )
        else:
            stubber.add_response(
                "put_use_case_for_model_access", {}, {"formData": json.dumps(FORM).encode()}
            )
        expect_ready(stubber, HAIKU)
    raised: BaseException | None = None
    answer: dict[str, Any] = {}
    with caplog.at_level(logging.DEBUG):
        try:
            answer = on_event(anthropic_event(Mode="strict"), None, client=client, ssm=ssm)
        except Exception as error:  # noqa: BLE001 - every outcome is inspected below
            raised = error
    assert (raised is None) is (valid and not refused)
    if raised is not None and not valid:
        assert USE_CASE_PARAMETER in str(raised)
    written = [caplog.text, json.dumps(answer), *messages(raised)]
    for record in caplog.records:
        written += [record.getMessage(), str(record.exc_text or "")]
    for value in values(FORM):
        assert not [text for text in written if value in text], value


def test_a_missing_parameter_fails_naming_it_before_any_bedrock_call(
    client: Any, stubber: Stubber, ssm: Any, ssm_stubber: Stubber
) -> None:
    expect_form_parameter_error(ssm_stubber, "ParameterNotFound")
    with pytest.raises(ValueError, match="not found in us-east-1") as caught:
        on_event(anthropic_event(Mode="warn"), None, client=client, ssm=ssm)
    message = str(caught.value)
    assert f"SSM parameter {USE_CASE_PARAMETER!r}" in message
    assert "access_check.anthropic_use_case_parameter" in message
    assert "create it as a SecureString" in message


def test_a_parameter_the_role_may_not_read_fails_naming_it_and_the_permission(
    client: Any, stubber: Stubber, ssm: Any, ssm_stubber: Stubber
) -> None:
    expect_form_parameter_error(ssm_stubber, "AccessDeniedException", 400)
    with pytest.raises(ValueError, match="ssm:GetParameter") as caught:
        on_event(anthropic_event(), None, client=client, ssm=ssm)
    assert USE_CASE_PARAMETER in str(caught.value)
    assert "kms:Decrypt" in str(caught.value)


def test_the_retired_use_case_form_property_is_never_read(
    client: Any, stubber: Stubber, caplog: pytest.LogCaptureFixture
) -> None:
    expect_use_case(stubber, submitted=False)
    expect_ready(stubber, HAIKU)
    properties = {"UseCaseForm": json.dumps(FORM), "UseCaseFormParameter": ""}
    with caplog.at_level(logging.INFO):
        answer = on_event(
            event(ModelIds=[HAIKU], AnthropicModelIds=[HAIKU], **properties), None, client=client
        )
    # Not submitted (no put_use_case_for_model_access was queued): the form is still missing.
    assert answer["Data"]["ProblemCount"] == "1"
    assert "UseCaseForm is no longer read" in caplog.text
    assert not [value for value in values(FORM) if value in caplog.text]


def test_a_named_parameter_without_an_injected_client_uses_an_ssm_client_from_boto3(
    client: Any, stubber: Stubber, ssm: Any, ssm_stubber: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[str] = []

    def fake_client(service: str, **_kwargs: object) -> Any:
        made.append(service)
        return {"ssm": ssm, "bedrock": client}[service]

    monkeypatch.setattr(boto3, "client", fake_client)
    expect_form_parameter(ssm_stubber)
    expect_use_case(stubber, submitted=True)
    expect_ready(stubber, HAIKU)
    on_event(anthropic_event(), None)
    assert made == ["ssm", "bedrock"]


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
        ({"UseCaseFormParameter": 7}, "UseCaseFormParameter must be an SSM parameter name"),
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
