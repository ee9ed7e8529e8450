"""Stubbed Bedrock and Price List answers, and small catalogs, for the catalog drift check tests.

Every answer goes through botocore's Stubber, which validates it (types, required members,
minimum lengths) against the service model; `conform` also checks what Stubber leaves out
(string patterns, enums, maximum lengths), so the stubs look like what AWS can really send.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import boto3
from botocore.model import ListShape, Shape, StringShape, StructureShape
from botocore.stub import Stubber

from lambdas.gateway.catalog import (
    Adapter,
    Capability,
    Geography,
    InvocationPath,
    Lifecycle,
    LifecycleStage,
    Modality,
    ModelSpec,
    Pricing,
    TokenPrice,
    build_catalog,
)
from local.catalog_check import PRICE_SERVICE_CODES

REGION = "us-east-1"
ACCOUNT = "123456789012"
TODAY = date(2026, 12, 1)
US_REGIONS = ("us-east-1", "us-east-2", "us-west-2")

HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA = "amazon.nova-micro-v1:0"
LLAMA = "meta.llama3-3-70b-instruct-v1:0"
NAMES = {HAIKU: "Claude Haiku 4.5", NOVA: "Nova Micro", LLAMA: "Llama 3.3 70B Instruct"}
# ListFoundationModels' providerName and modelName (botocore's BrandedName: at most 20 chars).
AWS_NAMES = {
    HAIKU: ("Anthropic", "Claude Haiku 4.5"),
    NOVA: ("Amazon", "Nova Micro"),
    LLAMA: ("Meta", "Llama 3.3 70B"),
}


# --- Catalogs -----------------------------------------------------------------------------------


def spec(
    model_id: str,
    *,
    geographies: Iterable[Geography] = (Geography.US,),
    stage: LifecycleStage | None = None,
    price: tuple[str, str] | None = ("1", "5"),
) -> ModelSpec:
    """A chat model's catalog entry (name and provider from the id, as the catalog has them)."""
    tokens = {} if price is None else {InvocationPath.IN_REGION: TokenPrice(*map(Decimal, price))}
    return ModelSpec(
        model_id=model_id,
        name=NAMES.get(model_id, model_id),
        provider=model_id.split(".", 1)[0],
        modality=Modality.TEXT,
        adapter=Adapter.CONVERSE,
        capabilities=frozenset(Capability),
        context_window=200_000,
        max_output_tokens=8_192,
        pricing=Pricing(tokens=MappingProxyType(tokens)),
        profile_geographies=frozenset(geographies),
        lifecycle=Lifecycle(stage=stage or LifecycleStage()),
    )


def catalog(*specs: ModelSpec) -> Mapping[str, ModelSpec]:
    """Index specs by model id, as `all_models()` does."""
    return build_catalog(specs)


# --- Clients and conformance --------------------------------------------------------------------


def bedrock_client(region: str = REGION) -> Any:
    """A real Bedrock control-plane client with dummy credentials (only ever stubbed)."""
    return boto3.client(
        "bedrock", region_name=region, aws_access_key_id="x", aws_secret_access_key="x"
    )


