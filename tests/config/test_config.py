"""Config files parse into typed objects; every mistake stops synthesis with one clear line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lambdas.gateway.catalog import Geography
from stacks.config import (
    ConfigError,
    EndpointType,
    KitConfig,
    NetworkMode,
    load_config,
    parse_config,
)
from tests.conftest import ROOT

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
MINIMAL: dict[str, Any] = {"models": {"enabled": [HAIKU]}}


def parse(data: dict[str, Any]) -> KitConfig:
    return parse_config(data, source="team.toml", env_name="team")


def with_(section: str, **values: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(MINIMAL))
    data.setdefault(section, {}).update(values)
    return data


def test_dev_config_trials_cheap_models(dev_config: KitConfig) -> None:
    assert dev_config.models.aliases["balanced"][0] == HAIKU
    assert dev_config.network.mode is NetworkMode.CREATE
    assert dev_config.api.endpoint_type is EndpointType.REGIONAL
    assert dev_config.observability.retain_logs is False


def test_prod_config_promotes_balanced_to_a_sonnet_class_model(prod_config: KitConfig) -> None:
    balanced = prod_config.models.specs_by_id()[prod_config.models.aliases["balanced"][0]]
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
    config = parse(with_("models", aliases={"fast": HAIKU}))
    assert config.models.aliases == {"fast": (HAIKU,)}


def test_config_objects_are_frozen() -> None:
    config = parse(MINIMAL)
    with pytest.raises(AttributeError):
        config.env_name = "other"  # type: ignore[misc]


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
        {"models": {"enabled": [HAIKU, "openai.gpt-4o"]}},
        "team.toml: models.enabled: 'openai.gpt-4o' is not in the model catalog",
        id="model-not-in-catalog",
    ),
    pytest.param(
        {"models": {"enabled": []}}, "models.enabled: must list at least one", id="no-models"
    ),
    pytest.param(
        with_("models", aliases={"fast": ["amazon.nova-micro-v1:0"]}),
        "models.aliases.fast: points to 'amazon.nova-micro-v1:0', which is not in models.enabled",
        id="alias-points-nowhere",
    ),
    pytest.param(
        with_("models", aliases={"fast": []}),
        "models.aliases.fast: must be a model id",
        id="empty-alias",
    ),
    pytest.param(
        with_("models", aliases={"Fast.Model": HAIKU}),
        "models.aliases.Fast.Model: alias names are lowercase letters, digits and '-'",
        id="bad-alias-name",
    ),
    pytest.param(
        with_("models", cross_region="mars"),
        "models.cross_region: 'mars' is not one of none, us, eu, apac, global",
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
                "enabled": ["anthropic.claude-3-opus-20240229-v1:0"],
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
        "must be an IPv4 block from /16 to /24",
        id="cidr-too-big",
    ),
    pytest.param(
        with_("network", mode="existing"),
        "network.vpc_id: mode 'existing' needs a VPC id",
        id="existing-without-vpc",
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
        "gateway.memory_mb: must be an integer from 128 to 10240",
        id="memory-too-small",
    ),
    pytest.param(
        with_("gateway", memory_mb="big"),
        "gateway.memory_mb: must be an integer",
        id="memory-not-int",
    ),
    pytest.param(
        with_("observability", log_retention_days=10),
        "log_retention_days: 10 is not a CloudWatch retention",
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
    with pytest.raises(ConfigError) as caught:
        parse(data)
    text = str(caught.value)
    assert message in text
    assert text.startswith("team.toml: ")
    assert "\n" not in text


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
        "(see docs/models.md for the ids)"
    ]
