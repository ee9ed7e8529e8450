"""Team application inference profiles: names, sources, tags, the gateway's map, IAM access."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from lambdas.gateway.catalog import Geography
from local.cfn import render
from model_catalog import all_models
from model_catalog.geographies import DESTINATIONS
from stacks.components.model_access import ModelAccess
from stacks.components.team_profiles import (
    ProfileSource,
    TeamInferenceProfiles,
    TeamProfileSet,
    profile_name,
)
from tests.infra.cfn import as_list, policy_statements
from tests.infra.conftest import project_app

NOVA = "amazon.nova-micro-v1:0"
SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0"
DIRECT = ProfileSource(NOVA, NOVA, geography=None)
GEOGRAPHIC = ProfileSource(SONNET, f"us.{SONNET}", geography=Geography.US)
GLOBAL = ProfileSource(SONNET, f"global.{SONNET}", geography=Geography.GLOBAL)
NAME = re.compile(r"^([0-9a-zA-Z][ _-]?)+$")
DESCRIPTION = re.compile(r"^([0-9a-zA-Z:.][ _-]?)+$")
FM = "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/"
SYSTEM = "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:inference-profile/"


def build(
    teams: list[TeamProfileSet], env_name: str = "dev", **kwargs: Any
) -> tuple[Stack, TeamInferenceProfiles]:
    stack = Stack(project_app(), "Bare")
    return stack, TeamInferenceProfiles(stack, "Teams", env_name=env_name, teams=teams, **kwargs)


def two_teams() -> list[TeamProfileSet]:
    return [
        TeamProfileSet("alpha", {"cost-center": "cc-42"}, (DIRECT, GEOGRAPHIC)),
        TeamProfileSet("beta", {}, (GEOGRAPHIC,)),
    ]


def profiles_by_tags(stack: Stack) -> dict[tuple[str, str], dict[str, Any]]:
    """Each profile's properties by (team tag, description's model)."""
    found = Template.from_stack(stack).find_resources("AWS::Bedrock::ApplicationInferenceProfile")
    result = {}
    for resource in found.values():
        properties = resource["Properties"]
        tags = {t["Key"]: t["Value"] for t in properties["Tags"]}
        model = properties["Description"].rsplit(" ", 1)[-1]
        result[tags["bedrock-kit:team"], model] = properties
    return result


def test_one_profile_per_team_and_model_copies_the_model_or_its_system_profile() -> None:
    stack, _ = build(two_teams())
    profiles = profiles_by_tags(stack)
    assert set(profiles) == {("alpha", NOVA), ("alpha", SONNET), ("beta", SONNET)}
    copy_from = {key: render(p["ModelSource"]["CopyFrom"]) for key, p in profiles.items()}
    assert copy_from[("alpha", NOVA)] == f"{FM}{NOVA}"
    system = (
        "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:"
        f"inference-profile/us.{SONNET}"
    )
    assert copy_from[("alpha", SONNET)] == copy_from[("beta", SONNET)] == system


def test_profiles_carry_the_teams_cost_tags_and_the_kits_own() -> None:
    stack, _ = build(two_teams())
    tags = {
        key: {t["Key"]: t["Value"] for t in p["Tags"]} for key, p in profiles_by_tags(stack).items()
    }
    assert tags[("alpha", NOVA)] == {
        "cost-center": "cc-42",
        "bedrock-kit:team": "alpha",
        "bedrock-kit:environment": "dev",
    }
    assert tags[("beta", SONNET)] == {"bedrock-kit:team": "beta", "bedrock-kit:environment": "dev"}


def test_names_are_unique_deterministic_and_within_cloudformations_limits() -> None:
    long_env, long_team = "e" * 40, "a-very-long-team-name-of-32-char"
    stack, _ = build([TeamProfileSet(long_team, {}, (DIRECT, GEOGRAPHIC))], env_name=long_env)
    profiles = profiles_by_tags(stack).values()
    names = [p["InferenceProfileName"] for p in profiles]
    assert len(set(names)) == 2
    for profile in profiles:
        assert len(profile["InferenceProfileName"]) <= 64
        assert NAME.match(profile["InferenceProfileName"])
        assert len(profile["Description"]) <= 200
        assert DESCRIPTION.match(profile["Description"])
        assert long_team in profile["Description"]
    again, _ = build([TeamProfileSet(long_team, {}, (DIRECT, GEOGRAPHIC))], env_name=long_env)
    assert sorted(names) == sorted(
        p["InferenceProfileName"] for p in profiles_by_tags(again).values()
    )


def test_a_changed_source_gets_a_new_name_so_its_replacement_can_be_created_first() -> None:
    assert profile_name("dev", "alpha", GEOGRAPHIC) != profile_name("dev", "alpha", GLOBAL)
    assert profile_name("dev", "alpha", GEOGRAPHIC) != profile_name("prod", "alpha", GEOGRAPHIC)
    assert profile_name("dev", "alpha", GEOGRAPHIC).startswith("bedrock-kit-dev-alpha-")


def test_names_drop_characters_cloudformation_refuses() -> None:
    name = profile_name("dev.eu--1", "team", DIRECT)
    assert NAME.match(name)
    assert name.startswith("bedrock-kit-dev-eu-1-team-")


def test_profiles_json_maps_each_team_and_model_to_its_profile_id_under_one_prefix() -> None:
    stack, profiles = build(two_teams())
    rendered = render(stack.resolve(profiles.profiles_json()))
    assert " " not in rendered  # compact: the gateway's environment is small
    document = json.loads(rendered)
    assert document["prefix"] == (
        "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:"
        "application-inference-profile/"
    )
    ids = {
        team: {
            model: re.sub(r"^\$\{(\w+)\.InferenceProfileId\}$", r"\1", v) for model, v in m.items()
        }
        for team, m in document["teams"].items()
    }
    resources = Template.from_stack(stack).find_resources(
        "AWS::Bedrock::ApplicationInferenceProfile"
    )
    by_key = {
        (
            {t["Key"]: t["Value"] for t in r["Properties"]["Tags"]}["bedrock-kit:team"],
            r["Properties"]["Description"].rsplit(" ", 1)[-1],
        ): logical_id
        for logical_id, r in resources.items()
    }
    assert ids == {
        "alpha": {NOVA: by_key["alpha", NOVA], SONNET: by_key["alpha", SONNET]},
        "beta": {SONNET: by_key["beta", SONNET]},
    }


def test_size_estimate_bounds_the_resolved_value() -> None:
    stack, profiles = build(two_teams())
    rendered = render(stack.resolve(profiles.profiles_json()))
    resolved = re.sub(r"\$\{\w+\.InferenceProfileId\}", "x" * 64, rendered)
    resolved = resolved.replace("${AWS::Partition}", "aws-us-gov")
    resolved = resolved.replace("${AWS::Region}", "x" * 20)
    resolved = resolved.replace("${AWS::AccountId}", "0" * 12)
    assert profiles.estimated_json_bytes() == len(resolved.encode())


def test_too_many_profiles_for_the_environment_fail_at_synth_with_advice() -> None:
    models = tuple(
        ProfileSource(f"vendor.model-{i}-v1:0", f"vendor.model-{i}-v1:0", False) for i in range(8)
    )
    teams = [TeamProfileSet(f"team-{t}", {}, models) for t in range(5)]
    with pytest.raises(
        ValueError, match=r"40 team profiles \(5 teams\).*restrict the teams' `models`"
    ):
        build(teams)
    build(teams[:2])  # two teams' sixteen profiles fit


def test_a_team_listing_a_model_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="listed twice"):
        build([TeamProfileSet("alpha", {}, (DIRECT, DIRECT))])


def granted(
    teams: list[TeamProfileSet], models: list[str], geography: Geography | None
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The role's statements by Sid (ModelAccess with the profiles), and each profile's ARN."""
    stack, profiles = build(teams)
    catalog = all_models()
    access = ModelAccess.of([catalog[m] for m in models], geography)
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    access.with_application_profiles(profiles.arns_by_model()).grant_invoke(role)
    template = Template.from_stack(stack)
    statements = {s["Sid"]: s for s in policy_statements(dict(template.to_json()))}
    arns = {}
    for logical_id, r in template.find_resources(
        "AWS::Bedrock::ApplicationInferenceProfile"
    ).items():
        tags = {t["Key"]: t["Value"] for t in r["Properties"]["Tags"]}
        model = r["Properties"]["Description"].rsplit(" ", 1)[-1]
        arns[f"{tags['bedrock-kit:team']}/{model}"] = f"${{{logical_id}.InferenceProfileArn}}"
    return statements, arns


