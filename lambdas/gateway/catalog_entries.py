"""The model catalog's entries: one record per foundation model the kit can enable.

Facts come from `shared/reference/bedrock.md` (model ids, Converse feature matrix, limits, prices).
Fields the reference marks UNVERIFIED are named in each entry's `unverified` set. To add a model:
add a record here, give it an existing adapter (or write one); the catalog tests tell you
the rest.
"""

from __future__ import annotations

from decimal import Decimal

from .catalog import (
    Adapter,
    Api,
    Capability,
    Geography,
    Lifecycle,
    Modality,
    ModelSpec,
    Price,
    Provider,
    build_catalog,
)

C = Capability
US, EU, APAC, GLOBAL = Geography.US, Geography.EU, Geography.APAC, Geography.GLOBAL

# Capability sets from the AWS "Supported models and model features" (Converse) table.
CLAUDE_FULL = frozenset(
    {
        C.SYSTEM_PROMPT,
        C.TOOL_USE,
        C.VISION,
        C.STREAMING,
        C.STREAMING_TOOL_USE,
        C.GUARDRAILS,
        C.DOCUMENT_CHAT,
    }
)
CLAUDE_NO_GUARDRAILS = CLAUDE_FULL - {C.GUARDRAILS}
CLAUDE_45 = CLAUDE_NO_GUARDRAILS | {C.EXCLUSIVE_TEMPERATURE_TOP_P}
LLAMA_BASIC = frozenset({C.SYSTEM_PROMPT, C.STREAMING, C.GUARDRAILS, C.DOCUMENT_CHAT})
LLAMA_TOOLS = LLAMA_BASIC | {C.TOOL_USE}
LLAMA_VISION = LLAMA_TOOLS | {C.VISION}
MISTRAL_INSTRUCT = frozenset({C.STREAMING, C.GUARDRAILS, C.DOCUMENT_CHAT})
MISTRAL_LARGE = MISTRAL_INSTRUCT | {C.SYSTEM_PROMPT, C.TOOL_USE}
COHERE_COMMAND = frozenset(
    {C.SYSTEM_PROMPT, C.STREAMING, C.TOOL_USE, C.STREAMING_TOOL_USE, C.DOCUMENT_CHAT}
)
TITAN_TEXT = frozenset({C.STREAMING, C.GUARDRAILS, C.DOCUMENT_CHAT})
NOVA_MICRO = frozenset(
    {C.SYSTEM_PROMPT, C.STREAMING, C.TOOL_USE, C.STREAMING_TOOL_USE, C.GUARDRAILS}
)
NOVA_MULTIMODAL = NOVA_MICRO | {C.VISION, C.DOCUMENT_CHAT}
NONE: frozenset[Capability] = frozenset()

# Facts the reference does not confirm for every entry.
PROFILE_FACTS = frozenset({"profile_geographies"})
LIMIT_FACTS = frozenset({"context_window", "max_output_tokens"})


def _tokens(input_per_1k: str, output_per_1k: str) -> Price:
    return Price(input_per_1k=Decimal(input_per_1k), output_per_1k=Decimal(output_per_1k))


def _image(per_image: str) -> Price:
    return Price(per_image=Decimal(per_image))


def _chat(
    model_id: str,
    name: str,
    provider: Provider,
    capabilities: frozenset[Capability],
    *,
    context_window: int,
    max_output_tokens: int,
    price: Price,
    geographies: frozenset[Geography] = frozenset(),
    requires_profile: bool = False,
    lifecycle: Lifecycle = Lifecycle.ACTIVE,
    unverified: frozenset[str] = frozenset(),
) -> ModelSpec:
    return ModelSpec(
        model_id=model_id,
        name=name,
        provider=provider,
        modality=Modality.TEXT,
        api=Api.CONVERSE,
        adapter=Adapter.CONVERSE,
        capabilities=capabilities,
        context_window=context_window,
        max_output_tokens=max_output_tokens,
        price=price,
        profile_geographies=geographies,
        requires_profile=requires_profile,
        lifecycle=lifecycle,
        unverified=unverified | ({"lifecycle"} if lifecycle is Lifecycle.LEGACY else frozenset()),
    )


