"""The gateway role may invoke exactly the enabled models' ARNs, and nothing wider."""

from __future__ import annotations

import pytest

from lambdas.gateway.catalog import Geography
from model_catalog import all_models, get_model
from model_catalog.geographies import DESTINATIONS
from stacks.components.model_access import model_arns
from stacks.config import KitConfig, parse_config
from tests.infra.cfn import as_list, policy_statements, render
from tests.infra.conftest import Synthesized, synthesize

INVOKE = {"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"}
PROFILE_ARN = "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:inference-profile/"


def fm_arn(region: str, model_id: str) -> str:
    return f"arn:${{AWS::Partition}}:bedrock:{region}::foundation-model/{model_id}"


def expected_arns(config: KitConfig) -> tuple[set[str], set[str], set[str]]:
    """Direct model ARNs, profile ARNs and routed model ARNs, derived from the config by hand."""
    geo = config.models.cross_region
    direct, profiles, routed = set(), set(), set()
    for model_id in config.models.enabled:
        spec = config.models.specs()[config.models.enabled.index(model_id)]
        if geo is not None and geo in spec.profile_geographies:
            profiles.add(f"{PROFILE_ARN}{geo.value}.{model_id}")
            routed.add(fm_arn("${AWS::Region}", model_id))
            routed.update(fm_arn(region, model_id) for region in DESTINATIONS[geo])
        else:
            direct.add(fm_arn("${AWS::Region}", model_id))
    return direct, profiles, routed


def bedrock_statements(env: Synthesized) -> list[dict]:
    """The service's statements that invoke models (Retrieve on knowledge bases aside)."""
    return [
        s
        for s in policy_statements(env.service.to_json())
        if any(a.startswith("bedrock:Invoke") for a in as_list(s["Action"]))
    ]


def through_profile_statements(env: Synthesized) -> list[dict]:
    """The statements allowing destination-region models, one per enabled profile."""
    return [s for s in bedrock_statements(env) if s["Sid"].startswith("InvokeModelsThroughProfile")]


def test_gateway_role_invokes_exactly_the_enabled_models(env: Synthesized) -> None:
    direct, profiles, routed = expected_arns(env.config)
    by_sid = {s["Sid"]: s for s in bedrock_statements(env)}
    through = through_profile_statements(env)
    teams = env.config.api.team_inference_profiles
    assert set(by_sid) == {
        "InvokeEnabledModels",
        "InvokeEnabledInferenceProfiles",
        *(s["Sid"] for s in through),
        *(["InvokeTeamInferenceProfiles"] if teams else []),
    }
    assert set(as_list(by_sid["InvokeEnabledModels"]["Resource"])) == direct
    assert set(as_list(by_sid["InvokeEnabledInferenceProfiles"]["Resource"])) == profiles
    assert {r for s in through for r in as_list(s["Resource"])} == routed
    # Each profile's destination models are reachable only through that profile, or through
    # a team's application profile copied from it (the Stateful stack's TeamProfiles).
    conditions = [
        as_list(s["Condition"]["StringEquals"]["bedrock:InferenceProfileArn"]) for s in through
    ]
    assert sorted(values[0] for values in conditions) == sorted(profiles)
    for statement, values in zip(through, conditions, strict=True):
        model_id = values[0].split(".", 1)[1]
        assert all(r.endswith(f"/{model_id}") for r in as_list(statement["Resource"]))
        applications = values[1:]
        assert len(applications) == (len(env.config.api.teams) if teams else 0)
        assert all(team_profile(arn, model_id) for arn in applications)
    if teams:
        for arn in as_list(by_sid["InvokeTeamInferenceProfiles"]["Resource"]):
            assert team_profile(arn), arn


def team_profile(arn: str, model_id: str = "") -> bool:
    """Whether `arn` is a team's application inference profile (of `model_id`, if given)."""
    squashed = "".join(c for c in model_id if c.isalnum())
    return (
        "ExportsOutputFnGetAttTeamProfiles" in arn
        and "InferenceProfileArn" in arn
        and squashed in arn
    )


