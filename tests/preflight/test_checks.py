"""The model access pre-flight names every problem and its fix (botocore Stubber)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from lambdas.model_access_check.checks import ModelReport, Problem, ProblemCode, check_models
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
        # Every queued answer was asked for, and (Stubber's default) nothing else was called.
        stub.assert_no_pending_responses()


def only_report(client: Any, model_id: str = NOVA, **kwargs: Any) -> ModelReport:
    (report,) = check_models(client, [model_id], **kwargs)
    return report


def codes(report: ModelReport) -> list[ProblemCode]:
    return [problem.code for problem in report.problems]


def test_a_ready_active_model_is_ok_with_no_problem(client: Any, stubber: Stubber) -> None:
    expect_ready(stubber, NOVA)
    report = only_report(client)
    assert report.ok and report.problems == () and report.model_id == NOVA


def test_reports_come_back_one_per_model_in_order(client: Any, stubber: Stubber) -> None:
    expect_ready(stubber, SONNET)
    expect_ready(stubber, NOVA)
    assert [r.model_id for r in check_models(client, [SONNET, NOVA])] == [SONNET, NOVA]


def test_a_report_with_a_problem_is_never_ok() -> None:
    assert not ModelReport(NOVA, (Problem(ProblemCode.LEGACY, "move"),)).ok
    assert ModelReport(NOVA).ok


@pytest.mark.parametrize(
    ("changes", "code", "fix_words"),
    [
        (
            {"authorizationStatus": "NOT_AUTHORIZED"},
            ProblemCode.NOT_AUTHORIZED,
            ["deploying role lacks", "SCP or IAM deny"],
        ),
        (
            {"agreementAvailability": {"status": "NOT_AVAILABLE"}},
            ProblemCode.MARKETPLACE_ACCESS_MISSING,
            [
                "aws-marketplace:Subscribe",
                "aws-marketplace:ViewSubscriptions",
                "access_check.accept_offers = true",
            ],
        ),
        (
            {"agreementAvailability": {"status": "PENDING"}},
            ProblemCode.AGREEMENT_PENDING,
            ["subscription in progress", "15 minutes"],
        ),
        (
            {"agreementAvailability": {"status": "ERROR", "errorMessage": "payment declined"}},
            ProblemCode.AGREEMENT_ERROR,
            ["payment declined"],
        ),
    ],
)
def test_each_availability_state_is_named_with_its_fix(
    client: Any,
    stubber: Stubber,
    changes: dict[str, Any],
    code: ProblemCode,
    fix_words: list[str],
) -> None:
    expect_availability(stubber, NOVA, **changes)
    expect_model(stubber, NOVA)
    report = only_report(client)
    assert codes(report) == [code] and not report.ok
    assert all(word in report.problems[0].fix for word in fix_words)


def test_missing_entitlement_alone_asks_for_marketplace_permissions_not_an_offer(
    client: Any, stubber: Stubber
) -> None:
    expect_availability(stubber, NOVA, entitlementAvailability="NOT_AVAILABLE")
    expect_model(stubber, NOVA)
    (problem,) = only_report(client).problems
    assert problem.code is ProblemCode.MARKETPLACE_ACCESS_MISSING
    assert "aws-marketplace:Subscribe" in problem.fix and "accept_offers" not in problem.fix


def test_missing_agreement_and_entitlement_make_one_problem_not_two(
    client: Any, stubber: Stubber
) -> None:
    expect_availability(
        stubber,
        NOVA,
        agreementAvailability={"status": "NOT_AVAILABLE"},
        entitlementAvailability="NOT_AVAILABLE",
    )
    expect_model(stubber, NOVA)
    assert codes(only_report(client)) == [ProblemCode.MARKETPLACE_ACCESS_MISSING]


def test_pending_subscription_is_not_also_reported_as_missing_entitlement(
    client: Any, stubber: Stubber
) -> None:
    expect_availability(
        stubber,
        NOVA,
        agreementAvailability={"status": "PENDING"},
        entitlementAvailability="NOT_AVAILABLE",
    )
    expect_model(stubber, NOVA)
    assert codes(only_report(client)) == [ProblemCode.AGREEMENT_PENDING]


def test_independent_problems_are_all_reported(client: Any, stubber: Stubber) -> None:
    expect_availability(
        stubber,
        NOVA,
        authorizationStatus="NOT_AUTHORIZED",
        agreementAvailability={"status": "NOT_AVAILABLE"},
    )
    expect_model(stubber, NOVA, "LEGACY")
    assert codes(only_report(client)) == [
        ProblemCode.NOT_AUTHORIZED,
        ProblemCode.MARKETPLACE_ACCESS_MISSING,
        ProblemCode.LEGACY,
    ]


def test_a_model_not_offered_in_the_region_gets_only_that_fix_and_no_more_calls(
    client: Any, stubber: Stubber
) -> None:
    # Other flags are NOT_AVAILABLE too, and no GetFoundationModel answer is queued: Stubber
    # fails the test if the check asks for one (or for an offer).
    expect_use_case(stubber, submitted=False)
    expect_availability(
        stubber,
        HAIKU,
        regionAvailability="NOT_AVAILABLE",
        entitlementAvailability="NOT_AVAILABLE",
        agreementAvailability={"status": "NOT_AVAILABLE"},
    )
    (report,) = check_models(client, [HAIKU], anthropic_model_ids={HAIKU}, accept_offers=True)
    (problem,) = report.problems
    assert problem.code is ProblemCode.REGION_NOT_AVAILABLE
    assert problem.fix == (
        "model not offered in us-east-1: pick another region or remove it from models.enabled"
    )


def test_legacy_model_names_its_dates(client: Any, stubber: Stubber) -> None:
    expect_availability(stubber, NOVA)
    expect_model(
        stubber,
        NOVA,
        "LEGACY",
        legacyTime=datetime(2026, 1, 15, tzinfo=UTC),
        publicExtendedAccessTime=datetime(2026, 7, 1, tzinfo=UTC),
        endOfLifeTime=datetime(2027, 1, 15, tzinfo=UTC),
    )
    (problem,) = only_report(client).problems
    assert problem.code is ProblemCode.LEGACY
    assert "model is LEGACY since 2026-01-15" in problem.fix
    assert "new customers cannot use it" in problem.fix
    assert "before end of life on 2027-01-15" in problem.fix
    assert "public extended access at higher prices from 2026-07-01" in problem.fix


def test_legacy_model_without_dates_says_the_date_is_not_published(
    client: Any, stubber: Stubber
) -> None:
    expect_availability(stubber, NOVA)
    expect_model(stubber, NOVA, "LEGACY")
    (problem,) = only_report(client).problems
    assert "plan a replacement before end of life (date not published)" in problem.fix


@pytest.mark.parametrize("error", ["ValidationException", "ResourceNotFoundException"])
def test_a_model_bedrock_does_not_know_is_a_problem_not_a_crash(
    client: Any, stubber: Stubber, error: str
) -> None:
    stubber.add_client_error("get_foundation_model_availability", error, "model not found")
    expect_ready(stubber, SONNET)
    unknown, ready = check_models(client, ["vendor.made-up-v9:0", SONNET])
    assert codes(unknown) == [ProblemCode.MODEL_UNKNOWN]
    assert f"in us-east-1 ({error})" in unknown.problems[0].fix
    assert ready.ok


def test_access_denied_on_a_read_names_the_missing_permission(
    client: Any, stubber: Stubber
) -> None:
    stubber.add_client_error(
        "get_foundation_model_availability", "AccessDeniedException", "no", http_status_code=403
    )
    (problem,) = only_report(client).problems
    assert problem.code is ProblemCode.CHECK_FAILED
    assert "bedrock:GetFoundationModelAvailability" in problem.fix


def test_a_failed_lifecycle_read_keeps_the_availability_findings(
    client: Any, stubber: Stubber
) -> None:
    expect_availability(stubber, NOVA, authorizationStatus="NOT_AUTHORIZED")
    stubber.add_client_error("get_foundation_model", "ThrottlingException", "slow down", 429)
    report = only_report(client)
    assert codes(report) == [ProblemCode.NOT_AUTHORIZED, ProblemCode.CHECK_FAILED]
    assert "ThrottlingException to GetFoundationModel" in report.problems[1].fix


def test_invalid_credentials_are_raised_not_reported_per_model(
    client: Any, stubber: Stubber
) -> None:
    stubber.add_client_error(
        "get_foundation_model_availability", "ExpiredTokenException", "expired", 403
    )
    with pytest.raises(ClientError):
        check_models(client, [NOVA])


def offers(stubber: Stubber, model_id: str, *tokens: str) -> None:
    stubber.add_response(
        "list_foundation_model_agreement_offers",
        {
            "modelId": model_id,
            "offers": [
                {"offerId": f"offer-{n}", "offerToken": token, "termDetails": TERMS}
                for n, token in enumerate(tokens)
            ],
        },
        {"modelId": model_id, "offerType": "PUBLIC"},
    )


def test_accept_offers_accepts_the_first_public_offer_and_reports_it_pending(
    client: Any, stubber: Stubber
) -> None:
    expect_availability(stubber, NOVA, agreementAvailability={"status": "NOT_AVAILABLE"})
    offers(stubber, NOVA, "token-first", "token-second")
    stubber.add_response(
        "create_foundation_model_agreement",
        {"modelId": NOVA},
        {"modelId": NOVA, "offerToken": "token-first"},
    )
    expect_model(stubber, NOVA)
    report = only_report(client, accept_offers=True)
    (problem,) = report.problems
    assert problem.code is ProblemCode.OFFER_ACCEPTED and not report.ok
    assert problem.fix.startswith("offer accepted, subscription pending")


def test_without_accept_offers_no_offer_is_listed_or_accepted(
    client: Any, stubber: Stubber
) -> None:
    # No offer answers queued: any call to them would fail the test.
    expect_availability(stubber, NOVA, agreementAvailability={"status": "NOT_AVAILABLE"})
    expect_model(stubber, NOVA)
    assert codes(only_report(client)) == [ProblemCode.MARKETPLACE_ACCESS_MISSING]


def test_accept_offers_leaves_a_model_with_an_agreement_alone(
    client: Any, stubber: Stubber
) -> None:
    expect_ready(stubber, NOVA)
    assert only_report(client, accept_offers=True).ok


def test_no_public_offer_is_reported(client: Any, stubber: Stubber) -> None:
    expect_availability(stubber, NOVA, agreementAvailability={"status": "NOT_AVAILABLE"})
    offers(stubber, NOVA)
    expect_model(stubber, NOVA)
    (problem,) = only_report(client, accept_offers=True).problems
    assert problem.code is ProblemCode.OFFER_NOT_ACCEPTED
    assert "no public offer" in problem.fix


def test_a_refused_agreement_names_the_marketplace_permissions(
    client: Any, stubber: Stubber
) -> None:
    expect_availability(stubber, NOVA, agreementAvailability={"status": "NOT_AVAILABLE"})
    offers(stubber, NOVA, "token-1")
    stubber.add_client_error(
        "create_foundation_model_agreement", "AccessDeniedException", "denied", 403
    )
    expect_model(stubber, NOVA)
    (problem,) = only_report(client, accept_offers=True).problems
    assert problem.code is ProblemCode.OFFER_NOT_ACCEPTED
    assert "(AccessDeniedException)" in problem.fix and "aws-marketplace:Subscribe" in problem.fix


def test_missing_anthropic_form_is_reported_on_anthropic_models_only_read_once(
    client: Any, stubber: Stubber
) -> None:
    expect_use_case(stubber, submitted=False)  # queued once: a second read would fail
    expect_ready(stubber, HAIKU)
    expect_ready(stubber, NOVA)
    expect_ready(stubber, SONNET)
    haiku, nova, sonnet = check_models(
        client, [HAIKU, NOVA, SONNET], anthropic_model_ids={HAIKU, SONNET}
    )
    for report in (haiku, sonnet):
        (problem,) = report.problems
        assert problem.code is ProblemCode.ANTHROPIC_USE_CASE_MISSING
        assert problem.fix == (
            "submit the Anthropic first-time-use form: put it in an SSM SecureString and name "
            "that in access_check.anthropic_use_case_parameter, or use the console"
        )
    assert nova.ok


def test_submitted_anthropic_form_is_no_problem(client: Any, stubber: Stubber) -> None:
    expect_use_case(stubber, submitted=True)
    expect_ready(stubber, HAIKU)
    assert only_report(client, HAIKU, anthropic_model_ids={HAIKU}).ok


def test_the_form_is_not_read_when_no_anthropic_model_is_checked(
    client: Any, stubber: Stubber
) -> None:
    expect_ready(stubber, NOVA)
    assert only_report(client, NOVA, anthropic_model_ids={HAIKU}).ok


def test_missing_form_is_submitted_once(client: Any, stubber: Stubber) -> None:
    expect_use_case(stubber, submitted=False)
    stubber.add_response(
        "put_use_case_for_model_access", {}, {"formData": json.dumps(FORM).encode()}
    )
    expect_ready(stubber, HAIKU)
    expect_ready(stubber, SONNET)
    reports = check_models(
        client, [HAIKU, SONNET], anthropic_model_ids={HAIKU, SONNET}, use_case_form=FORM
    )
    assert all(report.ok for report in reports)
    assert reports[0].notes == ("Anthropic first-time-use form submitted by this run",)


def test_a_form_already_submitted_is_not_submitted_again(client: Any, stubber: Stubber) -> None:
    expect_use_case(stubber, submitted=True)
    expect_ready(stubber, HAIKU)
    report = only_report(client, HAIKU, anthropic_model_ids={HAIKU}, use_case_form=FORM)
    assert report.ok and report.notes == ()


def test_a_refused_form_is_reported_without_echoing_its_contents(
    client: Any, stubber: Stubber
) -> None:
    expect_use_case(stubber, submitted=False)
    stubber.add_client_error(
        "put_use_case_for_model_access",
        "ValidationException",
        f"bad companyName {FORM['companyName']}",
    )
    expect_ready(stubber, HAIKU)
    (problem,) = only_report(
        client, HAIKU, anthropic_model_ids={HAIKU}, use_case_form=FORM
    ).problems
    assert problem.code is ProblemCode.ANTHROPIC_USE_CASE_MISSING
    assert "(ValidationException)" in problem.fix
    assert "access_check.anthropic_use_case_parameter" in problem.fix
    assert FORM["companyName"] not in problem.fix


def test_an_unreadable_form_state_names_the_permission(client: Any, stubber: Stubber) -> None:
    stubber.add_client_error(
        "get_use_case_for_model_access", "AccessDeniedException", "denied", 403
    )
    expect_ready(stubber, HAIKU)
    (problem,) = only_report(client, HAIKU, anthropic_model_ids={HAIKU}).problems
    assert problem.code is ProblemCode.ANTHROPIC_USE_CASE_UNKNOWN
    assert "bedrock:GetUseCaseForModelAccess" in problem.fix
