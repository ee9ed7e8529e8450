"""Model catalog types: what the kit knows about one model, and how it travels as JSON.

Standard library only, so the CDK app, the emulator and the Lambda all import it cheaply. The
facts themselves live in `model_catalog/data/*.toml` (with their AWS sources); the gateway
receives the entries it serves as JSON (`ModelSpec.to_dict` / `from_dict`), never the files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any

MILLION = Decimal(1_000_000)


class Provider(StrEnum):
    """Providers the kit has rules for (a spec's provider may be any other name, too)."""

    # Its models need the one-time use-case form before first use (the access pre-flight).
    ANTHROPIC = "anthropic"


class Modality(StrEnum):
    """What a model produces."""

    TEXT = "text"
    EMBEDDING = "embedding"
    IMAGE = "image"


class Api(StrEnum):
    """The runtime API the gateway uses for a model."""

    CONVERSE = "converse"
    INVOKE = "invoke"
    # A SageMaker endpoint serving OpenAI-style chat messages (sagemaker-runtime).
    SAGEMAKER = "sagemaker"


class Adapter(StrEnum):
    """Which request/response mapping the gateway applies (runtime dispatch key)."""

    CONVERSE = "converse"
    TITAN_EMBED = "titan-embed"
    COHERE_EMBED = "cohere-embed"
    STABILITY_IMAGE = "stability-image"
    NOVA_TITAN_IMAGE = "nova-titan-image"
    # An own model on a SageMaker endpoint (LMI, TGI or vLLM containers' messages API).
    SAGEMAKER_CHAT = "sagemaker-chat"


ADAPTER_SHAPE: Mapping[Adapter, tuple[Api, Modality]] = MappingProxyType(
    {
        Adapter.CONVERSE: (Api.CONVERSE, Modality.TEXT),
        Adapter.TITAN_EMBED: (Api.INVOKE, Modality.EMBEDDING),
        Adapter.COHERE_EMBED: (Api.INVOKE, Modality.EMBEDDING),
        Adapter.STABILITY_IMAGE: (Api.INVOKE, Modality.IMAGE),
        Adapter.NOVA_TITAN_IMAGE: (Api.INVOKE, Modality.IMAGE),
        Adapter.SAGEMAKER_CHAT: (Api.SAGEMAKER, Modality.TEXT),
    }
)
"""The API and modality each adapter implies."""


class Capability(StrEnum):
    """Features a model supports through the API the gateway uses."""

    SYSTEM_PROMPT = "system_prompt"
    TOOL_USE = "tool_use"
    VISION = "vision"
    STREAMING = "streaming"
    STREAMING_TOOL_USE = "streaming_tool_use"
    GUARDRAILS = "guardrails"
    DOCUMENT_CHAT = "document_chat"
    # The model rejects a request that sets both temperature and top_p (Claude Sonnet/Haiku 4.5).
    EXCLUSIVE_TEMPERATURE_TOP_P = "exclusive_temperature_top_p"
    # The model takes no sampling parameters at all (temperature, top_p): Bedrock answers 400.
    NO_SAMPLING_PARAMETERS = "no_sampling_parameters"
    # Converse's outputConfig.textFormat (JSON Schema-constrained answers) is served for it.
    STRUCTURED_OUTPUT = "structured_output"
    # Converse's toolChoice `any` and `tool` (a call the model must make) are accepted.
    FORCED_TOOL_CHOICE = "forced_tool_choice"


CHAT_CAPABILITIES = frozenset(Capability)
"""Every capability describes the Converse API: InvokeModel-only models have none."""


class Geography(StrEnum):
    """Cross-region inference geographies; the value is the inference-profile id prefix."""

    US = "us"
    EU = "eu"
    APAC = "apac"
    JP = "jp"
    AU = "au"
    CA = "ca"
    US_GOV = "us-gov"
    GLOBAL = "global"


class InvocationPath(StrEnum):
    """How a call reaches the model; prices differ per path for some models."""

    IN_REGION = "in_region"
    GEOGRAPHIC = "geographic"
    GLOBAL = "global"


def path_of(geography: Geography | None) -> InvocationPath:
    """Return the invocation path of a call made through `geography` (None: in region)."""
    if geography is None:
        return InvocationPath.IN_REGION
    return InvocationPath.GLOBAL if geography is Geography.GLOBAL else InvocationPath.GEOGRAPHIC


class LifecycleStatus(StrEnum):
    """Bedrock model lifecycle; END_OF_LIFE models answer ResourceNotFoundException."""

    ACTIVE = "ACTIVE"
    LEGACY = "LEGACY"
    END_OF_LIFE = "END_OF_LIFE"


@dataclass(frozen=True, slots=True)
class LifecycleStage:
    """A model's lifecycle in a set of regions: the status AWS recorded and its dates."""

    status: LifecycleStatus = LifecycleStatus.ACTIVE
    legacy: date | None = None
    # From this date a Legacy model costs more (public extended access).
    public_extended_access: date | None = None
    end_of_life: date | None = None

    def status_on(self, day: date) -> LifecycleStatus:
        """Return the status on `day`: from the dates, or as recorded where no date explains it."""
        if self.end_of_life is not None and day >= self.end_of_life:
            return LifecycleStatus.END_OF_LIFE
        if self.status is LifecycleStatus.END_OF_LIFE and self.end_of_life is None:
            return LifecycleStatus.END_OF_LIFE
        if self.legacy is not None and day >= self.legacy:
            return LifecycleStatus.LEGACY
        if self.status is LifecycleStatus.LEGACY and self.legacy is None:
            return LifecycleStatus.LEGACY
        return LifecycleStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """Where a model stands, per region where AWS gives other dates, and what replaces it."""

    stage: LifecycleStage = LifecycleStage()
    regional: Mapping[str, LifecycleStage] = field(default_factory=lambda: MappingProxyType({}))
    successor: str | None = None
    launched: date | None = None

    def stage_in(self, region: str | None) -> LifecycleStage:
        """Return the stage that applies in `region` (None: the default, most regions)."""
        if region is not None and region in self.regional:
            return self.regional[region]
        return self.stage

    def status_on(self, day: date, region: str | None = None) -> LifecycleStatus:
        """Return the status on `day` in `region`."""
        return self.stage_in(region).status_on(day)


@dataclass(frozen=True, slots=True)
class TokenPrice:
    """USD per million input and output tokens."""

    input_per_million: Decimal
    output_per_million: Decimal = Decimal(0)

    def cost(self, input_tokens: int, output_tokens: int) -> Decimal:
        """Return the cost of these token counts."""
        return (
            self.input_per_million * input_tokens + self.output_per_million * output_tokens
        ) / MILLION


class ImageQuality(StrEnum):
    """Image price tiers (OpenAI's `quality`: standard, or hd mapped to premium)."""

    STANDARD = "standard"
    PREMIUM = "premium"


@dataclass(frozen=True, slots=True)
class ImagePrice:
    """USD per image up to `max_pixels` (width x height; 0 = any size) at `quality`."""

    per_image: Decimal
    quality: ImageQuality = ImageQuality.STANDARD
    max_pixels: int = 0


@dataclass(frozen=True, slots=True)
class Pricing:
    """On-demand list prices, per invocation path and image tier, dated, with their source."""

    tokens: Mapping[InvocationPath, TokenPrice] = field(
        default_factory=lambda: MappingProxyType({})
    )
    images: tuple[ImagePrice, ...] = ()
    as_of: date | None = None
    source: str = ""
    # False when no AWS page confirmed the figures (the docs mark them).
    verified: bool = False

    def token_price(self, path: InvocationPath) -> TokenPrice:
        """Return the price of `path`; a path without its own price costs the in-region one."""
        price = self.tokens.get(path) or self.tokens.get(InvocationPath.IN_REGION)
        if price is None:
            # Global-only models list just their global price.
            price = next(iter(self.tokens.values()), TokenPrice(Decimal(0)))
        return price

    def image_price(self, width: int, height: int, quality: ImageQuality) -> Decimal:
        """Return the price of one image of this size and quality (the smallest tier that fits)."""
        pixels = width * height
        fitting = [
            p
            for p in self.images
            if (p.max_pixels == 0 or pixels <= p.max_pixels) and p.quality is quality
        ] or [p for p in self.images if p.max_pixels == 0 or pixels <= p.max_pixels]
        if not fitting:
            fitting = list(self.images)
        if not fitting:
            return Decimal(0)
        return min(fitting, key=lambda p: (p.max_pixels or 1 << 62, p.per_image)).per_image


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """Everything the kit knows about one foundation model."""

    model_id: str
    name: str
    provider: str
    modality: Modality
    adapter: Adapter
    capabilities: frozenset[Capability]
    context_window: int
    max_output_tokens: int
    pricing: Pricing
    profile_geographies: frozenset[Geography] = frozenset()
    requires_profile: bool = False
    # Regions that serve the model in region (empty: not recorded); synthesis-time facts only.
    regions: tuple[str, ...] = ()
    lifecycle: Lifecycle = Lifecycle()
    # AWS pages the facts come from (the model card first) and the day they were read.
    sources: tuple[str, ...] = ()
    checked: date | None = None
    # Names of the fields above that no AWS page confirmed.
    unverified: frozenset[str] = frozenset()
    # Declared in a deployment's config rather than in the kit's catalog.
    declared: bool = False
    # Vector sizes a knowledge base can embed documents at with this model (synthesis only).
    knowledge_base_dimensions: tuple[int, ...] = ()
    # An own model: what it is called by (a Bedrock imported-model, provisioned-model or
    # custom-model-deployment ARN, or a SageMaker endpoint's name); None: its model id.
    invocation: str | None = None

    @property
    def api(self) -> Api:
        """The Bedrock runtime API the gateway calls this model with."""
        return ADAPTER_SHAPE[self.adapter][0]

    def supports(self, capability: Capability) -> bool:
        """Return whether the model supports `capability`."""
        return capability in self.capabilities

    def profile_id(self, geography: Geography) -> str:
        """Return the system-defined inference profile id for `geography`."""
        if geography not in self.profile_geographies:
            raise ValueError(f"{self.model_id} has no {geography.value} inference profile")
        return f"{geography.value}.{self.model_id}"

    def route(self, geography: Geography | None) -> tuple[str, InvocationPath]:
        """Return the id to send to Bedrock under `geography` and the path that call takes."""
        if self.invocation is not None:
            return self.invocation, InvocationPath.IN_REGION
        if geography is not None and geography in self.profile_geographies:
            return self.profile_id(geography), path_of(geography)
        if self.requires_profile:
            raise ValueError(f"{self.model_id} requires a cross-region inference profile")
        return self.model_id, InvocationPath.IN_REGION

    def invocation_id(self, geography: Geography | None) -> str:
        """Return the id to send to Bedrock: the profile when one is configured and offered."""
        return self.route(geography)[0]

    def to_dict(self) -> dict[str, Any]:
        """Serialize what the gateway needs at run time (no sources) as JSON-ready data."""
        stage = self.lifecycle.stage
        return {
            "id": self.model_id,
            "name": self.name,
            "provider": self.provider,
            "modality": self.modality.value,
            "adapter": self.adapter.value,
            "capabilities": sorted(c.value for c in self.capabilities),
            "context_window": self.context_window,
            "max_output_tokens": self.max_output_tokens,
            "geographies": sorted(g.value for g in self.profile_geographies),
            "requires_profile": self.requires_profile,
            "lifecycle": {
                "status": stage.status.value,
                "legacy": _iso(stage.legacy),
                "public_extended_access": _iso(stage.public_extended_access),
                "end_of_life": _iso(stage.end_of_life),
                "successor": self.lifecycle.successor,
            },
            "pricing": {
                "tokens": {
                    path.value: [str(p.input_per_million), str(p.output_per_million)]
                    for path, p in self.pricing.tokens.items()
                },
                "images": [
                    [str(p.per_image), p.quality.value, p.max_pixels] for p in self.pricing.images
                ],
                "as_of": _iso(self.pricing.as_of),
                "verified": self.pricing.verified,
            },
            "declared": self.declared,
            "invocation": self.invocation,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelSpec:
        """Rebuild a spec from `to_dict` output (the gateway's view: one lifecycle stage)."""
        life = data["lifecycle"]
        pricing = data["pricing"]
        return cls(
            model_id=data["id"],
            name=data["name"],
            provider=data["provider"],
            modality=Modality(data["modality"]),
            adapter=Adapter(data["adapter"]),
            capabilities=frozenset(Capability(c) for c in data["capabilities"]),
            context_window=int(data["context_window"]),
            max_output_tokens=int(data["max_output_tokens"]),
            profile_geographies=frozenset(Geography(g) for g in data["geographies"]),
            requires_profile=bool(data["requires_profile"]),
            lifecycle=Lifecycle(
                stage=LifecycleStage(
                    status=LifecycleStatus(life["status"]),
                    legacy=_date(life.get("legacy")),
                    public_extended_access=_date(life.get("public_extended_access")),
                    end_of_life=_date(life.get("end_of_life")),
                ),
                successor=life.get("successor"),
            ),
            pricing=Pricing(
                tokens=MappingProxyType(
                    {
                        InvocationPath(path): TokenPrice(Decimal(i), Decimal(o))
                        for path, (i, o) in pricing["tokens"].items()
                    }
                ),
                images=tuple(
                    ImagePrice(Decimal(p), ImageQuality(q), int(px))
                    for p, q, px in pricing["images"]
                ),
                as_of=_date(pricing.get("as_of")),
                verified=bool(pricing.get("verified", False)),
            ),
            declared=bool(data.get("declared", False)),
            invocation=data.get("invocation"),
        )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


class UnknownModelError(KeyError):
    """Raised when a model id is not in the catalog."""


def build_catalog(specs: tuple[ModelSpec, ...]) -> Mapping[str, ModelSpec]:
    """Index `specs` by model id, refusing duplicates."""
    catalog: dict[str, ModelSpec] = {}
    for spec in specs:
        if spec.model_id in catalog:
            raise ValueError(f"duplicate catalog entry {spec.model_id}")
        catalog[spec.model_id] = spec
    return MappingProxyType(catalog)
