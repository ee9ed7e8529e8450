"""Model catalog types and look-ups: the one source that drives IAM and runtime dispatch.

Standard library only, so the CDK app, the local emulator and the Lambda all import it cheaply.
The entries themselves live in `catalog_entries.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class Provider(StrEnum):
    """Model provider as Bedrock names it."""

    ANTHROPIC = "anthropic"
    META = "meta"
    MISTRAL = "mistral"
    COHERE = "cohere"
    STABILITY = "stability"
    AMAZON = "amazon"


class Modality(StrEnum):
    """What a model produces."""

    TEXT = "text"
    EMBEDDING = "embedding"
    IMAGE = "image"


class Api(StrEnum):
    """The Bedrock runtime API the gateway uses for a model."""

    CONVERSE = "converse"
    INVOKE = "invoke"


class Adapter(StrEnum):
    """Which request/response mapping the gateway applies (runtime dispatch key)."""

    CONVERSE = "converse"
    TITAN_EMBED = "titan-embed"
    COHERE_EMBED = "cohere-embed"
    STABILITY_IMAGE = "stability-image"
    NOVA_TITAN_IMAGE = "nova-titan-image"


class Capability(StrEnum):
    """Features a model supports through the API the gateway uses."""

    SYSTEM_PROMPT = "system_prompt"
    TOOL_USE = "tool_use"
    VISION = "vision"
    STREAMING = "streaming"
    STREAMING_TOOL_USE = "streaming_tool_use"
    GUARDRAILS = "guardrails"
    DOCUMENT_CHAT = "document_chat"
    # Claude Sonnet 4.5 / Haiku 4.5 reject a request that sets both temperature and top_p.
    EXCLUSIVE_TEMPERATURE_TOP_P = "exclusive_temperature_top_p"


class Geography(StrEnum):
    """Cross-region inference geographies; the value is the inference-profile id prefix."""

    US = "us"
    EU = "eu"
    APAC = "apac"
    GLOBAL = "global"


class Lifecycle(StrEnum):
    """Bedrock model lifecycle status (GetFoundationModel modelLifecycle.status)."""

    ACTIVE = "ACTIVE"
    LEGACY = "LEGACY"


# Destination regions a geographic inference profile may route to. The exact set differs per
# model and source region (GetInferenceProfile lists it); these are the documented common cores.
# UNVERIFIED per model: check the model card before relying on a region outside this list.
GEOGRAPHY_REGIONS: Mapping[Geography, tuple[str, ...]] = {
    Geography.US: ("us-east-1", "us-east-2", "us-west-2"),
    Geography.EU: ("eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1"),
    Geography.APAC: (
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-south-1",
        "ap-southeast-1",
        "ap-southeast-2",
    ),
    # Global profiles route to any commercial region (and the region-less model ARN).
    Geography.GLOBAL: (),
}

PRICES_AS_OF = "2026-04-10"
"""Date of the third-party price summaries the prices were taken from (reference section 11)."""


@dataclass(frozen=True, slots=True)
class Price:
    """On-demand list price in USD (us-east-1), dated; per 1,000 tokens or per image."""

    input_per_1k: Decimal = Decimal(0)
    output_per_1k: Decimal = Decimal(0)
    per_image: Decimal = Decimal(0)
    as_of: str = PRICES_AS_OF
    # Every price in the reference is marked UNVERIFIED: they are placeholders until checked.
    verified: bool = False

    def cost(self, *, input_tokens: int = 0, output_tokens: int = 0, images: int = 0) -> Decimal:
        """Return the cost of one call in USD."""
        return (
            self.input_per_1k * input_tokens / 1000
            + self.output_per_1k * output_tokens / 1000
            + self.per_image * images
        )


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """Everything the kit knows about one foundation model."""

    model_id: str
    name: str
    provider: Provider
    modality: Modality
    api: Api
    adapter: Adapter
    capabilities: frozenset[Capability]
    context_window: int
    max_output_tokens: int
    price: Price
    profile_geographies: frozenset[Geography] = frozenset()
    requires_profile: bool = False
    lifecycle: Lifecycle = Lifecycle.ACTIVE
    # Names of the fields above whose values the reference marks UNVERIFIED.
    unverified: frozenset[str] = field(default_factory=frozenset)

    def supports(self, capability: Capability) -> bool:
        """Return whether the model supports `capability`."""
        return capability in self.capabilities

    def profile_id(self, geography: Geography) -> str:
        """Return the system-defined inference profile id for `geography`."""
        if geography not in self.profile_geographies:
            raise ValueError(f"{self.model_id} has no {geography.value} inference profile")
        return f"{geography.value}.{self.model_id}"

    def invocation_id(self, geography: Geography | None) -> str:
        """Return the id to send to Bedrock: the profile when one is configured and offered."""
        if geography is not None and geography in self.profile_geographies:
            return self.profile_id(geography)
        if self.requires_profile:
            raise ValueError(f"{self.model_id} requires a cross-region inference profile")
        return self.model_id


class UnknownModelError(KeyError):
    """Raised when a model id is not in the catalog."""


def build_catalog(specs: tuple[ModelSpec, ...]) -> Mapping[str, ModelSpec]:
    """Index `specs` by model id, refusing duplicates."""
    catalog: dict[str, ModelSpec] = {}
    for spec in specs:
        if spec.model_id in catalog:
            raise ValueError(f"duplicate catalog entry {spec.model_id}")
        catalog[spec.model_id] = spec
    return catalog


def get_model(model_id: str) -> ModelSpec:
    """Return the catalog entry for `model_id` or raise UnknownModelError."""
    from .catalog_entries import CATALOG

    try:
        return CATALOG[model_id]
    except KeyError:
        raise UnknownModelError(model_id) from None


def all_models() -> Mapping[str, ModelSpec]:
    """Return the whole catalog, keyed by model id."""
    from .catalog_entries import CATALOG

    return CATALOG