def _invoke(
    model_id: str,
    name: str,
    provider: Provider,
    modality: Modality,
    adapter: Adapter,
    *,
    price: Price,
    context_window: int,
    max_output_tokens: int = 0,
    lifecycle: Lifecycle = Lifecycle.ACTIVE,
    unverified: frozenset[str] = frozenset(),
) -> ModelSpec:
    return ModelSpec(
        model_id=model_id,
        name=name,
        provider=provider,
        modality=modality,
        api=Api.INVOKE,
        adapter=adapter,
        capabilities=NONE,
        context_window=context_window,
        max_output_tokens=max_output_tokens,
        price=price,
        lifecycle=lifecycle,
        unverified=unverified | ({"lifecycle"} if lifecycle is Lifecycle.LEGACY else frozenset()),
    )


A, M, MI, CO, ST, AM = (
    Provider.ANTHROPIC,
    Provider.META,
    Provider.MISTRAL,
    Provider.COHERE,
    Provider.STABILITY,
    Provider.AMAZON,
)
LEGACY = Lifecycle.LEGACY
CLAUDE_3_SONNET_PRICE = _tokens("0.003", "0.015")
CLAUDE_OPUS_PRICE = _tokens("0.015", "0.075")

_ENTRIES: tuple[ModelSpec, ...] = (
    # --- Anthropic Claude -------------------------------------------------------------------
    _chat(
        "anthropic.claude-3-haiku-20240307-v1:0",
        "Claude 3 Haiku",
        A,
        CLAUDE_FULL,
        context_window=200_000,
        max_output_tokens=4096,
        price=_tokens("0.00025", "0.00125"),
        geographies=frozenset({US, EU, APAC}),
        unverified=PROFILE_FACTS,
    ),
    _chat(
        "anthropic.claude-3-sonnet-20240229-v1:0",
        "Claude 3 Sonnet",
        A,
        CLAUDE_FULL,
        context_window=200_000,
        max_output_tokens=4096,
        price=CLAUDE_3_SONNET_PRICE,
        geographies=frozenset({US, EU, APAC}),
        lifecycle=LEGACY,
        unverified=PROFILE_FACTS,
    ),
    _chat(
        "anthropic.claude-3-opus-20240229-v1:0",
        "Claude 3 Opus",
        A,
        CLAUDE_FULL,
        context_window=200_000,
        max_output_tokens=4096,
        price=CLAUDE_OPUS_PRICE,
        geographies=frozenset({US}),
        lifecycle=LEGACY,
        unverified=PROFILE_FACTS,
    ),
    _chat(
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
        "Claude 3.5 Sonnet v2",
        A,
        CLAUDE_FULL,
        context_window=200_000,
        max_output_tokens=8192,
        price=CLAUDE_3_SONNET_PRICE,
        geographies=frozenset({US, APAC}),
        requires_profile=True,
        unverified=PROFILE_FACTS | LIMIT_FACTS,
    ),
    _chat(
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        "Claude 3.5 Haiku",
        A,
        CLAUDE_NO_GUARDRAILS - {C.VISION},
        context_window=200_000,
        max_output_tokens=8192,
        price=_tokens("0.0008", "0.004"),
        geographies=frozenset({US}),
        unverified=PROFILE_FACTS | LIMIT_FACTS,
    ),
    _chat(
        "anthropic.claude-3-7-sonnet-20250219-v1:0",
        "Claude 3.7 Sonnet",
        A,
        CLAUDE_FULL,
        context_window=200_000,
        max_output_tokens=64_000,
        price=CLAUDE_3_SONNET_PRICE,
        geographies=frozenset({US, EU, APAC}),
        requires_profile=True,
        unverified=PROFILE_FACTS | LIMIT_FACTS,
    ),
    _chat(
        "anthropic.claude-sonnet-4-20250514-v1:0",
        "Claude Sonnet 4",
        A,
        CLAUDE_NO_GUARDRAILS,
        context_window=200_000,
        max_output_tokens=64_000,
        price=CLAUDE_3_SONNET_PRICE,
        geographies=frozenset({US, EU, APAC, GLOBAL}),
        requires_profile=True,
        unverified=PROFILE_FACTS | LIMIT_FACTS,
    ),
    _chat(
        "anthropic.claude-opus-4-1-20250805-v1:0",
        "Claude Opus 4.1",
        A,
        CLAUDE_NO_GUARDRAILS,
        context_window=200_000,
        max_output_tokens=32_000,
        price=CLAUDE_OPUS_PRICE,
        geographies=frozenset({US}),
        requires_profile=True,
        unverified=PROFILE_FACTS | LIMIT_FACTS | {"capabilities"},
    ),
    _chat(
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "Claude Sonnet 4.5",
        A,
        CLAUDE_45,
        context_window=200_000,
        max_output_tokens=64_000,
        price=CLAUDE_3_SONNET_PRICE,
        geographies=frozenset({US, EU, APAC, GLOBAL}),
        requires_profile=True,
        unverified=PROFILE_FACTS | LIMIT_FACTS | {"capabilities"},
    ),
    _chat(
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "Claude Haiku 4.5",
        A,
        CLAUDE_45,
        context_window=200_000,
        max_output_tokens=64_000,
        price=_tokens("0.001", "0.005"),
        geographies=frozenset({US, EU, GLOBAL}),
        requires_profile=True,
        unverified=PROFILE_FACTS | LIMIT_FACTS | {"capabilities"},
    ),
    # --- Meta Llama ---------------------------------------------------------------------------
    _chat(
        "meta.llama3-8b-instruct-v1:0",
        "Llama 3 8B Instruct",
        M,
        LLAMA_BASIC,
        context_window=8192,
        max_output_tokens=2048,
        price=_tokens("0.0003", "0.0006"),
        lifecycle=LEGACY,
        unverified=LIMIT_FACTS,
    ),
    _chat(
        "meta.llama3-70b-instruct-v1:0",
        "Llama 3 70B Instruct",
        M,
        LLAMA_BASIC,
        context_window=8192,
        max_output_tokens=2048,
        price=_tokens("0.00265", "0.0035"),
        lifecycle=LEGACY,
        unverified=LIMIT_FACTS,
    ),
    _chat(
        "meta.llama3-1-8b-instruct-v1:0",
        "Llama 3.1 8B Instruct",
        M,
        LLAMA_TOOLS,
        context_window=128_000,
        max_output_tokens=2048,
        price=_tokens("0.00022", "0.00022"),
        geographies=frozenset({US}),
        unverified=PROFILE_FACTS | LIMIT_FACTS,
    ),
    _chat(
        "meta.llama3-1-70b-instruct-v1:0",
        "Llama 3.1 70B Instruct",
        M,
        LLAMA_TOOLS,
        context_window=128_000,
        max_output_tokens=2048,
        price=_tokens("0.00072", "0.00072"),
        geographies=frozenset({US}),
        unverified=PROFILE_FACTS | LIMIT_FACTS,
    ),
    _chat(
        "meta.llama3-2-11b-instruct-v1:0",
        "Llama 3.2 11B Vision Instruct",
        M,
        LLAMA_VISION,
        context_window=128_000,
        max_output_tokens=2048,
        price=_tokens("0.00016", "0.00016"),
        geographies=frozenset({US}),
        requires_profile=True,
        unverified=PROFILE_FACTS | LIMIT_FACTS | {"price", "requires_profile"},
    ),
    _chat(
        "meta.llama3-2-90b-instruct-v1:0",
        "Llama 3.2 90B Vision Instruct",
        M,
        LLAMA_VISION,
        context_window=128_000,
        max_output_tokens=2048,
        price=_tokens("0.00072", "0.00072"),
        geographies=frozenset({US}),
        requires_profile=True,
        unverified=PROFILE_FACTS | LIMIT_FACTS | {"price", "requires_profile"},
    ),
    _chat(
        "meta.llama3-3-70b-instruct-v1:0",
        "Llama 3.3 70B Instruct",
        M,
        LLAMA_TOOLS,
        context_window=128_000,
        max_output_tokens=2048,
        price=_tokens("0.00072", "0.00072"),
        geographies=frozenset({US}),
        requires_profile=True,
        unverified=PROFILE_FACTS | LIMIT_FACTS | {"price", "capabilities", "requires_profile"},
    ),
    # --- Mistral ------------------------------------------------------------------------------
    _chat(
        "mistral.mistral-7b-instruct-v0:2",
        "Mistral 7B Instruct",
        MI,
        MISTRAL_INSTRUCT,
        context_window=32_000,
        max_output_tokens=8192,
        price=_tokens("0.00015", "0.0002"),
        lifecycle=LEGACY,
        unverified=frozenset({"context_window"}),
    ),
    _chat(
        "mistral.mixtral-8x7b-instruct-v0:1",
        "Mixtral 8x7B Instruct",
        MI,
        MISTRAL_INSTRUCT,
        context_window=32_000,
        max_output_tokens=4096,
        price=_tokens("0.00045", "0.0007"),
        lifecycle=LEGACY,
        unverified=frozenset({"context_window"}),
    ),
    _chat(
        "mistral.mistral-large-2402-v1:0",
        "Mistral Large (24.02)",
        MI,
        MISTRAL_LARGE,
        context_window=32_000,
        max_output_tokens=8192,
        price=_tokens("0.004", "0.012"),
        unverified=frozenset({"context_window"}),
    ),
    _chat(
        "mistral.mistral-large-2407-v1:0",
        "Mistral Large 2 (24.07)",
        MI,
        MISTRAL_LARGE,
        context_window=128_000,
        max_output_tokens=8192,
        price=_tokens("0.002", "0.006"),
        unverified=LIMIT_FACTS | {"price"},
    ),
    # --- Cohere -------------------------------------------------------------------------------
    _chat(
        "cohere.command-r-v1:0",
        "Command R",
        CO,
        COHERE_COMMAND,
        context_window=128_000,
        max_output_tokens=4000,
        price=_tokens("0.0005", "0.0015"),
        unverified=LIMIT_FACTS,
    ),
    _chat(
        "cohere.command-r-plus-v1:0",
        "Command R+",
        CO,
        COHERE_COMMAND,
        context_window=128_000,
        max_output_tokens=4000,
        price=_tokens("0.003", "0.015"),
        unverified=LIMIT_FACTS,
    ),
    _invoke(
        "cohere.embed-english-v3",
        "Cohere Embed English v3",
        CO,
        Modality.EMBEDDING,
        Adapter.COHERE_EMBED,
        price=_tokens("0.0001", "0"),
        context_window=512,
        unverified=frozenset({"price", "context_window"}),
    ),
    _invoke(
        "cohere.embed-multilingual-v3",
        "Cohere Embed Multilingual v3",
        CO,
        Modality.EMBEDDING,
        Adapter.COHERE_EMBED,
        price=_tokens("0.0001", "0"),
        context_window=512,
        unverified=frozenset({"price", "context_window"}),
    ),
    # --- Stability AI -------------------------------------------------------------------------
    _invoke(
        "stability.sd3-large-v1:0",
        "Stable Diffusion 3 Large",
        ST,
        Modality.IMAGE,
        Adapter.STABILITY_IMAGE,
        price=_image("0.08"),
        context_window=10_000,
        lifecycle=LEGACY,
    ),
    _invoke(
        "stability.sd3-5-large-v1:0",
        "Stable Diffusion 3.5 Large",
        ST,
        Modality.IMAGE,
        Adapter.STABILITY_IMAGE,
        price=_image("0.08"),
        context_window=10_000,
    ),
    _invoke(
        "stability.stable-image-core-v1:1",
        "Stable Image Core",
        ST,
        Modality.IMAGE,
        Adapter.STABILITY_IMAGE,
        price=_image("0.04"),
        context_window=10_000,
    ),
    _invoke(
        "stability.stable-image-ultra-v1:1",
        "Stable Image Ultra",
        ST,
        Modality.IMAGE,
        Adapter.STABILITY_IMAGE,
        price=_image("0.14"),
        context_window=10_000,
    ),
    # --- Amazon Titan and Nova ----------------------------------------------------------------
    _chat(
        "amazon.titan-text-express-v1",
        "Titan Text Express",
        AM,
        TITAN_TEXT,
        context_window=8192,
        max_output_tokens=8192,
        price=_tokens("0.0002", "0.0006"),
        lifecycle=LEGACY,
    ),
    _chat(
        "amazon.titan-text-lite-v1",
        "Titan Text Lite",
        AM,
        TITAN_TEXT,
        context_window=4096,
        max_output_tokens=4096,
        price=_tokens("0.00015", "0.0002"),
        lifecycle=LEGACY,
    ),
    _chat(
        "amazon.titan-text-premier-v1:0",
        "Titan Text Premier",
        AM,
        TITAN_TEXT - {C.DOCUMENT_CHAT},
        context_window=32_000,
        max_output_tokens=3072,
        price=_tokens("0.0005", "0.0015"),
        unverified=frozenset({"context_window"}),
    ),
    _invoke(
        "amazon.titan-embed-text-v2:0",
        "Titan Text Embeddings V2",
        AM,
        Modality.EMBEDDING,
        Adapter.TITAN_EMBED,
        price=_tokens("0.00002", "0"),
        context_window=8192,
    ),
    _invoke(
        "amazon.titan-image-generator-v2:0",
        "Titan Image Generator v2",
        AM,
        Modality.IMAGE,
        Adapter.NOVA_TITAN_IMAGE,
        price=_image("0.01"),
        context_window=512,
        unverified=frozenset({"context_window"}),
    ),
    _chat(
        "amazon.nova-micro-v1:0",
        "Nova Micro",
        AM,
        NOVA_MICRO,
        context_window=128_000,
        max_output_tokens=5000,
        price=_tokens("0.000035", "0.00014"),
        geographies=frozenset({US, EU, APAC}),
        unverified=PROFILE_FACTS,
    ),
    _chat(
        "amazon.nova-lite-v1:0",
        "Nova Lite",
        AM,
        NOVA_MULTIMODAL,
        context_window=300_000,
        max_output_tokens=5000,
        price=_tokens("0.00006", "0.00024"),
        geographies=frozenset({US, EU, APAC}),
        unverified=PROFILE_FACTS,
    ),
    _chat(
        "amazon.nova-pro-v1:0",
        "Nova Pro",
        AM,
        NOVA_MULTIMODAL,
        context_window=300_000,
        max_output_tokens=5000,
        price=_tokens("0.0008", "0.0032"),
        geographies=frozenset({US, EU, APAC}),
        unverified=PROFILE_FACTS,
    ),
    _invoke(
        "amazon.nova-canvas-v1:0",
        "Nova Canvas",
        AM,
        Modality.IMAGE,
        Adapter.NOVA_TITAN_IMAGE,
        price=_image("0.04"),
        context_window=1024,
        unverified=frozenset({"context_window"}),
    ),
)

CATALOG = build_catalog(_ENTRIES)
