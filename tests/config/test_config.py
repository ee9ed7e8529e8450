"""Config files parse into typed objects; every mistake stops synthesis with one clear line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from lambdas.gateway.catalog import Geography
from stacks.config import (
    ConfigError,
    EndpointType,
    KitConfig,
    NetworkMode,
    load_config,
)
from tests.config.helpers import HAIKU_45, MINIMAL, NOVA, TODAY, parse, problem, problems, with_
from tests.conftest import ROOT


def test_dev_config_trials_cheap_models(dev_config: KitConfig) -> None:
    assert dev_config.models.aliases["balanced"][0] == HAIKU_45
    assert dev_config.network.mode is NetworkMode.CREATE
    assert dev_config.api.endpoint_type is EndpointType.REGIONAL
    assert dev_config.observability.retain_logs is False


def test_prod_config_promotes_balanced_to_a_sonnet_class_model(prod_config: KitConfig) -> None:
    balanced = prod_config.models.table[prod_config.models.aliases["balanced"][0]]
    assert "Sonnet" in balanced.name or "Opus" in balanced.name
    assert prod_config.observability.retain_logs is True


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_shipped_configs_cover_every_alias_the_readme_uses(name: str) -> None:
    config = load_config(ROOT / "config" / f"{name}.toml", name)
    assert {"fast", "balanced", "best", "embed", "image"} <= set(config.models.aliases)
    assert config.models.cross_region is Geography.US


def test_minimal_config_gets_documented_defaults() -> None:
    config = parse(MINIMAL)
    assert config.deployment.account is None and config.deployment.region is None
    assert config.models.cross_region is None
    assert config.network.vpc_cidr == "10.40.0.0/16"
    assert config.api.stage_name == "api"
    assert config.gateway.timeout_seconds == 29
    assert config.observability.retain_logs is True


def test_single_model_alias_becomes_a_one_item_fallback_list() -> None:
    config = parse(with_("models", aliases={"fast": NOVA}))
    assert config.models.aliases == {"fast": (NOVA,)}


def test_config_objects_are_frozen() -> None:
    config = parse(MINIMAL)
    with pytest.raises(ValidationError, match="frozen"):
        config.api.waf = True
    with pytest.raises(ValidationError, match="frozen"):
        config.env_name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.models.table["x"] = config.models.specs()[0]  # type: ignore[index]


def test_the_environment_and_file_name_come_from_the_caller_not_the_file() -> None:
    config = parse(MINIMAL)
    assert (config.env_name, config.source) == ("team", "team.toml")
    assert problem({**MINIMAL, "source": "x"}).startswith("source: unknown key; allowed keys: ")


def test_an_empty_string_leaves_an_optional_key_unset() -> None:
    config = parse({**MINIMAL, "deployment": {"account": "", "region": ""}})
    assert config.deployment.account is None and config.deployment.region is None


def test_parsing_leaves_the_callers_data_untouched() -> None:
    data = with_("deployment", production=True)
    data["alarms"] = {"topic_arn": "arn:aws:sns:us-west-2:123456789012:oncall"}
    before = json.dumps(data, sort_keys=True)
    parse(data)
    assert json.dumps(data, sort_keys=True) == before


def test_several_mistakes_give_one_line_each_in_one_error() -> None:
    data = {**with_("gateway", memory_mb=64), "observability": {"retain_logs": "yes"}}
    assert problems(data) == [
        "gateway.memory_mb: must be at least 128, got 64",
        "observability.retain_logs: must be true or false, got 'yes'",
    ]


BAD_CASES = [
    pytest.param(
        {**MINIMAL, "modles": {}},
        "team.toml: modles: unknown key; allowed keys:",
        id="unknown-top-key",
    ),
    pytest.param(
        with_("api", endpoint="EDGE"),
        "team.toml: api.endpoint: unknown key",
        id="unknown-nested-key",
    ),
    pytest.param(
        {"models": {"enabled": [NOVA, "openai.gpt-4o"]}},
        "team.toml: models.enabled: 'openai.gpt-4o' is not in the model catalog",
        id="model-not-in-catalog",
    ),
    pytest.param(
        {"models": {"enabled": []}}, "models.enabled: must list at least one", id="no-models"
    ),
    pytest.param(
        with_("models", aliases={"fast": ["amazon.nova-lite-v1:0"]}),
        "models.aliases.fast: points to 'amazon.nova-lite-v1:0', which is not in models.enabled",
        id="alias-points-nowhere",
    ),
    pytest.param(
        with_("models", aliases={"fast": []}),
        "models.aliases.fast: must be a model id",
        id="empty-alias",
    ),
    pytest.param(
        with_("models", aliases={"Fast.Model": NOVA}),
        "models.aliases.Fast.Model: 'Fast.Model' is not a name of lowercase letters, digits",
        id="bad-alias-name",
    ),
    pytest.param(
        with_("models", cross_region="mars"),
        "models.cross_region: 'mars' is not one of none, us, eu, apac, jp, au, ca, us-gov, global",
        id="bad-geography",
    ),
    pytest.param(
        {"models": {"enabled": ["anthropic.claude-sonnet-4-5-20250929-v1:0"]}},
        "models.cross_region: 'anthropic.claude-sonnet-4-5-20250929-v1:0' is only served through",
        id="profile-required",
    ),
    pytest.param(
        {
            "models": {
                "enabled": ["amazon.nova-micro-v1:0"],
                "cross_region": "none",
            },
            "deployment": {"region": "moon-1"},
        },
        "deployment.region: 'moon-1' is not an AWS region",
        id="bad-region",
    ),
    pytest.param(
        with_("deployment", account="1234"),
        "deployment.account: '1234' is not a 12-digit",
        id="bad-account",
    ),
    pytest.param(
        with_("network", vpc_cidr="10.0.0.0/33"),
        "network.vpc_cidr: '10.0.0.0/33' is not a CIDR",
        id="bad-cidr",
    ),
    pytest.param(
        with_("network", vpc_cidr="10.0.0.0/8"),
        "network.vpc_cidr: '10.0.0.0/8' must be an IPv4 block from /16 to /24",
        id="cidr-too-big",
    ),
    pytest.param(
        with_("network", mode="existing"),
        "network.vpc_id: mode 'existing' needs a VPC id",
        id="existing-without-vpc",
    ),
    pytest.param(
        with_("network", subnet_ids=["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"]),
        "network.subnet_ids: only allowed with mode 'existing'",
        id="subnets-without-existing-vpc",
    ),
    pytest.param(
        with_("network", vpc_id="vpc-0abc12345678def01"),
        "network.vpc_id: only allowed with mode 'existing'",
        id="vpc-id-without-existing-vpc",
    ),
    pytest.param(
        with_(
            "network",
            mode="existing",
            vpc_id="vpc-0abc12345678def01",
            subnet_ids=["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"],
            availability_zones=["us-west-2a"],
        ),
        "network.availability_zones: mode 'existing' needs one availability zone per subnet id",
        id="existing-zone-per-subnet",
    ),
    pytest.param(
        with_(
            "network",
            mode="existing",
            vpc_id="vpc-0abc12345678def01",
            subnet_ids=["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"],
            availability_zones=["us-west-2a", "us-west-2b"],
        ),
        "network.vpc_cidr: mode 'existing' needs the VPC's CIDR block",
        id="existing-without-its-cidr",
    ),
    pytest.param(
        with_("network", mode="existing", vpc_id="vpc-0abc12345678def01", subnet_ids=["x"]),
        "network.subnet_ids: 'x' is not a subnet id",
        id="bad-subnet-id",
    ),
    pytest.param(
        with_("network", availability_zones=["us-west-2a"]),
        "network.availability_zones: list two or more zones, or none",
        id="one-zone",
    ),
    pytest.param(
        {
            **with_("deployment", region="us-west-2"),
            "network": {"availability_zones": ["eu-west-1a", "eu-west-1b"]},
        },
        "network.availability_zones: zones must be in deployment.region us-west-2",
        id="zones-in-another-region",
    ),
    pytest.param(
        {"models": {"enabled": [NOVA, NOVA]}},
        f"models.enabled: '{NOVA}' is listed twice",
        id="model-listed-twice",
    ),
    pytest.param(
        with_("models", declared={"not a model id": {}}),
        "models.declared.not a model id: 'not a model id' is not a Bedrock model id",
        id="bad-declared-id",
    ),
    pytest.param(
        with_("api", stage_name="v1-beta"),
        "api.stage_name: 'v1-beta' is not a stage name: letters, digits and '_' (max 64)",
        id="bad-stage-name",
    ),
    pytest.param(
        with_("api", throttle_rate_limit=0),
        "api.throttle_rate_limit: must be at least 0.1, got 0",
        id="rate-too-small",
    ),
    pytest.param(
        with_("api", endpoint_type="PRIVATE", allowed_vpc_ids=["vpc-1"]),
        "api.allowed_vpc_ids: 'vpc-1' is not a VPC id",
        id="bad-allowed-vpc",
    ),
    pytest.param(
        with_("api", allowed_vpc_ids=["vpc-0abc12345678def01"]),
        "api.allowed_vpc_ids: only allowed with endpoint_type 'PRIVATE'",
        id="allowed-vpcs-on-regional",
    ),
    pytest.param(
        with_("api", teams={"Search": {}}),
        "api.teams.Search: 'Search' is not a name of lowercase letters",
        id="bad-team-name",
    ),
    pytest.param(
        with_("api", teams={"search": {"colour": "blue"}}),
        "api.teams.search.colour: unknown key; allowed keys: throttle_rate_limit, "
        "throttle_burst_limit, quota_requests_per_day",
        id="unknown-team-key",
    ),
    pytest.param(
        with_("alarms", emails=["oncall"]),
        "alarms.emails: 'oncall' is not an email address",
        id="bad-email",
    ),
    pytest.param(
        with_("security", permissions_boundary_arn="PlatformBoundary"),
        "security.permissions_boundary_arn: 'PlatformBoundary' is not an IAM managed policy ARN",
        id="bad-boundary",
    ),
    pytest.param(
        with_("invocation_logging", transition_to_infrequent_access_days=60, expiration_days=60),
        "invocation_logging.expiration_days: must be after transition_to_infrequent_access_days "
        "(60)",
        id="expiry-before-transition",
    ),
    pytest.param(
        with_("invocation_logging", on_existing="merge"),
        "invocation_logging.on_existing: 'merge' is not one of adopt, replace, fail",
        id="bad-on-existing",
    ),
    pytest.param(
        {**MINIMAL, "api": "open"},
        "api: must be a table, got 'open'",
        id="section-not-a-table",
    ),
    pytest.param(
        with_("network", mode="peered"),
        "network.mode: 'peered' is not one of create, existing",
        id="bad-mode",
    ),
    pytest.param(
        with_("deployment", region="eu-west-1"),
        "network.availability_zones: required when deployment.region is set",
        id="region-without-zones",
    ),
    pytest.param(
        with_("api", endpoint_type="EDGE"),
        "api.endpoint_type: 'EDGE' is not one of REGIONAL, PRIVATE",
        id="bad-endpoint",
    ),
    pytest.param(
        with_("gateway", memory_mb=64),
        "gateway.memory_mb: must be at least 128, got 64",
        id="memory-too-small",
    ),
    pytest.param(
        with_("gateway", memory_mb="big"),
        "gateway.memory_mb: must be an integer, got 'big'",
        id="memory-not-int",
    ),
    pytest.param(
        with_("observability", log_retention_days=10),
        "observability.log_retention_days: 10 is not a CloudWatch retention",
        id="bad-retention",
    ),
    pytest.param(
        with_("observability", retain_logs="yes"),
        "observability.retain_logs: must be true or false",
        id="bad-bool",
    ),
]


@pytest.mark.parametrize(("data", "message"), BAD_CASES)
def test_bad_config_names_file_key_and_what_is_allowed(data: dict[str, Any], message: str) -> None:
    assert problem(data).startswith(message.removeprefix("team.toml: "))


def test_invalid_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[models\nenabled = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken.toml: not valid TOML"):
        load_config(path, "broken")


def test_missing_config_file_names_the_environment(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such config file for environment 'qa'"):
        load_config(tmp_path / "qa.toml", "qa")


def test_broken_config_stops_synth_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "team.toml"
    path.write_text('[models]\nenabled = ["openai.gpt-4o"]\n', encoding="utf-8")
    # CDK_CONTEXT_JSON is how the CDK CLI hands `-c` values to the app.
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps({"env": "team", "config": str(path)})}
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        f"config error: {path}: models.enabled: 'openai.gpt-4o' is not in the model catalog "
        "(docs/models.md lists the ids; declare a newer model under models.declared)"
    ]


def test_a_production_config_with_a_placeholder_alarm_address_never_deploys() -> None:
    # `make deploy` passes -c deploy=true; plain synthesis (CI, review) only warns.
    context = {"env": "prod", "deploy": "true"}
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context)}
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (
        "config error: " in result.stderr
        and "alarms.emails: bedrock-kit-alarms@example.com is a placeholder address"
        in result.stderr
        and "(fix it before deploying)" in result.stderr
    )


# --- model currency: lifecycle, aliases, declared models ------------------------------------

HAIKU_3 = "anthropic.claude-3-haiku-20240307-v1:0"
OPUS_41 = "anthropic.claude-opus-4-1-20250805-v1:0"
US = {"cross_region": "us"}


def test_an_end_of_life_model_stops_synthesis_naming_its_date_and_successor() -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"models": {"enabled": [NOVA, HAIKU_3]}})
    assert str(caught.value) == (
        f"team.toml: models.enabled: '{HAIKU_3}' (Claude 3 Haiku) reached end of life on "
        f"2026-09-10: Bedrock refuses it; use '{HAIKU_45}' (Claude Haiku 4.5) instead"
    )


def test_an_end_of_life_model_named_only_in_an_alias_is_refused_as_dead() -> None:
    data = {"models": {"enabled": [NOVA], "aliases": {"image": "amazon.nova-canvas-v1:0"}}}
    with pytest.raises(ConfigError, match=r"models\.aliases\.image: .* reached end of life on "):
        parse(data)


def test_the_successor_named_is_the_first_active_one_down_the_chain() -> None:
    # Titan Image v2 names Stable Image Core; Nova Premier names Nova 2 Lite.
    with pytest.raises(ConfigError, match=r"use 'stability\.stable-image-core-v1:1'"):
        parse({"models": {"enabled": ["amazon.titan-image-generator-v2:0"]}})


def test_a_legacy_model_synthesizes_with_one_warning_naming_its_end_of_life() -> None:
    config = parse({"models": {"enabled": [OPUS_41], **US}})
    (warning,) = config.models.warnings
    assert warning.startswith(f"models.enabled: '{OPUS_41}' (Claude Opus 4.1) is LEGACY since ")
    assert "reaches end of life on 2027-01-08" in warning
    assert "use 'anthropic.claude-opus-4-6-v1'" in warning and "\n" not in warning


def test_the_day_decides_when_a_legacy_model_becomes_a_dead_one() -> None:
    assert parse({"models": {"enabled": [OPUS_41], **US}}, today=date(2026, 7, 1)).models
    with pytest.raises(ConfigError, match="reached end of life on 2027-01-08"):
        parse({"models": {"enabled": [OPUS_41], **US}}, today=date(2027, 1, 8))


def test_a_region_where_aws_extends_a_model_accepts_it() -> None:
    data = {
        "deployment": {"region": "ca-central-1"},
        "network": {"availability_zones": ["ca-central-1a", "ca-central-1b"]},
        "models": {"enabled": [HAIKU_3]},
    }
    assert parse(data).models.enabled == (HAIKU_3,)


def test_an_alias_mixing_modalities_is_refused() -> None:
    data = {
        "models": {
            "enabled": [NOVA, "amazon.titan-embed-text-v2:0"],
            "aliases": {"fast": [NOVA, "amazon.titan-embed-text-v2:0"]},
        }
    }
    with pytest.raises(ConfigError, match=r"models\.aliases\.fast: mixes modalities"):
        parse(data)


def test_a_geography_that_cannot_be_called_from_the_region_is_refused() -> None:
    data = {
        "deployment": {"region": "eu-west-1"},
        "network": {"availability_zones": ["eu-west-1a", "eu-west-1b"]},
        "models": {"enabled": [NOVA], "cross_region": "us"},
    }
    with pytest.raises(
        ConfigError, match=r"'us' profiles cannot be called from deployment\.region"
    ):
        parse(data)


NEW_MODEL = {
    "name": "Acme Chat",
    "provider": "acme",
    "modality": "text",
    "capabilities": ["system_prompt", "streaming", "tool_use"],
    "context_window": 200_000,
    "max_output_tokens": 8_192,
    "geographies": ["us", "global"],
    "pricing": {"in_region": [1.0, 4.0], "global": [0.9, 3.6]},
}


def test_a_model_the_catalog_does_not_know_can_be_declared_and_used() -> None:
    data = {
        "models": {
            "enabled": ["acme.chat-v1:0", NOVA],
            "cross_region": "global",
            "aliases": {"fast": ["acme.chat-v1:0", NOVA]},
            "declared": {"acme.chat-v1:0": NEW_MODEL},
        }
    }
    config = parse(data)
    spec = config.models.specs()[0]
    assert (spec.model_id, spec.declared, spec.max_output_tokens) == ("acme.chat-v1:0", True, 8192)
    target = config.models.routing().resolve("fast")[0]
    assert target.invocation_id == "global.acme.chat-v1:0"
    assert target.token_cost(1_000_000, 0) == Decimal("0.9")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"modality": "video"}, "modality: Input should be 'text', 'embedding' or 'image'"),
        ({"max_output_tokens": 300_000}, "needs 0 < max_output_tokens <= context_window"),
        ({"capabilities": ["telepathy"]}, "capabilities.0: Input should be"),
        ({"pricing": {}}, "pricing needs a token price"),
        ({"colour": "blue"}, "colour: Extra inputs are not permitted"),
    ],
)
def test_a_declared_model_is_validated_like_a_catalog_entry(
    change: dict[str, Any], message: str
) -> None:
    data = {"models": {"enabled": [NOVA], "declared": {"acme.chat-v1:0": NEW_MODEL | change}}}
    with pytest.raises(ConfigError) as caught:
        parse(data)
    text = str(caught.value)
    assert text.startswith("team.toml: models.declared.acme.chat-v1:0: ") and message in text
    assert "\n" not in text


def test_a_declaration_may_correct_a_catalog_entry_with_a_warning() -> None:
    corrected = NEW_MODEL | {"name": "Nova Micro", "provider": "amazon"}
    config = parse({"models": {"enabled": [NOVA], "declared": {NOVA: corrected}}})
    assert config.models.specs()[0].max_output_tokens == 8192
    assert config.models.warnings == (f"models.declared.{NOVA}: overrides the catalog entry",)


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_shipped_configs_enable_only_active_models_of_every_family_with_one(name: str) -> None:
    config = load_config(ROOT / "config" / f"{name}.toml", name, today=TODAY)
    assert config.models.warnings == ()
    region = config.deployment.region
    for spec in config.models.specs():
        assert spec.lifecycle.status_on(TODAY, region).value == "ACTIVE", spec.model_id
        if spec.regions and config.models.cross_region not in spec.profile_geographies:
            assert region in spec.regions, spec.model_id
    providers = {spec.provider for spec in config.models.specs()}
    assert providers >= {"anthropic", "amazon", "meta", "mistral", "cohere", "stability", "openai"}


def test_a_model_not_served_in_the_deployment_region_is_refused() -> None:
    data = {
        "deployment": {"region": "us-east-1"},
        "network": {"availability_zones": ["us-east-1a", "us-east-1b"]},
        "models": {"enabled": ["stability.stable-image-core-v1:1"]},
    }
    with pytest.raises(ConfigError, match="is served in us-west-2 only, not in us-east-1"):
        parse(data)
