"""The schema of one model record, shared by the kit's catalog files and config-declared models.

Synthesis-time only (pydantic never reaches the Lambda): a record is validated here, once, and
becomes a `ModelSpec`. A model a deployment declares in its config passes the very same checks
as a catalog entry, except that it need not cite its sources.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lambdas.gateway.catalog import (
    ADAPTER_SHAPE,
    Adapter,
    Capability,
    Geography,
    ImagePrice,
    ImageQuality,
    InvocationPath,
    Lifecycle,
    LifecycleStage,
    LifecycleStatus,
    Modality,
    ModelSpec,
    Pricing,
    TokenPrice,
)

# Bedrock base model ids: provider, a dot, then the model (botocore's FoundationModelId shape).
MODEL_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}\.[a-zA-Z0-9][a-zA-Z0-9._:-]{0,139}$")
REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
# A SageMaker endpoint name (sagemaker-runtime's EndpointName pattern, at most 63).
SAGEMAKER_ENDPOINT = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
# What Bedrock invokes an own model by (bedrock-runtime's model id patterns).
OWN_MODEL_ARN = (
    r"^arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:"
    r"(imported-model|provisioned-model|custom-model-deployment)/[a-z0-9]{12}$"
)
FIELD_NAMES = frozenset(
    {
        "id",
        "name",
        "regions",
        "provider",
        "modality",
        "adapter",
        "capabilities",
        "context_window",
        "max_output_tokens",
        "geographies",
        "requires_profile",
        "lifecycle",
        "pricing",
    }
)

PositiveMoney = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=8)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=False)


class StageRecord(_Strict):
    """A lifecycle stage as AWS records it: status and dates."""

    status: LifecycleStatus = LifecycleStatus.ACTIVE
    legacy: date | None = None
    public_extended_access: date | None = None
    end_of_life: date | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        dates = [d for d in (self.legacy, self.public_extended_access, self.end_of_life) if d]
        if dates != sorted(dates):
            raise ValueError("dates must run legacy <= public_extended_access <= end_of_life")
        return self

    def to_stage(self) -> LifecycleStage:
        """Return the runtime form."""
        return LifecycleStage(
            status=self.status,
            legacy=self.legacy,
            public_extended_access=self.public_extended_access,
            end_of_life=self.end_of_life,
        )


class LifecycleRecord(StageRecord):
    """Lifecycle: the default stage, regions where AWS gives other dates, and the successor."""

    launched: date | None = None
    successor: str | None = None
    # Source page of the lifecycle facts when it is not the model card.
    source: str | None = None
    regions: dict[str, StageRecord] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _successor_for_dead_models(self) -> Self:
        if self.successor is not None and not MODEL_ID.match(self.successor):
            raise ValueError(f"successor {self.successor!r} is not a Bedrock model id")
        dead = self.end_of_life is not None or self.status is LifecycleStatus.END_OF_LIFE
        if dead and self.successor is None:
            raise ValueError("an end-of-life model needs a successor (the model to use instead)")
        for region in self.regions:
            if not REGION.match(region):
                raise ValueError(f"{region!r} is not an AWS region such as us-east-1")
        return self

    def to_lifecycle(self) -> Lifecycle:
        """Return the runtime form."""
        return Lifecycle(
            stage=self.to_stage(),
            regional=MappingProxyType({r: s.to_stage() for r, s in self.regions.items()}),
            successor=self.successor,
            launched=self.launched,
        )


class ImagePriceRecord(_Strict):
    """One image price tier."""

    price: PositiveMoney
    quality: ImageQuality = ImageQuality.STANDARD
    # Largest width x height this price covers; 0 means any size.
    max_pixels: int = Field(default=0, ge=0)


TokenPair = tuple[PositiveMoney, PositiveMoney]


class PricingRecord(_Strict):
    """On-demand prices: USD per million (input, output) tokens per path, or per image."""

    as_of: date | None = None
    source: str | None = None
    verified: bool = False
    in_region: TokenPair | None = None
    geographic: TokenPair | None = None
    global_: TokenPair | None = Field(default=None, alias="global")
    images: list[ImagePriceRecord] = Field(default_factory=list)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _verified_needs_a_source(self) -> Self:
        if self.verified and not (self.source and self.as_of):
            raise ValueError("verified prices need their source and as_of date")
        return self

    def token_paths(self) -> dict[InvocationPath, TokenPair]:
        """Return the token prices by invocation path."""
        pairs = {
            InvocationPath.IN_REGION: self.in_region,
            InvocationPath.GEOGRAPHIC: self.geographic,
            InvocationPath.GLOBAL: self.global_,
        }
        return {path: pair for path, pair in pairs.items() if pair is not None}

    def to_pricing(self) -> Pricing:
        """Return the runtime form."""
        return Pricing(
            tokens=MappingProxyType(
                {path: TokenPrice(i, o) for path, (i, o) in self.token_paths().items()}
            ),
            images=tuple(ImagePrice(p.price, p.quality, p.max_pixels) for p in self.images),
            as_of=self.as_of,
            source=self.source or "",
            verified=self.verified,
        )


class ModelRecord(_Strict):
    """One model as a config file declares it: everything the gateway needs to serve it."""

    name: str = Field(min_length=1, max_length=80)
    provider: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    modality: Modality
    adapter: Adapter | None = None
    capabilities: frozenset[Capability] = frozenset()
    context_window: int = Field(gt=0, le=100_000_000)
    max_output_tokens: int = Field(default=0, ge=0, le=10_000_000)
    geographies: frozenset[Geography] = frozenset()
    requires_profile: bool = False
    # Regions that serve the model in region (on demand); empty when AWS's list was not read.
    regions: tuple[str, ...] = ()
    lifecycle: LifecycleRecord = Field(default_factory=LifecycleRecord)
    pricing: PricingRecord
    sources: list[str] = Field(default_factory=list)
    checked: date | None = None
    unverified: frozenset[str] = frozenset()
    # Embedding models a Bedrock knowledge base can use: the vector sizes it can ask for, the
    # model's default first (empty: not for knowledge bases).
    knowledge_base_dimensions: tuple[Annotated[int, Field(ge=1, le=4096)], ...] = ()
    # An own model (config declarations only): a SageMaker endpoint serving the messages API,
    # or a Bedrock imported model, Provisioned Throughput or custom model deployment by ARN.
    sagemaker_endpoint: str | None = Field(default=None, pattern=SAGEMAKER_ENDPOINT)
    invocation_arn: str | None = Field(default=None, pattern=OWN_MODEL_ARN)

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        adapter = self.resolved_adapter()
        if ADAPTER_SHAPE[adapter][1] is not self.modality:
            raise ValueError(f"adapter {adapter.value!r} does not produce {self.modality.value}")
        if self.modality is Modality.TEXT:
            _check_text(self)
        else:
            if self.capabilities:
                raise ValueError("capabilities describe Converse: only text models have them")
            if self.modality is Modality.EMBEDDING and self.max_output_tokens:
                raise ValueError("an embedding model has no max_output_tokens")
        if self.sagemaker_endpoint is not None and self.invocation_arn is not None:
            raise ValueError("sagemaker_endpoint and invocation_arn: one model, one place")
        if self.sagemaker_endpoint is not None and self.modality is not Modality.TEXT:
            raise ValueError("sagemaker_endpoint: only chat (text) models are served from one")
        extra = self.capabilities - {Capability.SYSTEM_PROMPT, Capability.STREAMING}
        if self.sagemaker_endpoint is not None and extra:
            raise ValueError(
                "sagemaker_endpoint: the gateway sends SageMaker models text messages only; "
                f"drop {', '.join(sorted(extra))}"
            )
        if self.sagemaker_endpoint is not None and self.adapter not in (
            None,
            Adapter.SAGEMAKER_CHAT,
        ):
            raise ValueError("sagemaker_endpoint: its adapter is sagemaker-chat")
        if self.knowledge_base_dimensions and self.modality is not Modality.EMBEDDING:
            raise ValueError("knowledge_base_dimensions: only embedding models embed documents")
        if self.requires_profile and not self.geographies:
            raise ValueError("requires_profile needs at least one geography")
        _check_prices(self)
        unknown = self.unverified - FIELD_NAMES
        if unknown:
            raise ValueError(f"unverified names unknown fields: {', '.join(sorted(unknown))}")
        for url in self.sources:
            if not url.startswith("https://"):
                raise ValueError(f"source {url!r} is not an https URL")
        for region in self.regions:
            if not REGION.match(region):
                raise ValueError(f"{region!r} is not an AWS region such as us-east-1")
        return self

    def resolved_adapter(self) -> Adapter:
        """Return the adapter: text models default to Converse (SageMaker endpoints: theirs)."""
        if self.sagemaker_endpoint is not None:
            return Adapter.SAGEMAKER_CHAT
        if self.adapter is not None:
            return self.adapter
        if self.modality is Modality.TEXT:
            return Adapter.CONVERSE
        raise ValueError(f"{self.modality.value} models need an adapter")

    def to_spec(self, model_id: str, *, declared: bool) -> ModelSpec:
        """Return the runtime spec of this record under `model_id`."""
        return ModelSpec(
            model_id=model_id,
            name=self.name,
            provider=self.provider,
            modality=self.modality,
            adapter=self.resolved_adapter(),
            capabilities=self.capabilities,
            context_window=self.context_window,
            max_output_tokens=self.max_output_tokens,
            pricing=self.pricing.to_pricing(),
            profile_geographies=self.geographies,
            requires_profile=self.requires_profile,
            regions=self.regions,
            lifecycle=self.lifecycle.to_lifecycle(),
            sources=tuple(self.sources),
            checked=self.checked,
            unverified=self.unverified,
            declared=declared,
            knowledge_base_dimensions=self.knowledge_base_dimensions,
            invocation=self.sagemaker_endpoint or self.invocation_arn,
        )


class CatalogRecord(ModelRecord):
    """A catalog entry: a declaration plus its id and the AWS pages its facts come from."""

    id: str
    sources: list[str] = Field(min_length=1)
    checked: date

    @model_validator(mode="after")
    def _id_is_a_model_id(self) -> Self:
        if not MODEL_ID.match(self.id):
            raise ValueError(f"{self.id!r} is not a Bedrock model id")
        if self.sagemaker_endpoint is not None or self.invocation_arn is not None:
            raise ValueError("the catalog holds foundation models: own models are declared")
        return self


def _check_text(record: ModelRecord) -> None:
    caps = record.capabilities
    if not 0 < record.max_output_tokens <= record.context_window:
        raise ValueError("a text model needs 0 < max_output_tokens <= context_window")
    if (
        Capability.STREAMING_TOOL_USE in caps
        and not {
            Capability.TOOL_USE,
            Capability.STREAMING,
        }
        <= caps
    ):
        raise ValueError("streaming_tool_use needs tool_use and streaming")
    if {Capability.EXCLUSIVE_TEMPERATURE_TOP_P, Capability.NO_SAMPLING_PARAMETERS} <= caps:
        raise ValueError("no_sampling_parameters already excludes exclusive_temperature_top_p")


def _check_prices(record: ModelRecord) -> None:
    pricing = record.pricing
    paths = pricing.token_paths()
    if record.modality is Modality.IMAGE:
        if not pricing.images or paths:
            raise ValueError("an image model is priced per image (pricing.images) only")
        return
    if pricing.images:
        raise ValueError(f"a {record.modality.value} model is priced per token, not per image")
    if not paths:
        raise ValueError("pricing needs a token price (in_region, geographic or global)")
    # An own model is billed by the hour (endpoint instances, model units): its token price is
    # the platform team's chargeback rate, which may be zero.
    own = record.sagemaker_endpoint is not None or record.invocation_arn is not None
    for path, (input_price, output_price) in paths.items():
        if own and input_price >= 0 and output_price >= 0:
            continue
        if input_price <= 0 or (record.modality is Modality.TEXT and output_price <= 0):
            raise ValueError(f"pricing.{path.value} must be positive")
    if record.requires_profile and InvocationPath.IN_REGION in paths and len(paths) == 1:
        raise ValueError("a profile-only model needs its geographic or global price")


def first_error(error: ValidationError) -> str:
    """Return pydantic's first error as `field.path: message` (one line)."""
    detail = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in detail["loc"]) or "record"
    message = str(detail["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}"


def declared_spec(model_id: str, data: Any) -> ModelSpec:
    """Validate a config-declared model; raise ValueError with one line on a problem."""
    if not MODEL_ID.match(model_id):
        raise ValueError(f"{model_id!r} is not a Bedrock model id such as provider.model-v1:0")
    try:
        record = ModelRecord.model_validate(data)
    except ValidationError as error:
        raise ValueError(first_error(error)) from None
    return record.to_spec(model_id, declared=True)
