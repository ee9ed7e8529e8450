"""`python -m local.catalog_check`: catalog drift against stubbed Bedrock and Price List answers."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from types import MappingProxyType, SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber

from lambdas.gateway.catalog import Geography, LifecycleStage, LifecycleStatus, ModelSpec
from local.catalog_check import cli, collect_aws_facts, collect_prices, main
from model_catalog import CatalogError
from stacks.config import ConfigError, DeploymentConfig, ModelsConfig
from tests.catalog_check.stubs import (
    HAIKU,
    LLAMA,
    NOVA,
    TODAY,
    bedrock_client,
    catalog,
    expect_models,
    expect_no_profile,
    expect_prices,
    expect_profile,
    expect_profile_pages,
    model_summary,
    price_item,
    pricing_client,
    spec,
)

US, GLOBAL = Geography.US, Geography.GLOBAL
ENABLED = (HAIKU, NOVA)
USED = (f"us.{HAIKU}", f"us.{NOVA}")
PROFILES = (f"us.{HAIKU}", f"global.{HAIKU}", f"us.{NOVA}", f"us.{LLAMA}")
Install = Callable[..., None]


def base_catalog(*changed: ModelSpec) -> Mapping[str, ModelSpec]:
    """Haiku (us, global) and Nova Micro (us) enabled; Llama (us) in the catalog only."""
    specs = {
        HAIKU: spec(HAIKU, geographies=(US, GLOBAL)),
        NOVA: spec(NOVA, price=("0.035", "0.14")),
        LLAMA: spec(LLAMA),
    }
    specs.update({s.model_id: s for s in changed})
    return catalog(*specs.values())


@pytest.fixture
def bedrock() -> Iterator[tuple[Any, Stubber]]:
    client = bedrock_client()
    with Stubber(client) as stubber:
        yield client, stubber
        # Every queued answer was asked for, and (Stubber's default) nothing else was called.
        stubber.assert_no_pending_responses()


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Install:
    """Install a catalog and an environment (what main reads) in place of the real files."""

    def install(
        models: Mapping[str, ModelSpec],
        enabled: Sequence[str] = ENABLED,
        geography: Geography | None = US,
        region: str | None = "us-east-1",
    ) -> None:
        config = SimpleNamespace(
            models=ModelsConfig(
                enabled=tuple(enabled),
                aliases={},
                cross_region=geography,
                table=MappingProxyType({model_id: models[model_id] for model_id in enabled}),
            ),
            deployment=DeploymentConfig(account=None, region=region),
        )
        monkeypatch.setattr(cli, "load_config", lambda *_a, **_k: config)
        monkeypatch.setattr(cli, "all_models", lambda: models)

    return install


def expect_aws(
    client: Any,
    stubber: Stubber,
    *,
    models: Sequence[dict[str, Any]] | None = None,
    profiles: Sequence[str] = PROFILES,
    destinations: Mapping[str, Sequence[str]] | None = None,
    missing: Sequence[str] = (),
) -> None:
    """Queue every Bedrock answer of one run, in call order (defaults: no drift)."""
    summaries = [model_summary(m) for m in (HAIKU, NOVA, LLAMA)] if models is None else models
    expect_models(stubber, client, *summaries)
    expect_profile_pages(stubber, client, profiles)
    for profile_id in USED:
        if profile_id in missing:
            expect_no_profile(stubber, profile_id)
        elif destinations and profile_id in destinations:
            expect_profile(stubber, client, profile_id, destinations[profile_id])
        else:
            expect_profile(stubber, client, profile_id)


def run(
    client: Any, *args: str, pricing: Any = None, regions: list[str | None] | None = None
) -> int:
    def factory(region: str | None) -> Any:
        if regions is not None:
            regions.append(region)
        return client

    return main(
        ["--env", "prod", *args],
        bedrock_factory=factory,
        pricing_factory=lambda: pricing,
        today=TODAY,
    )


# --- Whole runs ---------------------------------------------------------------------------------


def test_no_drift_exits_zero_with_a_clean_report(
    bedrock: tuple[Any, Stubber], environment: Install, capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = bedrock
    environment(base_catalog())
    expect_aws(client, stubber)
    assert run(client) == 0
    out = capsys.readouterr().out
    assert out.startswith("Catalog drift check in us-east-1 on 2026-12-01: 2 enabled models")
    assert out.rstrip().endswith(
        "Summary: no drift in us-east-1 -> exit 0 (the catalog matches Bedrock)"
    )
    assert "catalog:" not in out


def test_a_new_model_of_a_known_provider_is_reported_and_exits_zero(
    bedrock: tuple[Any, Stubber], environment: Install, capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = bedrock
    environment(base_catalog())
    new = "amazon.nova-2-lite-v1:0"
    other_provider = "writer.palmyra-x5-v1:0"
    provisioned_variant = f"{HAIKU}:200k"
    summaries = [
        *(model_summary(m) for m in (HAIKU, NOVA, LLAMA)),
        model_summary(new, names=("Amazon", "Nova 2 Lite"), inference_types=["ON_DEMAND"]),
        model_summary(other_provider, names=("Writer", "Palmyra X5")),
        model_summary(
            provisioned_variant,
            names=("Anthropic", "Claude Haiku 4.5"),
            inference_types=["PROVISIONED"],
        ),
    ]
    expect_aws(client, stubber, models=summaries)
    assert run(client) == 0
    out = capsys.readouterr().out
    assert "New models (informational) (1)\n" in out
    assert f"  - {new}: new amazon model\n      catalog: absent\n" in out
    assert "AWS:     Nova 2 Lite by Amazon, ACTIVE" in out
    assert other_provider not in out and provisioned_variant not in out
    assert "Summary: 1 finding, none affecting an enabled model -> exit 0" in out


def test_an_enabled_model_aws_reports_legacy_exits_one_naming_the_model_and_dates(
    bedrock: tuple[Any, Stubber], environment: Install, capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = bedrock
    environment(base_catalog())
    legacy = model_summary(
        NOVA,
        status="LEGACY",
        legacy=date(2026, 11, 15),
        extended=date(2027, 2, 15),
        end_of_life=date(2027, 5, 15),
    )
    expect_aws(client, stubber, models=[model_summary(HAIKU), legacy, model_summary(LLAMA)])
    assert run(client) == 1
    out = capsys.readouterr().out
    assert (
        f"  ! {NOVA} [enabled]: status, legacy date, public extended access date, "
        "end of life date differ\n"
        "      catalog: ACTIVE\n"
        "      AWS:     LEGACY (legacy 2026-11-15, public extended access 2027-02-15, "
        "end of life 2027-05-15)\n"
    ) in out
    assert "1 affecting an enabled model -> exit 1" in out


def test_an_enabled_model_the_catalog_already_records_as_legacy_is_not_drift(
    bedrock: tuple[Any, Stubber], environment: Install, capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = bedrock
    stage = LifecycleStage(
        status=LifecycleStatus.LEGACY, legacy=date(2026, 11, 15), end_of_life=date(2027, 5, 15)
    )
    environment(base_catalog(spec(NOVA, stage=stage, price=("0.035", "0.14"))))
    legacy = model_summary(
        NOVA, status="LEGACY", legacy=date(2026, 11, 15), end_of_life=date(2027, 5, 15)
    )
    expect_aws(client, stubber, models=[model_summary(HAIKU), legacy, model_summary(LLAMA)])
    assert run(client) == 0
    assert "Summary: no drift" in capsys.readouterr().out


def test_an_end_of_life_date_aws_moved_affects_the_enabled_model(
    bedrock: tuple[Any, Stubber], environment: Install, capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = bedrock
    stage = LifecycleStage(status=LifecycleStatus.LEGACY, end_of_life=date(2027, 5, 15))
    environment(base_catalog(spec(NOVA, stage=stage, price=("0.035", "0.14"))))
    moved = model_summary(NOVA, status="LEGACY", end_of_life=date(2027, 1, 15))
    expect_aws(client, stubber, models=[model_summary(HAIKU), moved, model_summary(LLAMA)])
    assert run(client) == 1
    out = capsys.readouterr().out
    assert f"  ! {NOVA} [enabled]: end of life date differs\n" in out
    assert "catalog: LEGACY (end of life 2027-05-15)" in out
    assert "AWS:     LEGACY (end of life 2027-01-15)" in out


def test_an_enabled_model_missing_from_list_foundation_models_exits_one(
    bedrock: tuple[Any, Stubber], environment: Install, capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = bedrock
    environment(base_catalog())
    expect_aws(client, stubber, models=[model_summary(HAIKU)])
    assert run(client) == 1
    out = capsys.readouterr().out
    lifecycle = out.split("Lifecycle (2)\n")[1]
    # Enabled models come first, marked; the catalog-only model is informational.
    assert lifecycle.startswith(
        f"  ! {NOVA} [enabled]: not offered in us-east-1 (end of life, or not in this region)\n"
        "      catalog: ACTIVE\n      AWS:     not listed\n"
        f"  - {LLAMA}: not offered in us-east-1"
    )
    assert "1 affecting an enabled model -> exit 1" in out


def test_a_catalog_geography_aws_lacks_is_reported_and_affects_only_the_configured_one(
    bedrock: tuple[Any, Stubber], environment: Install, capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = bedrock
    # Llama claims a global profile; Haiku's us profile is gone; eu is not callable from here.
    environment(base_catalog(spec(LLAMA, geographies=(US, GLOBAL, Geography.EU))))
    listed = (f"global.{HAIKU}", f"us.{NOVA}", f"global.{NOVA}", f"us.{LLAMA}")
    expect_aws(client, stubber, profiles=listed, missing=(f"us.{HAIKU}",))
    assert run(client) == 1
    out = capsys.readouterr().out
    assert (
        f"  ! {HAIKU} [enabled]: no us. profile callable from us-east-1\n"
        "      catalog: global, us\n      AWS:     global\n"
    ) in out
    assert f"  * {NOVA} [enabled]: AWS has a global. profile\n" in out
    assert f"  - {LLAMA}: no global. profile callable from us-east-1\n" in out
    assert "no eu. profile" not in out
    assert "Summary: 3 findings, 1 affecting an enabled model -> exit 1" in out


def test_a_destination_region_outside_destinations_exits_one_naming_the_region(
    bedrock: tuple[Any, Stubber], environment: Install, capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = bedrock
    environment(base_catalog())
    routes = {f"us.{NOVA}": ("us-east-1", "us-west-2", "mx-central-1")}
    expect_aws(client, stubber, destinations=routes)
    assert run(client) == 1
    out = capsys.readouterr().out
    assert "Destination regions (1)\n" in out
    assert f"  ! {NOVA} [enabled]: IAM would deny calls routed to mx-central-1\n" in out
    assert f"AWS:     us.{NOVA} routes to us-east-1, us-west-2, mx-central-1" in out


def test_global_profiles_are_not_checked_against_destinations(
    bedrock: tuple[Any, Stubber], environment: Install, capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = bedrock
    models = base_catalog(spec(NOVA, geographies=(US, GLOBAL), price=("0.035", "0.14")))
    environment(models, geography=GLOBAL)
    expect_models(stubber, client, *(model_summary(m) for m in (HAIKU, NOVA, LLAMA)))
    expect_profile_pages(stubber, client, (*PROFILES, f"global.{NOVA}"))
    for model_id in ENABLED:
        expect_profile(stubber, client, f"global.{model_id}", ("eu-west-1", "ap-south-1"))
    assert run(client) == 0
    assert "Destination regions" not in capsys.readouterr().out


# --- Collecting ---------------------------------------------------------------------------------


def test_list_inference_profiles_follows_next_token_through_every_page(
    bedrock: tuple[Any, Stubber],
) -> None:
    client, stubber = bedrock
    expect_models(stubber, client, model_summary(NOVA))
    expect_profile_pages(stubber, client, [f"us.{HAIKU}"], [f"global.{HAIKU}"], [f"us.{NOVA}"])
    expect_profile(stubber, client, f"us.{NOVA}", ("us-east-1", "us-east-2"))
    facts = collect_aws_facts(client, profile_ids=[f"us.{NOVA}"])
    assert facts.profiles == {f"us.{HAIKU}", f"global.{HAIKU}", f"us.{NOVA}"}
    assert facts.destinations == {f"us.{NOVA}": ("us-east-1", "us-east-2")}
    assert facts.region == "us-east-1" and set(facts.models) == {NOVA}


def test_lifecycle_timestamps_become_utc_dates(bedrock: tuple[Any, Stubber]) -> None:
    client, stubber = bedrock
    summary = model_summary(NOVA, status="LEGACY", legacy=date(2026, 11, 15))
    expect_models(stubber, client, summary)
    expect_profile_pages(stubber, client, [])
    model = collect_aws_facts(client, profile_ids=()).models[NOVA]
    assert (model.status, model.legacy, model.end_of_life) == ("LEGACY", date(2026, 11, 15), None)


def test_the_price_list_is_paginated_and_other_tiers_are_left_out() -> None:
    client = pricing_client()
    pages = [
        [price_item("Nova Micro", "input", "0.000035")],
        [
            price_item("Nova Micro", "output", "0.00014"),
            price_item("Nova Micro", "input", "0.0000175", usagetype="USE1-NovaMicro-batch-input"),
            price_item("Nova Micro", "input", "0.01", unit="Images"),
        ],
    ]
    with Stubber(client) as stubber:
        expect_prices(stubber, client, {"AmazonBedrock": pages})
        prices = collect_prices(client, "us-east-1")
        stubber.assert_no_pending_responses()
    assert sorted((p.direction, str(p.per_million)) for p in prices) == [
        ("input", "0.035000"),
        ("output", "0.14000"),
    ]


# --- Prices -------------------------------------------------------------------------------------


def price_run(
    bedrock: tuple[Any, Stubber],
    nova_input: str,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str]:
    """Run with --prices: Nova Micro per 1K tokens, Haiku per 1M in the Marketplace offer."""
    client, stubber = bedrock
    expect_aws(client, stubber)
    pricing = pricing_client()
    products = {
        "AmazonBedrock": [
            [
                price_item("Nova Micro", "input", nova_input),
                price_item("Nova Micro", "output", "0.00014"),
            ]
        ],
        "AmazonBedrockFoundationModels": [
            [
                price_item(
                    "Claude Haiku 4.5 (Amazon Bedrock Edition)",
                    "input",
                    "1.0000000000",
                    unit="1M tokens",
                    name_attribute="servicename",
                )
            ]
        ],
    }
    with Stubber(pricing) as stubber:
        expect_prices(stubber, pricing, products)
        code = run(client, "--prices", pricing=pricing)
        stubber.assert_no_pending_responses()
    return code, capsys.readouterr().out


def test_prices_that_match_the_price_list_are_no_drift(
    bedrock: tuple[Any, Stubber], environment: Install, capsys: pytest.CaptureFixture[str]
) -> None:
    environment(base_catalog())
    code, out = price_run(bedrock, "0.000035", capsys)
    assert code == 0
    assert "prices checked" in out and "Summary: no drift" in out


def test_a_price_more_than_one_percent_off_affects_the_enabled_model(
    bedrock: tuple[Any, Stubber], environment: Install, capsys: pytest.CaptureFixture[str]
) -> None:
    environment(base_catalog())
    code, out = price_run(bedrock, "0.00004", capsys)
    assert code == 1
    assert (
        f"  ! {NOVA} [enabled]: input price differs by more than 1%\n"
        "      catalog: $0.035\n      AWS:     $0.04\n"
    ) in out


def test_an_enabled_model_without_a_price_list_product_is_price_not_found_and_exits_zero(
    bedrock: tuple[Any, Stubber], environment: Install, capsys: pytest.CaptureFixture[str]
) -> None:
    environment(base_catalog(spec(HAIKU, geographies=(US, GLOBAL), price=("1", "5"))))
    client, stubber = bedrock
    expect_aws(client, stubber)
    pricing = pricing_client()
    with Stubber(pricing) as price_stubber:
        expect_prices(price_stubber, pricing, {})
        assert run(client, "--prices", pricing=pricing) == 0
    out = capsys.readouterr().out
    assert f"  * {HAIKU} [enabled]: price not found\n" in out
    assert f"  * {NOVA} [enabled]: price not found\n" in out
    assert "none affecting an enabled model -> exit 0" in out


# --- Cannot check -------------------------------------------------------------------------------


def fail_with(error: Exception) -> Callable[[str | None], Any]:
    def factory(region: str | None) -> Any:
        raise error

    return factory


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (NoCredentialsError(), "catalog-check: no AWS credentials found"),
        (
            EndpointConnectionError(endpoint_url="https://bedrock.us-east-1.amazonaws.com"),
            "catalog-check: cannot reach the AWS endpoint",
        ),
    ],
)
def test_cannot_check_exits_two_with_one_line_and_no_report(
    environment: Install, capsys: pytest.CaptureFixture[str], error: Exception, line: str
) -> None:
    environment(base_catalog())
    assert main(["--env", "prod"], bedrock_factory=fail_with(error), today=TODAY) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(line) and captured.err.count("\n") == 1
    assert captured.out == ""


@pytest.mark.parametrize(
    ("code", "line"),
    [
        ("ExpiredTokenException", "the AWS credentials were refused (ExpiredTokenException)"),
        ("AccessDeniedException", "ListFoundationModels failed (AccessDeniedException)"),
    ],
)
def test_a_refused_call_exits_two(
    bedrock: tuple[Any, Stubber],
    environment: Install,
    capsys: pytest.CaptureFixture[str],
    code: str,
    line: str,
) -> None:
    client, stubber = bedrock
    environment(base_catalog())
    stubber.add_client_error("list_foundation_models", code, "no", http_status_code=403)
    assert run(client) == 2
    assert capsys.readouterr().err.startswith(f"catalog-check: {line}")


def test_no_region_anywhere_exits_two(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    environment: Install,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The real client factory: boto3 finds no region in the environment or a config file.
    environment(base_catalog(), region=None)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing-config"))
    assert main(["--env", "prod"], today=TODAY) == 2
    assert capsys.readouterr().err.startswith("catalog-check: no region: pass --region")


@pytest.mark.parametrize(
    "error", [ConfigError("config/prod.toml: bad key"), CatalogError("anthropic.toml: bad")]
)
def test_a_config_or_catalog_error_exits_two(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], error: Exception
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(cli, "load_config", broken)
    assert main(["--env", "prod"], bedrock_factory=fail_with(AssertionError()), today=TODAY) == 2
    assert capsys.readouterr().err == f"catalog-check: {error}\n"


def test_region_option_wins_over_the_config(
    bedrock: tuple[Any, Stubber], environment: Install
) -> None:
    client, stubber = bedrock
    environment(base_catalog(), region="us-west-2")
    expect_aws(client, stubber)
    regions: list[str | None] = []
    assert run(client, "--region", "us-east-1", regions=regions) == 0
    assert regions == ["us-east-1"]


def test_every_call_is_a_read(bedrock: tuple[Any, Stubber], environment: Install) -> None:
    client, stubber = bedrock
    environment(base_catalog())
    expect_aws(client, stubber)
    calls: list[str] = []
    client.meta.events.register(
        "before-parameter-build", lambda model, **_: calls.append(model.name)
    )
    assert run(client) == 0
    assert calls and all(name.startswith(("List", "Get")) for name in calls)


def test_a_client_error_other_than_not_found_on_a_used_profile_is_raised(
    bedrock: tuple[Any, Stubber],
) -> None:
    client, stubber = bedrock
    expect_models(stubber, client, model_summary(NOVA))
    expect_profile_pages(stubber, client, [])
    stubber.add_client_error("get_inference_profile", "ThrottlingException", "slow down")
    with pytest.raises(ClientError):
        collect_aws_facts(client, profile_ids=[f"us.{NOVA}"])
