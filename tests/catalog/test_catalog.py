"""The catalog is consistent entry by entry and covers every family the kit promises."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from lambdas.gateway.catalog import (
    GEOGRAPHY_REGIONS,
    Adapter,
    Api,
    Capability,
    Geography,
    Lifecycle,
    Modality,
    ModelSpec,
    Provider,
    UnknownModelError,
    all_models,
    build_catalog,
    get_model,
)

CATALOG = all_models()
SPECS = list(CATALOG.values())
FIELDS = {f.name for f in dataclasses.fields(ModelSpec)}
CHAT_ONLY = {
    Capability.SYSTEM_PROMPT,
    Capability.TOOL_USE,
    Capability.VISION,
    Capability.STREAMING,
    Capability.STREAMING_TOOL_USE,
    Capability.GUARDRAILS,
    Capability.DOCUMENT_CHAT,
    Capability.EXCLUSIVE_TEMPERATURE_TOP_P,
}
ADAPTER_MODALITY = {
    Adapter.CONVERSE: (Api.CONVERSE, Modality.TEXT),
    Adapter.TITAN_EMBED: (Api.INVOKE, Modality.EMBEDDING),
    Adapter.COHERE_EMBED: (Api.INVOKE, Modality.EMBEDDING),
    Adapter.STABILITY_IMAGE: (Api.INVOKE, Modality.IMAGE),
    Adapter.NOVA_TITAN_IMAGE: (Api.INVOKE, Modality.IMAGE),
}

# Every model the brief and the foundation issue name, by Bedrock model id.
REQUIRED_IDS = {
    "anthropic.claude-3-haiku-20240307-v1:0",
    "anthropic.claude-3-sonnet-20240229-v1:0",
    "anthropic.claude-3-opus-20240229-v1:0",
    "anthropic.claude-3-5-sonnet-20241022-v2:0",
    "anthropic.claude-3-5-haiku-20241022-v1:0",
    "anthropic.claude-3-7-sonnet-20250219-v1:0",
    "anthropic.claude-sonnet-4-20250514-v1:0",
    "anthropic.claude-opus-4-1-20250805-v1:0",
    "anthropic.claude-sonnet-4-5-20250929-v1:0",
    "anthropic.claude-haiku-4-5-20251001-v1:0",
    "meta.llama3-8b-instruct-v1:0",
    "meta.llama3-70b-instruct-v1:0",
    "meta.llama3-1-8b-instruct-v1:0",
    "meta.llama3-1-70b-instruct-v1:0",
    "meta.llama3-2-11b-instruct-v1:0",
    "meta.llama3-2-90b-instruct-v1:0",
    "meta.llama3-3-70b-instruct-v1:0",
    "mistral.mistral-7b-instruct-v0:2",
    "mistral.mixtral-8x7b-instruct-v0:1",
    "mistral.mistral-large-2402-v1:0",
    "mistral.mistral-large-2407-v1:0",
    "cohere.command-r-v1:0",
    "cohere.command-r-plus-v1:0",
    "cohere.embed-english-v3",
    "cohere.embed-multilingual-v3",
    "stability.sd3-large-v1:0",
    "stability.sd3-5-large-v1:0",
    "stability.stable-image-core-v1:1",
    "stability.stable-image-ultra-v1:1",
    "amazon.titan-text-express-v1",
    "amazon.titan-text-lite-v1",
    "amazon.titan-text-premier-v1:0",
    "amazon.titan-embed-text-v2:0",
    "amazon.titan-image-generator-v2:0",
    "amazon.nova-micro-v1:0",
    "amazon.nova-lite-v1:0",
    "amazon.nova-pro-v1:0",
    "amazon.nova-canvas-v1:0",
}


def test_catalog_covers_every_model_of_the_brief() -> None:
    assert set(CATALOG) >= REQUIRED_IDS


def test_catalog_covers_every_provider_and_modality() -> None:
    assert {spec.provider for spec in SPECS} == set(Provider)
    assert {spec.modality for spec in SPECS} == set(Modality)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.model_id)
def test_adapter_matches_api_and_modality(spec: ModelSpec) -> None:
    assert (spec.api, spec.modality) == ADAPTER_MODALITY[spec.adapter]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.model_id)
def test_capabilities_fit_the_api(spec: ModelSpec) -> None:
    if spec.api is Api.INVOKE:
        assert not spec.capabilities & CHAT_ONLY
    else:
        # Every Converse text model streams; streamed tool use implies tool use.
        assert Capability.STREAMING in spec.capabilities
        if Capability.STREAMING_TOOL_USE in spec.capabilities:
            assert Capability.TOOL_USE in spec.capabilities
        assert 0 < spec.max_output_tokens <= spec.context_window


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.model_id)
def test_cross_region_facts_are_coherent(spec: ModelSpec) -> None:
    if spec.requires_profile:
        assert spec.profile_geographies, "a required profile must be offered somewhere"
        with pytest.raises(ValueError, match="requires a cross-region inference profile"):
            spec.invocation_id(None)
    else:
        assert spec.invocation_id(None) == spec.model_id
    for geography in Geography:
        if geography in spec.profile_geographies:
            assert spec.invocation_id(geography) == f"{geography.value}.{spec.model_id}"
        elif not spec.requires_profile:
            assert spec.invocation_id(geography) == spec.model_id


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.model_id)
def test_prices_are_dated_and_priced_in_the_right_unit(spec: ModelSpec) -> None:
    price = spec.price
    assert price.as_of and not price.verified  # the reference marks every price UNVERIFIED
    if spec.modality is Modality.IMAGE:
        assert price.per_image > 0 and price.input_per_1k == price.output_per_1k == 0
    else:
        assert price.input_per_1k > 0 and price.per_image == 0
    if spec.modality is Modality.TEXT:
        assert price.output_per_1k > 0


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.model_id)
def test_unverified_marks_name_real_fields(spec: ModelSpec) -> None:
    assert spec.unverified <= FIELDS
    if spec.lifecycle is Lifecycle.LEGACY:
        assert "lifecycle" in spec.unverified


def test_models_without_system_prompt_support_match_the_reference() -> None:
    without = {
        s.model_id
        for s in SPECS
        if s.api is Api.CONVERSE and not s.supports(Capability.SYSTEM_PROMPT)
    }
    assert without == {
        "mistral.mistral-7b-instruct-v0:2",
        "mistral.mixtral-8x7b-instruct-v0:1",
        "amazon.titan-text-express-v1",
        "amazon.titan-text-lite-v1",
        "amazon.titan-text-premier-v1:0",
    }


def test_claude_45_models_take_temperature_or_top_p_not_both() -> None:
    exclusive = {s.model_id for s in SPECS if s.supports(Capability.EXCLUSIVE_TEMPERATURE_TOP_P)}
    assert exclusive == {
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "anthropic.claude-haiku-4-5-20251001-v1:0",
    }


def test_cost_is_computed_per_thousand_tokens_and_per_image() -> None:
    haiku = get_model("anthropic.claude-3-haiku-20240307-v1:0")
    assert haiku.price.cost(input_tokens=1000, output_tokens=2000) == Decimal("0.00275")
    canvas = get_model("amazon.nova-canvas-v1:0")
    assert canvas.price.cost(images=2) == Decimal("0.08")


def test_geographic_profiles_list_destination_regions() -> None:
    for geography in (Geography.US, Geography.EU, Geography.APAC):
        assert GEOGRAPHY_REGIONS[geography]
    assert GEOGRAPHY_REGIONS[Geography.GLOBAL] == ()


def test_unknown_model_raises_a_dedicated_error() -> None:
    with pytest.raises(UnknownModelError):
        get_model("openai.gpt-4o")


def test_duplicate_entries_are_refused() -> None:
    spec = SPECS[0]
    with pytest.raises(ValueError, match="duplicate catalog entry"):
        build_catalog((spec, spec))


def test_models_doc_is_generated_from_the_current_catalog() -> None:
    from local.catalog_doc import MODELS_DOC, render

    assert MODELS_DOC.read_text(encoding="utf-8") == render(), "run: python -m local.catalog_doc"