ACTIONS = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]


def test_a_routed_model_is_reached_only_through_its_profile_or_the_teams_copies_of_it() -> None:
    teams = [TeamProfileSet("alpha", {}, (GEOGRAPHIC,)), TeamProfileSet("beta", {}, (GEOGRAPHIC,))]
    statements, arns = granted(teams, [SONNET], Geography.US)
    for statement in statements.values():
        assert statement["Action"] == ACTIONS
        for resource in as_list(statement["Resource"]):
            assert "*" not in resource
    assert sorted(as_list(statements["InvokeTeamInferenceProfiles"]["Resource"])) == sorted(
        arns.values()
    )
    routed = statements["InvokeModelsThroughProfile0"]
    regions = ["${AWS::Region}", *DESTINATIONS[Geography.US]]
    assert sorted(as_list(routed["Resource"])) == sorted(
        f"arn:${{AWS::Partition}}:bedrock:{r}::foundation-model/{SONNET}" for r in regions
    )
    system = f"{SYSTEM}us.{SONNET}"
    assert routed["Condition"] == {
        "StringEquals": {
            "bedrock:InferenceProfileArn": [system, arns[f"alpha/{SONNET}"], arns[f"beta/{SONNET}"]]
        }
    }


def test_a_model_called_in_region_is_reached_through_a_teams_profile_as_directly() -> None:
    statements, arns = granted([TeamProfileSet("alpha", {}, (DIRECT,))], [NOVA], None)
    assert as_list(statements["InvokeEnabledModels"]["Resource"]) == [f"{FM}{NOVA}"]
    assert "Condition" not in statements["InvokeEnabledModels"]
    assert as_list(statements["InvokeTeamInferenceProfiles"]["Resource"]) == [arns[f"alpha/{NOVA}"]]


