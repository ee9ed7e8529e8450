"""The catalog is consistent entry by entry, tells each lifecycle and covers the families."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from lambdas.gateway.catalog import (
    CHAT_CAPABILITIES,
    Api,
    Capability,
    Geography,
    ImageQuality,
    InvocationPath,
    LifecycleStatus,
    Modality,
    ModelSpec,
    UnknownModelError,
    build_catalog,
)
from model_catalog import CatalogError, all_models, get_model, load_catalog
from model_catalog.currency import current_successor

CATALOG = all_models()
SPECS = list(CATALOG.values())
CHECKED = date(2026, 11, 30)

# The models of the kit's first catalog keep their rows, with their real lifecycle.
SEED_IDS = {
    "anthropic.claude-3-haiku-20240307-v1:0",
    "anthropic.claude-3-sonnet-20240229-v1:0",
    "anthropic.claude-3-opus-20240229-v1:0",
    "meta.llama3-8b-instruct-v1:0",
    "meta.llama3-70b-instruct-v1:0",
    "mistral.mistral-large-2402-v1:0",
    "mistral.mixtral-8x7b-instruct-v0:1",
    "cohere.command-r-plus-v1:0",
    "stability.sd3-large-v1:0",
    "amazon.titan-text-express-v1",
    "amazon.titan-embed-text-v2:0",
    "amazon.titan-image-generator-v2:0",
}
# End of life on 2026-11-30, per AWS (model cards, lifecycle page): never usable again.
END_OF_LIFE = {
    "anthropic.claude-3-haiku-20240307-v1:0": date(2026, 9, 10),
    "anthropic.claude-3-5-haiku-20241022-v1:0": date(2026, 6, 19),
    "anthropic.claude-3-sonnet-20240229-v1:0": date(2026, 7, 30),
    "anthropic.claude-3-5-sonnet-20241022-v2:0": date(2026, 7, 30),
    "anthropic.claude-3-7-sonnet-20250219-v1:0": date(2026, 4, 28),
    "anthropic.claude-sonnet-4-20250514-v1:0": date(2026, 10, 14),
    "meta.llama3-2-90b-instruct-v1:0": date(2026, 7, 7),
    "cohere.command-r-v1:0": date(2026, 8, 19),
    "cohere.command-r-plus-v1:0": date(2026, 8, 19),
    "amazon.titan-image-generator-v2:0": date(2026, 6, 30),
    "amazon.nova-canvas-v1:0": date(2026, 9, 30),
}
# Families the kit serves and the newer families Converse supports well.
FAMILIES = {"anthropic", "meta", "mistral", "cohere", "stability", "amazon", "openai", "deepseek"}


def test_catalog_keeps_every_seed_model() -> None:
    assert set(CATALOG) >= SEED_IDS


def test_every_family_has_an_active_model_of_each_kind_it_offers() -> None:
    active = {
        (spec.provider, spec.modality)
        for spec in SPECS
        if spec.lifecycle.status_on(CHECKED) is LifecycleStatus.ACTIVE
    }
    assert {provider for provider, _ in active} >= FAMILIES
    assert {modality for _, modality in active} == set(Modality)


@pytest.mark.parametrize(("model_id", "end_of_life"), END_OF_LIFE.items())
def test_models_past_their_end_of_life_are_end_of_life(model_id: str, end_of_life: date) -> None:
    lifecycle = get_model(model_id).lifecycle
    assert lifecycle.stage.end_of_life == end_of_life
    assert lifecycle.status_on(end_of_life - date.resolution) is not LifecycleStatus.END_OF_LIFE
    assert lifecycle.status_on(end_of_life) is LifecycleStatus.END_OF_LIFE


def test_claude_3_haiku_lives_on_in_the_regions_aws_names() -> None:
    lifecycle = get_model("anthropic.claude-3-haiku-20240307-v1:0").lifecycle
    assert lifecycle.status_on(CHECKED, "us-east-1") is LifecycleStatus.END_OF_LIFE
    for region in ("ca-central-1", "eu-central-2", "sa-east-1"):
        assert lifecycle.status_on(CHECKED, region) is LifecycleStatus.ACTIVE
    assert lifecycle.status_on(CHECKED, "ap-northeast-2") is LifecycleStatus.LEGACY


def test_opus_4_1_is_legacy_until_its_end_of_life_date() -> None:
    lifecycle = get_model("anthropic.claude-opus-4-1-20250805-v1:0").lifecycle
    assert lifecycle.status_on(date(2026, 7, 7)) is LifecycleStatus.ACTIVE
    assert lifecycle.status_on(CHECKED) is LifecycleStatus.LEGACY
    assert lifecycle.status_on(date(2027, 1, 8)) is LifecycleStatus.END_OF_LIFE


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.model_id)
def test_every_model_not_active_leads_to_an_active_successor_of_its_kind(spec: ModelSpec) -> None:
    if spec.lifecycle.status_on(CHECKED) is LifecycleStatus.ACTIVE:
        return
    successor = current_successor(spec, CATALOG, CHECKED, None)
    assert successor is not None, f"{spec.model_id} has no ACTIVE successor"
    assert successor.modality is spec.modality


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.model_id)
def test_every_entry_cites_an_aws_page_and_the_day_it_was_checked(spec: ModelSpec) -> None:
    assert spec.sources and spec.checked == CHECKED
    assert spec.sources[0].startswith(("https://docs.aws.amazon.com/", "https://aws.amazon.com/"))


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.model_id)
def test_capabilities_fit_the_api(spec: ModelSpec) -> None:
    if spec.api is Api.INVOKE:
        assert not spec.capabilities & CHAT_CAPABILITIES
    else:
        assert 0 < spec.max_output_tokens <= spec.context_window
        if spec.supports(Capability.STREAMING_TOOL_USE):
            assert spec.supports(Capability.TOOL_USE) and spec.supports(Capability.STREAMING)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.model_id)
def test_profiles_give_the_id_and_path_of_each_call(spec: ModelSpec) -> None:
    if spec.requires_profile:
        with pytest.raises(ValueError, match="requires a cross-region inference profile"):
            spec.route(None)
    else:
        assert spec.route(None) == (spec.model_id, InvocationPath.IN_REGION)
    for geography in spec.profile_geographies:
        path = InvocationPath.GLOBAL if geography is Geography.GLOBAL else InvocationPath.GEOGRAPHIC
        assert spec.route(geography) == (f"{geography.value}.{spec.model_id}", path)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.model_id)
def test_every_path_a_model_is_called_through_has_a_positive_price(spec: ModelSpec) -> None:
    pricing = spec.pricing
    if spec.modality is Modality.IMAGE:
        assert pricing.images and not pricing.tokens
        assert pricing.image_price(1024, 1024, ImageQuality.STANDARD) > 0
        return
    geographies = [None, *spec.profile_geographies] if not spec.requires_profile else []
    for geography in geographies or spec.profile_geographies:
        _, path = spec.route(geography)
        assert pricing.token_price(path).input_per_million > 0, path


def test_claude_global_profiles_cost_ten_percent_less_than_geographic_ones() -> None:
    for model_id in (
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "anthropic.claude-haiku-4-5-20251001-v1:0",
    ):
        pricing = get_model(model_id).pricing
        geo = pricing.token_price(InvocationPath.GEOGRAPHIC)
        world = pricing.token_price(InvocationPath.GLOBAL)
        assert geo.input_per_million == world.input_per_million * Decimal("1.1")
        assert geo.output_per_million == world.output_per_million * Decimal("1.1")


def test_cost_is_per_million_tokens_and_per_path() -> None:
    pricing = get_model("anthropic.claude-haiku-4-5-20251001-v1:0").pricing
    assert pricing.token_price(InvocationPath.GLOBAL).cost(1_000_000, 200_000) == Decimal(2)
    assert pricing.token_price(InvocationPath.GEOGRAPHIC).cost(1_000_000, 200_000) == Decimal("2.2")


def test_image_prices_follow_size_and_quality_tiers() -> None:
    canvas = get_model("amazon.nova-canvas-v1:0").pricing
    assert canvas.image_price(1024, 1024, ImageQuality.STANDARD) == Decimal("0.04")
    assert canvas.image_price(1024, 1024, ImageQuality.PREMIUM) == Decimal("0.06")
    assert canvas.image_price(2048, 1024, ImageQuality.STANDARD) == Decimal("0.06")
    assert canvas.image_price(2048, 2048, ImageQuality.PREMIUM) == Decimal("0.08")
    ultra = get_model("stability.stable-image-ultra-v1:1").pricing
    assert ultra.image_price(2048, 2048, ImageQuality.PREMIUM) == Decimal("0.08")


def test_llama_3_1_may_write_4k_tokens() -> None:
    assert get_model("meta.llama3-1-70b-instruct-v1:0").max_output_tokens == 4096


def test_llama_4_does_not_stream() -> None:
    for model_id in (
        "meta.llama4-scout-17b-instruct-v1:0",
        "meta.llama4-maverick-17b-instruct-v1:0",
    ):
        assert not get_model(model_id).supports(Capability.STREAMING)


def test_claude_sonnet_4_5_has_no_apac_profile() -> None:
    assert (
        Geography.APAC
        not in get_model("anthropic.claude-sonnet-4-5-20250929-v1:0").profile_geographies
    )


def test_claude_45_models_take_temperature_or_top_p_not_both() -> None:
    exclusive = {s.model_id for s in SPECS if s.supports(Capability.EXCLUSIVE_TEMPERATURE_TOP_P)}
    assert exclusive == {
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "anthropic.claude-haiku-4-5-20251001-v1:0",
    }


def test_spec_survives_the_trip_to_the_gateway() -> None:
    for spec in SPECS:
        again = ModelSpec.from_dict(spec.to_dict())
        for field in ("model_id", "capabilities", "profile_geographies", "requires_profile"):
            assert getattr(again, field) == getattr(spec, field)
        assert again.pricing.tokens == spec.pricing.tokens
        assert again.pricing.images == spec.pricing.images
        assert again.lifecycle.stage == spec.lifecycle.stage


def test_unknown_model_raises_a_dedicated_error() -> None:
    with pytest.raises(UnknownModelError):
        get_model("openai.gpt-4o")


def test_duplicate_entries_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate catalog entry"):
        build_catalog((SPECS[0], SPECS[0]))


BROKEN = """
[[models]]
id = "acme.model-v1:0"
name = "Acme"
provider = "acme"
modality = "text"
capabilities = ["streaming"]
context_window = 1000
max_output_tokens = 100
sources = ["https://docs.aws.amazon.com/x"]
checked = 2026-11-30
{extra}
[models.pricing]
in_region = [1, 2]
"""


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("max_output_tokens_typo = 1", "max_output_tokens_typo: Extra inputs are not permitted"),
        ("[models.lifecycle]\nend_of_life = 2026-01-01", "needs a successor"),
        (
            '[models.lifecycle]\nlegacy = 2026-02-01\nend_of_life = 2026-01-01\nsuccessor = "a.b"',
            "dates must run legacy",
        ),
        ('unverified = ["colour"]', "unverified names unknown fields: colour"),
    ],
)
def test_a_broken_catalog_file_is_one_line_naming_file_model_and_field(
    tmp_path: Path, extra: str, message: str
) -> None:
    (tmp_path / "acme.toml").write_text(BROKEN.format(extra=extra), encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path)
    text = str(caught.value)
    assert text.startswith("acme.toml: acme.model-v1:0: ") and message in text
    assert "\n" not in text


def test_a_successor_outside_the_catalog_is_refused(tmp_path: Path) -> None:
    extra = '[models.lifecycle]\nstatus = "END_OF_LIFE"\nsuccessor = "acme.newer-v1:0"'
    (tmp_path / "acme.toml").write_text(BROKEN.format(extra=extra), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"successor 'acme\.newer-v1:0' is not in the catalog"):
        load_catalog(tmp_path)


def test_models_doc_is_generated_from_the_current_catalog() -> None:
    from local.catalog_doc import MODELS_DOC, render

    assert MODELS_DOC.read_text(encoding="utf-8") == render(), "run: python -m local.catalog_doc"