def pricing_client() -> Any:
    """A real Price List client with dummy credentials (only ever stubbed)."""
    return boto3.client(
        "pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def _violations(shape: Shape, value: Any, path: str) -> Iterable[str]:
    if isinstance(shape, StructureShape):
        for name, member in shape.members.items():
            if name in value:
                yield from _violations(member, value[name], f"{path}.{name}")
    elif isinstance(shape, ListShape):
        if len(value) > shape.metadata.get("max", len(value)):
            yield f"{path}: more than {shape.metadata['max']} items"
        for index, item in enumerate(value):
            yield from _violations(shape.member, item, f"{path}[{index}]")
    elif isinstance(shape, StringShape):
        if shape.enum and value not in shape.enum:
            yield f"{path}: {value!r} is not one of {shape.enum}"
        if len(value) > shape.metadata.get("max", len(value)):
            yield f"{path}: {value!r} is longer than {shape.metadata['max']}"
        # Smithy patterns are not anchored.
        pattern = shape.metadata.get("pattern")
        if pattern is not None and not re.search(pattern, value):
            yield f"{path}: {value!r} does not match {pattern}"


def conform(client: Any, operation: str, response: Mapping[str, Any]) -> dict[str, Any]:
    """Return `response` after checking the patterns, enums and maximums Stubber does not check."""
    name = client.meta.method_to_api_mapping[operation]
    shape = client.meta.service_model.operation_model(name).output_shape
    problems = list(_violations(shape, response, operation))
    assert not problems, problems
    return dict(response)


# --- Bedrock answers ----------------------------------------------------------------------------


def _utc(day: date | None) -> datetime | None:
    return None if day is None else datetime(day.year, day.month, day.day, 8, tzinfo=UTC)


def model_summary(
    model_id: str,
    *,
    status: str = "ACTIVE",
    legacy: date | None = None,
    extended: date | None = None,
    end_of_life: date | None = None,
    inference_types: Sequence[str] = ("ON_DEMAND",),
    names: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """One ListFoundationModels summary with the given lifecycle."""
    provider, name = names or AWS_NAMES[model_id]
    times = {
        "legacyTime": _utc(legacy),
        "publicExtendedAccessTime": _utc(extended),
        "endOfLifeTime": _utc(end_of_life),
    }
    return {
        "modelArn": f"arn:aws:bedrock:{REGION}::foundation-model/{model_id}",
        "modelId": model_id,
        "modelName": name,
        "providerName": provider,
        "inputModalities": ["TEXT"],
        "outputModalities": ["TEXT"],
        "responseStreamingSupported": True,
        "inferenceTypesSupported": list(inference_types),
        "modelLifecycle": {
            "status": status,
            **{key: value for key, value in times.items() if value is not None},
        },
    }


def profile(profile_id: str, destinations: Sequence[str] = US_REGIONS) -> dict[str, Any]:
    """One system-defined inference profile (a summary, or GetInferenceProfile's answer)."""
    model_id = profile_id.split(".", 1)[1]
    return {
        "inferenceProfileName": " ".join(re.findall(r"[0-9a-zA-Z]+", profile_id))[:64],
        "inferenceProfileArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{profile_id}",
        "models": [
            {"modelArn": f"arn:aws:bedrock:{region}::foundation-model/{model_id}"}
            for region in destinations
        ],
        "inferenceProfileId": profile_id,
        "status": "ACTIVE",
        "type": "SYSTEM_DEFINED",
    }


def expect_models(stubber: Stubber, client: Any, *summaries: dict[str, Any]) -> None:
    """Queue ListFoundationModels (no filters)."""
    answer = conform(client, "list_foundation_models", {"modelSummaries": list(summaries)})
    stubber.add_response("list_foundation_models", answer, {})


def expect_profile_pages(stubber: Stubber, client: Any, *pages: Sequence[str]) -> None:
    """Queue ListInferenceProfiles, one page of profile ids per argument, linked by nextToken."""
    for number, ids in enumerate(pages, start=1):
        answer: dict[str, Any] = {"inferenceProfileSummaries": [profile(pid) for pid in ids]}
        params: dict[str, Any] = {"typeEquals": "SYSTEM_DEFINED", "maxResults": 1000}
        if number > 1:
            params["nextToken"] = f"page-{number}"
        if number < len(pages):
            answer["nextToken"] = f"page-{number + 1}"
        conform(client, "list_inference_profiles", answer)
        stubber.add_response("list_inference_profiles", answer, params)


def expect_profile(
    stubber: Stubber, client: Any, profile_id: str, destinations: Sequence[str] = US_REGIONS
) -> None:
    """Queue GetInferenceProfile for one profile."""
    answer = conform(client, "get_inference_profile", profile(profile_id, destinations))
    stubber.add_response(
        "get_inference_profile", answer, {"inferenceProfileIdentifier": profile_id}
    )


def expect_no_profile(stubber: Stubber, profile_id: str) -> None:
    """Queue GetInferenceProfile answering ResourceNotFoundException."""
    stubber.add_client_error(
        "get_inference_profile",
        "ResourceNotFoundException",
        f"The inference profile {profile_id} does not exist",
        http_status_code=404,
        expected_params={"inferenceProfileIdentifier": profile_id},
    )


# --- Price List answers -------------------------------------------------------------------------


def price_item(
    name: str,
    direction: str,
    usd: str,
    *,
    unit: str = "1K tokens",
    name_attribute: str = "model",
    usagetype: str = "",
    region: str = REGION,
) -> str:
    """One Price List product with its on-demand term, as the JSON string GetProducts returns."""
    digest = hashlib.sha256(f"{name}|{direction}|{usd}|{usagetype}".encode()).hexdigest()
    sku = f"SKU{digest[:12].upper()}"
    attributes = {
        "servicename": "Amazon Bedrock",
        name_attribute: name,
        "regionCode": region,
        "usagetype": usagetype or f"USE1-{name.replace(' ', '')}-{direction}-tokens",
        "inferenceType": f"{direction.capitalize()} tokens",
        "feature": "On-demand Inference",
    }
    dimension = {
        "unit": unit,
        "description": f"{name} {direction} tokens",
        "pricePerUnit": {"USD": usd},
    }
    term = {"sku": sku, "priceDimensions": {f"{sku}.DIM": dimension}}
    item = {
        "product": {"sku": sku, "productFamily": "Amazon Bedrock", "attributes": attributes},
        "serviceCode": "AmazonBedrock",
        "terms": {"OnDemand": {f"{sku}.TERM": term}},
    }
    return json.dumps(item)


def expect_prices(
    stubber: Stubber,
    client: Any,
    products: Mapping[str, Sequence[Sequence[str]]],
    region: str = REGION,
) -> None:
    """Queue GetProducts for every Bedrock service code: `products` maps a code to its pages."""
    for code in PRICE_SERVICE_CODES:
        pages = products.get(code) or [[]]
        for number, items in enumerate(pages, start=1):
            params: dict[str, Any] = {
                "ServiceCode": code,
                "Filters": [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}],
                "MaxResults": 100,
            }
            if number > 1:
                params["NextToken"] = f"{code}-{number}"
            answer: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": list(items)}
            if number < len(pages):
                answer["NextToken"] = f"{code}-{number + 1}"
            stubber.add_response("get_products", conform(client, "get_products", answer), params)
