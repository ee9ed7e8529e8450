"""[api.teams.NAME]: allowed models, monthly budgets, cost-allocation tags, inference profiles."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.config.helpers import HAIKU_45, NOVA, parse, problem

MODELS: dict[str, Any] = {
    "enabled": [NOVA, HAIKU_45],
    "aliases": {"fast": [NOVA, HAIKU_45]},
    "cross_region": "us",
}


def with_team(**team: Any) -> dict[str, Any]:
    return {"models": MODELS, "api": {"teams": {"search": team}}}


def test_a_team_without_lists_or_limits_may_use_everything_without_a_budget() -> None:
    config = parse(with_team())
    (team,) = config.api.teams
    assert (team.models, team.tags, team.budgeted) == ((), {}, False)
    policy = config.team_policies().policies["search"]
    assert (policy.aliases, policy.model_ids, policy.budget.limited) == (None, None, False)


def test_a_teams_list_is_expanded_to_the_models_behind_its_aliases() -> None:
    config = parse(with_team(models=["fast"]))
    policy = config.team_policies().policies["search"]
    assert policy.aliases == {"fast"}
    assert policy.model_ids == {NOVA, HAIKU_45}


def test_a_profile_id_in_a_teams_list_names_its_model() -> None:
    policy = parse(with_team(models=[f"us.{NOVA}"])).team_policies().policies["search"]
    assert (policy.aliases, policy.model_ids) == (frozenset(), {NOVA})


@pytest.mark.parametrize("name", ["amazon.titan-embed-text-v2:0", "balanced", "nova"])
def test_a_name_the_environment_does_not_serve_is_refused_in_one_line(name: str) -> None:
    assert problem(with_team(models=[name])) == (
        f"api.teams.search.models: {name!r} is neither an enabled model nor an alias of this "
        "environment"
    )


def test_budgets_are_exact_and_travel_to_the_gateway() -> None:
    config = parse(
        with_team(
            monthly_token_limit=5_000_000, monthly_cost_limit_usd=250.5, soft_limit_percent=90
        )
    )
    (team,) = config.api.teams
    assert team.budgeted
    budget = config.team_policies().policies["search"].budget
    assert budget.monthly_token_limit == 5_000_000
    assert budget.monthly_cost_limit_usd == Decimal("250.5")
    assert budget.soft_limit_percent == Decimal("90.0")
    assert '"monthly_cost_limit_usd":"250.5"' in config.gateway_routing_json()


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("monthly_token_limit", 0, "must be at least 1, got 0"),
        ("monthly_cost_limit_usd", 0.0, "must be at least 0.01, got 0.0"),
        ("soft_limit_percent", 120.0, "must be at most 100.0, got 120.0"),
        ("monthly_token_limit", "1M", "must be an integer, got '1M'"),
    ],
)
def test_a_bad_budget_names_the_team_and_the_key(key: str, value: object, message: str) -> None:
    assert problem(with_team(**{key: value})) == f"api.teams.search.{key}: {message}"


def test_cost_allocation_tags_follow_aws_tag_rules() -> None:
    (team,) = parse(with_team(tags={"cost-center": "CC-1234", "project": "search"})).api.teams
    assert team.tags == {"cost-center": "CC-1234", "project": "search"}
    assert "reserved" in problem(with_team(tags={"aws:createdBy": "me"}))
    assert "reserved" in problem(with_team(tags={"bedrock-kit:team": "other"}))
    assert problem(with_team(tags={"cost center!": "x"})).startswith("api.teams.search.tags")


def test_team_inference_profiles_need_api_keys() -> None:
    data = with_team()
    data["api"] |= {
        "team_inference_profiles": True,
        "auth": "iam",
        "iam_principals": ["arn:aws:iam::123456789012:role/app"],
    }
    assert problem(data) == (
        "api.team_inference_profiles: only with auth 'api_key' (SigV4 callers are not routed "
        "through team profiles)"
    )


def test_a_teams_stream_limit_travels_to_the_gateway() -> None:
    config = parse(with_team(max_concurrent_streams=3))
    assert config.team_policies().policies["search"].max_concurrent_streams == 3
    assert problem(with_team(max_concurrent_streams=0)) == (
        "api.teams.search.max_concurrent_streams: must be at least 1, got 0"
    )


def test_route_tables_are_only_for_an_existing_vpc() -> None:
    data = with_team()
    data["network"] = {"route_table_ids": ["rtb-0abc12345678def01"]}
    assert problem(data) == "network.route_table_ids: only allowed with mode 'existing'"


ROLE = "arn:aws:iam::123456789012:role/app"
IAM = {"auth": "iam", "iam_principals": [ROLE]}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("models", ["fast"]),
        ("monthly_token_limit", 1000),
        ("monthly_cost_limit_usd", 5.0),
        ("max_concurrent_streams", 2),
        ("tags", {"cost-center": "x"}),
    ],
)
def test_with_sigv4_a_teams_rules_need_the_principals_they_apply_to(
    key: str, value: object
) -> None:
    data = with_team(**{key: value})
    data["api"] |= IAM
    assert problem(data) == (
        f"api.teams.search.{key}: with auth 'iam' a team's rules apply to its iam_principals: "
        "list them"
    )
    data["api"]["teams"]["search"]["iam_principals"] = ["arn:aws:iam::123456789012:role/search"]
    parse(data)


def test_sigv4_teams_are_admitted_by_the_resource_policy_and_map_to_one_team_each() -> None:
    search = "arn:aws:iam::123456789012:role/search"
    data = with_team(iam_principals=[search], monthly_token_limit=10)
    data["api"] |= IAM
    config = parse(data)
    assert config.api.admitted_principals == (ROLE, search)
    assert config.team_policies().policies["search"].iam_principals == (search,)
    data["api"]["teams"]["other"] = {"iam_principals": [search]}
    assert problem(data) == (
        f"api.teams.other.iam_principals: {search} already belongs to team search"
    )


def test_team_principals_alone_satisfy_sigv4s_need_for_named_callers() -> None:
    data = with_team(iam_principals=[ROLE])
    data["api"]["auth"] = "iam"
    assert parse(data).api.admitted_principals == (ROLE,)


def test_team_principals_only_with_sigv4() -> None:
    assert problem(with_team(iam_principals=[ROLE])) == (
        "api.teams.search.iam_principals: only allowed with auth 'iam'"
    )


def test_an_existing_vpc_names_one_route_table_per_subnet() -> None:
    data = with_team()
    data["network"] = {
        "mode": "existing",
        "vpc_id": "vpc-0abc12345678def01",
        "vpc_cidr": "10.20.0.0/16",
        "subnet_ids": ["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"],
        "availability_zones": ["us-east-1a", "us-east-1b"],
        "route_table_ids": ["rtb-0abc12345678def01"],
    }
    assert problem(data) == (
        "network.route_table_ids: one route table id per subnet id, in the same order (or none)"
    )


def test_cors_needs_api_keys_and_real_origins() -> None:
    data = with_team()
    data["api"] |= {"cors_allowed_origins": ["https://app.example.com:8443", "*"]}
    assert parse(data).api.cors_allowed_origins == ("https://app.example.com:8443", "*")
    data["api"]["cors_allowed_origins"] = ["app.example.com"]
    assert problem(data).startswith("api.cors_allowed_origins: 'app.example.com' is not a browser")
    data["api"] |= {"cors_allowed_origins": ["https://app.example.com"], **IAM}
    assert problem(data).startswith("api.cors_allowed_origins: only with auth 'api_key'")
