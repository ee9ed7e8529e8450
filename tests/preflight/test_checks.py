"""The model access pre-flight names every problem and its fix (Stubber: moto lacks these calls)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lambdas.model_access_check.checks import check_models
from lambdas.model_access_check.handler import ModelAccessError, on_event

NOVA = "amazon.nova-micro-v1:0"
TERMS = {"usageBasedPricingTerm": {"rateCard": []}, "legalTerm": {}, "supportTerm": {}}
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
READY = {
    "modelId": NOVA,
    "agreementAvailability": {"status": "AVAILABLE"},
    "authorizationStatus": "AUTHORIZED",
    "entitlementAvailability": "AVAILABLE",
    "regionAvailability": "AVAILABLE",
}


def model(model_id: str, status: str = "ACTIVE", **lifecycle: Any) -> dict[str, Any]:
    return {
        "modelDetails": {
            "modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{model_id}",
            "modelId": model_id,
            "modelLifecycle": {"status": status, **lifecycle},
        }
    }


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("bedrock", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def expect(
    stubber: Stubber,
    model_id: str,
    availability: dict[str, Any],
    details: dict[str, Any] | None = None,
) -> None:
    stubber.add_response(
        "get_foundation_model_availability",
        {**availability, "modelId": model_id},
        {"modelId": model_id},
    )
    if details is not None:
        stubber.add_response("get_foundation_model", details, {"modelIdentifier": model_id})


def codes(client: Any, model_id: str = NOVA, **kwargs: Any) -> list[str]:
    (report,) = check_models(client, [model_id], region="us-east-1", **kwargs)
    return [problem.code for problem in report.problems]


def test_a_ready_active_model_has_no_problem(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    expect(stubber, NOVA, READY, model(NOVA))
    assert codes(client) == []


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"regionAvailability": "NOT_AVAILABLE"}, "region_not_available"),
        ({"authorizationStatus": "NOT_AUTHORIZED"}, "not_authorized"),
        ({"agreementAvailability": {"status": "NOT_AVAILABLE"}}, "no_agreement"),
        ({"entitlementAvailability": "NOT_AVAILABLE"}, "no_agreement"),
        ({"agreementAvailability": {"status": "PENDING"}}, "agreement_pending"),
        (
            {"agreementAvailability": {"status": "ERROR", "errorMessage": "card declined"}},
            "agreement_error",
        ),
    ],
)
def test_every_availability_state_is_named_with_its_fix(
    stubbed: tuple[Any, Stubber], change: dict[str, Any], code: str
) -> None:
    client, stubber = stubbed
    expect(stubber, NOVA, {**READY, **change}, model(NOVA))
    assert codes(client) == [code]


def test_legacy_model_names_its_end_of_life(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    end = datetime(2026, 12, 31, tzinfo=UTC)
    expect(stubber, NOVA, READY, model(NOVA, "LEGACY", endOfLifeTime=end))
    (report,) = check_models(client, [NOVA], region="us-east-1")
    assert [p.code for p in report.problems] == ["legacy"]
    assert "2026-12-31" in report.problems[0].fix


def test_unknown_model_is_a_problem_not_a_crash(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "get_foundation_model_availability", "ValidationException", "no such model"
    )
    assert codes(client) == ["lookup_failed"]


def test_accept_offers_accepts_the_public_offer(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    expect(stubber, NOVA, {**READY, "agreementAvailability": {"status": "NOT_AVAILABLE"}})
    stubber.add_response(
        "list_foundation_model_agreement_offers",
        {
            "modelId": NOVA,
            "offers": [{"offerId": "o-1", "offerToken": "token-1", "termDetails": TERMS}],
        },
        {"modelId": NOVA, "offerType": "PUBLIC"},
    )
    stubber.add_response(
        "create_foundation_model_agreement",
        {"modelId": NOVA},
        {"modelId": NOVA, "offerToken": "token-1"},
    )
    stubber.add_response("get_foundation_model", model(NOVA), {"modelIdentifier": NOVA})
    assert codes(client, accept_offers=True) == ["agreement_pending"]


def test_missing_anthropic_form_is_reported_or_submitted_from_config(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "get_use_case_for_model_access", "ResourceNotFoundException", "never submitted"
    )
    expect(stubber, HAIKU, READY, model(HAIKU))
    assert codes(client, HAIKU, anthropic_model_ids=[HAIKU]) == ["anthropic_use_case_missing"]

    form = {
        "companyName": "Example",
        "companyWebsite": "https://example.com",
        "intendedUsers": "0",
        "useCases": "chat",
    }
    stubber.add_client_error(
        "get_use_case_for_model_access", "ResourceNotFoundException", "never submitted"
    )
    stubber.add_response(
        "put_use_case_for_model_access", {}, {"formData": json.dumps(form).encode()}
    )
    expect(stubber, HAIKU, READY, model(HAIKU))
    (report,) = check_models(
        client, [HAIKU], region="us-east-1", anthropic_model_ids=[HAIKU], use_case_form=form
    )
    assert report.ok and report.notes == ("Anthropic use-case form submitted by this run",)


def handler_event(mode: str) -> dict[str, Any]:
    return {
        "RequestType": "Create",
        "ResourceProperties": {
            "ModelIds": [NOVA, HAIKU],
            "AnthropicModelIds": [],
            "Mode": mode,
            "AcceptOffers": "false",
            "UseCaseForm": "",
        },
    }


def test_strict_mode_fails_the_deployment_naming_each_model(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    expect(stubber, NOVA, {**READY, "regionAvailability": "NOT_AVAILABLE"}, model(NOVA))
    expect(stubber, HAIKU, READY, model(HAIKU, "LEGACY"))
    with pytest.raises(ModelAccessError) as caught:
        on_event(handler_event("strict"), None, client)
    message = str(caught.value)
    assert NOVA in message and "region_not_available" in message
    assert HAIKU in message and "legacy" in message


def test_warn_mode_deploys_and_reports(
    stubbed: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = stubbed
    expect(stubber, NOVA, {**READY, "authorizationStatus": "NOT_AUTHORIZED"}, model(NOVA))
    expect(stubber, HAIKU, READY, model(HAIKU))
    answer = on_event(handler_event("warn"), None, client)
    assert answer["Data"] == {"Summary": "1 of 2 models ready", "ProblemCount": "1"}
    assert "not_authorized" in capsys.readouterr().out


def test_delete_calls_nothing(stubbed: tuple[Any, Stubber]) -> None:
    client, _ = stubbed
    answer = on_event(
        {"RequestType": "Delete", "PhysicalResourceId": "x", "ResourceProperties": {}}, None, client
    )
    assert answer == {"PhysicalResourceId": "x"}
