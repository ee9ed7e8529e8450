"""[api]: who may call, WAF, the authorizer's concurrency, and the teams' share of the stage."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import ApiAuth, EndpointType, TeamConfig
from tests.config.helpers import MINIMAL, parse, problem, with_

PRINCIPAL = "arn:aws:iam::123456789012:role/search-service"
ORGANIZATION = "o-a1b2c3d4e5"


def test_new_api_keys_default_to_no_waf_no_reservation_and_no_account_role() -> None:
    api = parse(MINIMAL).api
    assert api.auth is ApiAuth.API_KEY
    assert api.waf is False
    assert api.waf_rate_limit_per_ip is None
    # The largest team plan's rate over WAF's 5-minute window: 10 rps by default.
    assert api.waf_limit_per_ip == 3000
    assert api.authorizer_reserved_concurrency == 0
    assert api.manage_account_logging_role is False
    assert (api.iam_principals, api.organization_id) == ((), None)


def test_api_auth_values_are_api_key_and_iam() -> None:
    assert [mode.value for mode in ApiAuth] == ["api_key", "iam"]


def test_waf_is_on_by_default_for_a_production_regional_api() -> None:
    data = with_("deployment", production=True)
    data["alarms"] = {"emails": ["oncall@corp.io"]}
    assert parse(data).api.waf is True


def test_waf_stays_off_by_default_for_a_production_private_api() -> None:
    data = with_("deployment", production=True)
    data["alarms"] = {"emails": ["oncall@corp.io"]}
    data["api"] = {"endpoint_type": "PRIVATE"}
    api = parse(data).api
    assert (api.endpoint_type, api.waf) == (EndpointType.PRIVATE, False)


def test_a_production_config_may_turn_waf_off_explicitly() -> None:
    data = with_("api", waf=False)
    data["deployment"] = {"production": True}
    data["alarms"] = {"emails": ["oncall@corp.io"]}
    assert parse(data).api.waf is False


def test_waf_on_a_private_api_is_refused() -> None:
    assert problem(with_("api", endpoint_type="PRIVATE", waf=True)) == (
        "api.waf: AWS WAF is offered here for REGIONAL APIs only"
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"waf_rate_limit_per_ip": 9}, "api.waf_rate_limit_per_ip: must be at least 10, got 9"),
        (
            {"waf_rate_limit_per_ip": 2_000_000_001},
            "api.waf_rate_limit_per_ip: must be at most 2000000000, got 2000000001",
        ),
        (
            {"authorizer_reserved_concurrency": -1},
            "api.authorizer_reserved_concurrency: must be at least 0, got -1",
        ),
        (
            {"authorizer_reserved_concurrency": 1001},
            "api.authorizer_reserved_concurrency: must be at most 1000, got 1001",
        ),
        (
            {"manage_account_logging_role": "yes"},
            "api.manage_account_logging_role: must be true or false, got 'yes'",
        ),
    ],
)
def test_new_api_numbers_and_switches_are_bounded(values: dict[str, Any], message: str) -> None:
    assert problem(with_("api", **values)) == message


def test_waf_rate_limit_and_authorizer_reservation_are_read() -> None:
    api = parse(with_("api", waf_rate_limit_per_ip=10, authorizer_reserved_concurrency=10)).api
    assert (api.waf_rate_limit_per_ip, api.authorizer_reserved_concurrency) == (10, 10)


# --- auth = "iam": who may call ---------------------------------------------------------------


def test_iam_auth_without_principals_or_organization_is_refused() -> None:
    line = problem(with_("api", auth="iam"))
    assert line.startswith("api.iam_principals: ")
    assert "api.iam_principals or api.organization_id" in line
    assert "SigV4 alone admits any AWS principal" in line


@pytest.mark.parametrize(
    "callers",
    [{"iam_principals": [PRINCIPAL]}, {"organization_id": ORGANIZATION}],
    ids=["principals", "organization"],
)
def test_iam_auth_accepts_principals_or_an_organization(callers: dict[str, Any]) -> None:
    api = parse(with_("api", auth="iam", **callers)).api
    assert api.auth is ApiAuth.IAM
    assert api.iam_principals == tuple(callers.get("iam_principals", ()))
    assert api.organization_id == callers.get("organization_id")


@pytest.mark.parametrize(
    "principal",
    [
        "arn:aws:iam::123456789012:root",
        "arn:aws:iam::123456789012:user/ci",
        "arn:aws-us-gov:iam::123456789012:role/path/app",
    ],
)
def test_iam_principals_are_account_role_or_user_arns(principal: str) -> None:
    assert parse(with_("api", auth="iam", iam_principals=[principal])).api.iam_principals == (
        principal,
    )


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"iam_principals": ["arn:aws:iam::123456789012:group/devs"]}, "api.iam_principals"),
        ({"iam_principals": ["*"]}, "api.iam_principals"),
        ({"organization_id": "o-short"}, "api.organization_id"),
    ],
)
def test_malformed_iam_callers_are_refused(values: dict[str, Any], key: str) -> None:
    assert problem(with_("api", auth="iam", **values)).startswith(f"{key}: ")


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"iam_principals": [PRINCIPAL]}, "api.iam_principals"),
        ({"organization_id": ORGANIZATION}, "api.organization_id"),
    ],
)
def test_iam_callers_are_refused_without_iam_auth(values: dict[str, Any], key: str) -> None:
    assert problem(with_("api", **values)) == f"{key}: only allowed with auth 'iam'"


# --- teams: usage plans under the stage throttle ---------------------------------------------


def test_without_teams_one_default_team_gets_the_api_limits() -> None:
    api = parse(with_("api", throttle_rate_limit=5, throttle_burst_limit=10)).api
    assert api.teams == (
        TeamConfig(
            name="default",
            throttle_rate_limit=5,
            throttle_burst_limit=10,
            quota_requests_per_day=10_000,
        ),
    )


def test_a_team_inherits_the_api_limits_it_does_not_set() -> None:
    api = parse(with_("api", teams={"search": {"quota_requests_per_day": 50}})).api
    (team,) = api.teams
    assert (team.name, team.throttle_rate_limit, team.throttle_burst_limit) == ("search", 10, 20)
    assert team.quota_requests_per_day == 50


def test_teams_that_share_the_stage_are_accepted_in_file_order() -> None:
    teams = {
        "search": {"throttle_rate_limit": 6, "throttle_burst_limit": 12},
        "chatbot": {"throttle_rate_limit": 4, "throttle_burst_limit": 8},
    }
    api = parse(with_("api", teams=teams)).api
    assert [team.name for team in api.teams] == ["search", "chatbot"]


@pytest.mark.parametrize("limit", ["throttle_rate_limit", "throttle_burst_limit"])
def test_a_team_limit_above_the_api_limit_is_refused_not_clamped(limit: str) -> None:
    line = problem(with_("api", teams={"search": {limit: 50}}))
    assert line.startswith(f"api.teams.search.{limit}: 50 is above api.{limit} ")


@pytest.mark.parametrize(
    ("chatbot", "limit", "message"),
    [
        (
            {"throttle_rate_limit": 4.5, "throttle_burst_limit": 8},
            "throttle_rate_limit",
            "10 is below the sum of the teams' throttle_rate_limit (10.5)",
        ),
        (
            {"throttle_rate_limit": 4, "throttle_burst_limit": 12},
            "throttle_burst_limit",
            "20 is below the sum of the teams' throttle_burst_limit (24)",
        ),
    ],
)
def test_teams_whose_limits_add_up_past_the_stage_are_refused(
    chatbot: dict[str, Any], limit: str, message: str
) -> None:
    search = {"throttle_rate_limit": 6, "throttle_burst_limit": 12}
    line = problem(with_("api", teams={"search": search, "chatbot": chatbot}))
    assert line.startswith(f"api.{limit}: {message}: ")
    assert "stage throttle must stay at or above the sum of the team plans" in line


def test_teams_that_inherit_the_stage_limit_overflow_it_together() -> None:
    line = problem(with_("api", teams={"search": {}, "chatbot": {}}))
    assert line.startswith("api.throttle_rate_limit: 10 is below the sum of the teams' ")


def test_a_bad_api_limit_is_reported_once_not_again_for_each_team() -> None:
    data = with_("api", throttle_rate_limit="fast", teams={"search": {}})
    assert problem(data) == "api.throttle_rate_limit: must be a number, got 'fast'"