def test_global_profiles_add_the_regionless_model_only_through_them() -> None:
    statements, arns = granted([TeamProfileSet("alpha", {}, (GLOBAL,))], [SONNET], Geography.GLOBAL)
    regionless = statements["InvokeModelsThroughGlobalProfiles"]
    assert regionless["Resource"] == f"arn:${{AWS::Partition}}:bedrock:::foundation-model/{SONNET}"
    system = f"{SYSTEM}global.{SONNET}"
    assert regionless["Condition"] == {
        "StringEquals": {
            "bedrock:InferenceProfileArn": [system, arns[f"alpha/{SONNET}"]],
            "aws:RequestedRegion": "unspecified",
        }
    }


def test_profiles_of_a_model_the_deployment_does_not_enable_are_refused() -> None:
    _, profiles = build([TeamProfileSet("alpha", {}, (GEOGRAPHIC,))])
    access = ModelAccess.of([all_models()[NOVA]], Geography.US)
    with pytest.raises(ValueError, match="not enabled"):
        access.with_application_profiles(profiles.arns_by_model())


def test_no_teams_means_no_profiles() -> None:
    stack, profiles = build([])
    assert profiles.profiles == ()
    assert profiles.arns_by_model() == {}
    assert json.loads(render(stack.resolve(profiles.profiles_json())))["teams"] == {}
