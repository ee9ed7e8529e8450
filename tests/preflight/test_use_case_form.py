"""Anthropic's use-case form comes from an SSM SecureString; errors name the parameter only."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.parsers import ResponseParserError
from botocore.stub import Stubber

from lambdas.model_access_check.use_case_form import (
    UseCaseFormError,
    parse_use_case_form,
    read_use_case_form,
)
from tests.preflight.stubs import (
    FORM,
    USE_CASE_PARAMETER,
    expect_form_parameter,
    expect_form_parameter_error,
)


@pytest.fixture
def ssm() -> Any:
    return boto3.client("ssm", region_name="us-east-1")


@pytest.fixture
def stubber(ssm: Any) -> Iterator[Stubber]:
    with Stubber(ssm) as stub:
        yield stub
        stub.assert_no_pending_responses()


def assert_no_value_in(message: str) -> None:
    assert not [value for value in FORM.values() if len(value) > 3 and value in message]


def test_a_secure_string_holding_the_form_is_returned_as_a_dict(ssm: Any, stubber: Stubber) -> None:
    expect_form_parameter(stubber)
    assert read_use_case_form(ssm, USE_CASE_PARAMETER) == FORM


def test_empty_optional_fields_are_dropped_and_the_order_kept() -> None:
    text = json.dumps({**FORM, "industryOption": "", "otherIndustryOption": "Retail"})
    form = parse_use_case_form(text, parameter="p")
    assert list(form) == [*FORM, "otherIndustryOption"]


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        pytest.param(
            json.dumps(FORM)[:-1], "does not hold JSON: it must be a JSON object", id="not-json"
        ),
        pytest.param(json.dumps(list(FORM.values())), "not a list", id="a-list"),
        pytest.param(
            json.dumps({**FORM, "intendedUsers": 0}), "values are all strings", id="a-number"
        ),
        pytest.param(
            json.dumps({**FORM, FORM["useCases"]: "x"}),
            "has 1 key(s) the form does not know",
            id="unknown-key",
        ),
        pytest.param(
            json.dumps({**FORM, "companyWebsite": " "}),
            "needs companyName, companyWebsite, intendedUsers, useCases; missing or empty: "
            "companyWebsite",
            id="blank-required",
        ),
    ],
)
def test_an_invalid_form_names_the_parameter_and_never_a_value(
    ssm: Any, stubber: Stubber, stored: str, message: str
) -> None:
    expect_form_parameter(stubber, stored)
    with pytest.raises(UseCaseFormError) as caught:
        read_use_case_form(ssm, USE_CASE_PARAMETER)
    text = str(caught.value)
    assert message in text, text
    assert text.startswith(
        f"SSM parameter {USE_CASE_PARAMETER!r} (access_check.anthropic_use_case_parameter)"
    )
    assert_no_value_in(text)
    # Nothing chained either: a JSONDecodeError would carry the whole document.
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__


def test_a_plain_string_parameter_is_refused(ssm: Any, stubber: Stubber) -> None:
    expect_form_parameter(stubber, kind="String")
    with pytest.raises(UseCaseFormError, match="is a String parameter") as caught:
        read_use_case_form(ssm, USE_CASE_PARAMETER)
    assert "--type SecureString" in str(caught.value)
    assert_no_value_in(str(caught.value))


@pytest.mark.parametrize(
    ("code", "fix"),
    [
        ("ParameterNotFound", "not found in us-east-1: create it as a SecureString"),
        ("AccessDeniedException", "grant ssm:GetParameter on it"),
        ("InvalidKeyId", "cannot be decrypted (InvalidKeyId)"),
        ("InternalServerError", "failed (InternalServerError): retry"),
    ],
)
def test_a_parameter_that_cannot_be_read_names_it_and_the_fix(
    ssm: Any, stubber: Stubber, code: str, fix: str
) -> None:
    expect_form_parameter_error(stubber, code)
    with pytest.raises(UseCaseFormError, match=re.escape(fix)) as caught:
        read_use_case_form(ssm, USE_CASE_PARAMETER)
    assert USE_CASE_PARAMETER in str(caught.value)


def test_refused_credentials_are_raised_as_they_are(ssm: Any, stubber: Stubber) -> None:
    expect_form_parameter_error(stubber, "ExpiredTokenException")
    with pytest.raises(ClientError):
        read_use_case_form(ssm, USE_CASE_PARAMETER)


class Failing:
    """An SSM client whose GetParameter raises `error`."""

    def __init__(self, error: Exception) -> None:
        self.meta = SimpleNamespace(region_name="eu-west-1")
        self.error = error

    def get_parameter(self, **_kwargs: object) -> Any:
        raise self.error


def test_an_unreachable_endpoint_names_it_and_the_route_needed() -> None:
    error = EndpointConnectionError(endpoint_url="https://ssm.eu-west-1.amazonaws.com/")
    with pytest.raises(UseCaseFormError, match="cannot reach the SSM endpoint in eu-west-1"):
        read_use_case_form(Failing(error), USE_CASE_PARAMETER)


def test_an_unparsable_answer_is_not_quoted() -> None:
    # botocore's parser errors quote the raw answer, which holds the decrypted value.
    error = ResponseParserError(f"invalid JSON received: {json.dumps(FORM)}")
    with pytest.raises(UseCaseFormError, match="was unreadable: retry") as caught:
        read_use_case_form(Failing(error), USE_CASE_PARAMETER)
    assert_no_value_in(str(caught.value))
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
