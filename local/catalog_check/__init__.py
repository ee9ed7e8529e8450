"""Read-only drift check of the kit's model catalog against what Amazon Bedrock reports."""

from __future__ import annotations

from .cli import default_bedrock_client, default_pricing_client, main
from .compare import (
    EXIT_AFFECTED,
    EXIT_CANNOT_CHECK,
    EXIT_NO_DRIFT,
    PRICE_TOLERANCE,
    Finding,
    Report,
    Section,
    compare,
)
from .facts import AwsFacts, AwsModel, collect_aws_facts, profile_ids_in_use
from .prices import PRICE_SERVICE_CODES, PRICING_REGION, ListedPrice, collect_prices
from .report import render

__all__ = [
    "EXIT_AFFECTED",
    "EXIT_CANNOT_CHECK",
    "EXIT_NO_DRIFT",
    "PRICE_SERVICE_CODES",
    "PRICE_TOLERANCE",
    "PRICING_REGION",
    "AwsFacts",
    "AwsModel",
    "Finding",
    "ListedPrice",
    "Report",
    "Section",
    "collect_aws_facts",
    "collect_prices",
    "compare",
    "default_bedrock_client",
    "default_pricing_client",
    "main",
    "profile_ids_in_use",
    "render",
]
