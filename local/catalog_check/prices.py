"""In-region on-demand Bedrock token prices from the Price List API, and matching them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from lambdas.gateway.catalog import ModelSpec

# Bedrock products are spread over these Price List service codes.
PRICE_SERVICE_CODES = ("AmazonBedrock", "AmazonBedrockFoundationModels", "AmazonBedrockService")
# The Price List API answers in us-east-1 (also eu-central-1 and ap-south-1).
PRICING_REGION = "us-east-1"
# Usage types of other tiers or paths than the in-region, on-demand, standard one.
_OTHER_TIER = re.compile(
    r"batch|flex|priority|latency|provisioned|reserved|cache|cross-region|global|custom",
    re.IGNORECASE,
)
_INPUT = re.compile(r"input[ _-]?tokens?|inputtokencount", re.IGNORECASE)
_OUTPUT = re.compile(r"output[ _-]?tokens?|outputtokencount", re.IGNORECASE)
_UNIT_SCALE = {"1k tokens": Decimal(1000), "1m tokens": Decimal(1), "million tokens": Decimal(1)}


@dataclass(frozen=True, slots=True)
class ListedPrice:
    """One Price List product: an in-region on-demand token price, USD per million tokens."""

    name: str
    direction: str  # "input" or "output"
    per_million: Decimal
    service_code: str
    usagetype: str


def collect_prices(pricing_client: Any, region: str) -> tuple[ListedPrice, ...]:
    """Return the in-region on-demand token prices the Price List API has for Bedrock in `region`.

    Products of other tiers (batch, cache, provisioned, cross-region, global...) and prices in
    units other than 1K or 1M tokens are left out.

    Args:
        pricing_client: A Price List API client.
        region: The region whose prices to read.

    Returns:
        Every matching product's price, in the order the Price List returned them.
    """
    prices: list[ListedPrice] = []
    for service_code in PRICE_SERVICE_CODES:
        for item in _price_list(pricing_client, service_code, region):
            prices.extend(_listed_prices(item, service_code))
    return tuple(prices)


def matching_prices(spec: ModelSpec, prices: Sequence[ListedPrice]) -> list[ListedPrice]:
    """Return the `prices` whose product name is the model's name, with or without its provider.

    Args:
        spec: The model's catalog entry.
        prices: Price List products, as `collect_prices` returns them.

    Returns:
        The products named after the model (Marketplace and Bedrock decorations aside).
    """
    names = {_normalise(spec.name), _normalise(f"{spec.provider} {spec.name}")}
    return [price for price in prices if _normalise(price.name) in names]


def _price_list(pricing_client: Any, service_code: str, region: str) -> Iterator[Any]:
    pages = pricing_client.get_paginator("get_products").paginate(
        ServiceCode=service_code,
        Filters=[{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}],
        PaginationConfig={"PageSize": 100},
    )
    for page in pages:
        for item in page.get("PriceList", []):
            yield json.loads(item) if isinstance(item, str) else item


def _listed_prices(item: Mapping[str, Any], service_code: str) -> Iterator[ListedPrice]:
    attributes = item.get("product", {}).get("attributes", {})
    usagetype = str(attributes.get("usagetype", ""))
    kind = f"{attributes.get('inferenceType', '')} {usagetype}"
    feature = str(attributes.get("feature", "On-demand Inference"))
    if _OTHER_TIER.search(kind) or "on-demand" not in feature.lower():
        return
    direction = "input" if _INPUT.search(kind) else "output" if _OUTPUT.search(kind) else None
    name = _product_name(attributes)
    if direction is None or not name:
        return
    for term in item.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            per_million = _per_million(dimension)
            if per_million is not None:
                yield ListedPrice(name, direction, per_million, service_code, usagetype)


def _product_name(attributes: Mapping[str, Any]) -> str:
    for key in ("model", "titanModel", "servicename"):
        name = str(attributes.get(key, ""))
        if _normalise(name):
            return name
    return ""


def _per_million(dimension: Mapping[str, Any]) -> Decimal | None:
    scale = _UNIT_SCALE.get(str(dimension.get("unit", "")).strip().lower())
    usd = dimension.get("pricePerUnit", {}).get("USD")
    if scale is None or usd is None:
        return None
    try:
        return Decimal(str(usd)) * scale
    except InvalidOperation:
        return None


def _normalise(name: str) -> str:
    """Lower-case words of a model name without Marketplace or Bedrock decorations."""
    name = re.sub(r"\(amazon bedrock edition\)|amazon bedrock", " ", name.lower())
    return " ".join(re.findall(r"[a-z0-9]+", name))