def test_bedrock_statements_allow_only_invoke_actions_and_no_wildcards(env: Synthesized) -> None:
    for statement in bedrock_statements(env):
        assert set(as_list(statement["Action"])) == INVOKE
        for resource in as_list(statement["Resource"]):
            assert "*" not in resource, resource


def test_no_statement_grants_a_wildcard_action(env: Synthesized) -> None:
    for template in env.templates():
        for statement in policy_statements(template.to_json()):
            for action in as_list(statement["Action"]):
                assert action != "*" and not action.endswith(":*"), action


def test_only_the_vpc_networking_actions_use_a_wildcard_resource(env: Synthesized) -> None:
    wildcard_actions = {
        action
        for statement in policy_statements(env.service.to_json())
        if "*" in as_list(statement["Resource"])
        for action in as_list(statement["Action"])
    }
    assert wildcard_actions and all(action.startswith("ec2:") for action in wildcard_actions)


def role_statements(env: Synthesized) -> dict[str, list[dict]]:
    """Statements of every role's policies (inline or managed), by the role's logical id."""
    by_role: dict[str, list[dict]] = {}
    for template in env.templates():
        resources = template.to_json()["Resources"]
        for resource in resources.values():
            if resource["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                continue
            roles = resource["Properties"].get("Roles", [])
            # One policy serves one role: nothing is shared or attached elsewhere.
            assert len(roles) == 1, resource
            role = roles[0]["Ref"]
            document = render(resource["Properties"]["PolicyDocument"])
            by_role.setdefault(role, []).extend(as_list(document["Statement"]))
    return by_role


@pytest.mark.parametrize(
    ("role_prefix", "log_group"),
    [
        ("GatewayRole", "LogsGatewayLogGroup"),
        ("KeyAuthorizerRole", "LogsAuthorizerLogGroup"),
        ("NetworkFlowLogsRole", "LogsFlowLogGroup"),
    ],
)
def test_each_role_writes_only_its_own_log_group(
    env: Synthesized, role_prefix: str, log_group: str
) -> None:
    (statements,) = [s for role, s in role_statements(env).items() if role.startswith(role_prefix)]
    logs = [s for s in statements if any(a.startswith("logs:") for a in as_list(s["Action"]))]
    resources = {r for s in logs for r in as_list(s["Resource"])}
    assert logs and resources
    for resource in resources:
        # The group's Arn attribute (ending in ':*': its streams), imported from Stateful.
        assert resource.startswith("${Import:") and f"GetAtt{log_group}" in resource, resource


def test_only_the_gateway_role_may_invoke_models(env: Synthesized) -> None:
    invoking = {
        role
        for role, statements in role_statements(env).items()
        if any(a in INVOKE for s in statements for a in as_list(s["Action"]))
    }
    gateway = {role for role in invoking if role.startswith("GatewayRole")}
    assert len(gateway) == 1
    # Each knowledge base's own role embeds its documents with its one embedding model.
    embedding = {m for m, s in all_models().items() if s.knowledge_base_dimensions}
    for role in invoking - gateway:
        assert "KnowledgeBases" in role and "ServiceRole" in role, role
        invoked = [
            r
            for s in role_statements(env)[role]
            if "bedrock:InvokeModel" in as_list(s["Action"])
            for r in as_list(s["Resource"])
        ]
        assert len(invoked) == 1
        assert str(render(invoked[0])).rsplit("foundation-model/", 1)[1] in embedding


def test_no_physical_role_names_and_no_policies_embedded_in_roles(env: Synthesized) -> None:
    for template in env.templates():
        for logical_id, role in template.find_resources("AWS::IAM::Role").items():
            assert "RoleName" not in role["Properties"]
            # CDK's own default-security-group handler embeds its EC2 permissions.
            if not logical_id.startswith("CustomVpcRestrictDefaultSG"):
                assert "Policies" not in role["Properties"], logical_id


def test_dev_and_prod_grant_different_model_sets(dev: Synthesized, prod: Synthesized) -> None:
    # Promotion from dev to prod changes the allow-list with the config, nothing else.
    dev_resources = {r for s in bedrock_statements(dev) for r in as_list(s["Resource"])}
    prod_resources = {r for s in bedrock_statements(prod) for r in as_list(s["Resource"])}
    assert any("claude-opus-4-6" in r for r in prod_resources)
    assert not any("claude-opus-4-6" in r for r in dev_resources)


def test_global_profiles_add_the_region_less_arn_only_for_unspecified_region() -> None:
    config = parse_config(
        {
            "models": {
                "cross_region": "global",
                "enabled": ["anthropic.claude-sonnet-4-5-20250929-v1:0", "amazon.nova-micro-v1:0"],
            }
        },
        source="inline.toml",
        env_name="globaltest",
    )
    by_sid = {s["Sid"]: s for s in bedrock_statements(synthesize(config))}
    sonnet = "anthropic.claude-sonnet-4-5-20250929-v1:0"
    profile = f"{PROFILE_ARN}global.{sonnet}"
    # Nova Micro has no global profile: it is called directly in the deployment region.
    assert as_list(by_sid["InvokeEnabledModels"]["Resource"]) == [
        fm_arn("${AWS::Region}", "amazon.nova-micro-v1:0")
    ]
    assert as_list(by_sid["InvokeEnabledInferenceProfiles"]["Resource"]) == [profile]
    assert as_list(by_sid["InvokeModelsThroughProfile0"]["Resource"]) == [
        fm_arn("${AWS::Region}", sonnet)
    ]
    region_less = by_sid["InvokeModelsThroughGlobalProfiles"]
    assert as_list(region_less["Resource"]) == [fm_arn("", sonnet)]
    assert region_less["Condition"]["StringEquals"] == {
        "bedrock:InferenceProfileArn": [profile],
        "aws:RequestedRegion": "unspecified",
    }


def test_without_cross_region_every_model_is_invoked_directly() -> None:
    config = parse_config(
        {"models": {"cross_region": "none", "enabled": ["amazon.nova-micro-v1:0"]}},
        source="inline.toml",
        env_name="regional",
    )
    by_sid = {s["Sid"]: s for s in bedrock_statements(synthesize(config))}
    assert set(by_sid) == {"InvokeEnabledModels"}
    assert as_list(by_sid["InvokeEnabledModels"]["Resource"]) == [
        fm_arn("${AWS::Region}", "amazon.nova-micro-v1:0")
    ]


# AWS's inference-profile tables: regions a first catalog left out, which Bedrock routes to.
REGIONS_ONCE_MISSING = {
    "us": {"us-west-1"},
    "eu": {"eu-west-2", "eu-south-1", "eu-south-2", "eu-central-2"},
    "apac": {"ap-northeast-3", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "me-central-1"},
}


@pytest.mark.parametrize("geography", ["us", "eu", "apac"])
def test_every_destination_region_aws_lists_for_a_profile_is_allowed(geography: str) -> None:
    spec = get_model("amazon.nova-lite-v1:0")
    arns = model_arns([spec], Geography(geography), region="us-east-1")
    allowed = {arn.split(":")[3] for arn in arns.routed_models}
    assert allowed >= set(DESTINATIONS[Geography(geography)]) | {"us-east-1"}
    assert allowed >= REGIONS_ONCE_MISSING[geography]
    (profile,) = arns.profiles
    assert profile.endswith(f":inference-profile/{geography}.amazon.nova-lite-v1:0")


def test_destination_models_are_allowed_only_through_the_configured_profile(
    env: Synthesized,
) -> None:
    through = through_profile_statements(env)
    assert through
    for statement in through:
        assert list(statement["Condition"]) == ["StringEquals"]
        assert set(statement["Condition"]["StringEquals"]) == {"bedrock:InferenceProfileArn"}
