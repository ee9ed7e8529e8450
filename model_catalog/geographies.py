"""Cross-region inference geographies: the regions a geographic profile may route a call to.

Each list is the union, over every model, of the destination regions AWS documents for the
geography's profiles ("Supported Regions and models for inference profiles", in its last
version with per-model tables). IAM allows the enabled model in exactly these regions, and only
through the configured profile (`bedrock:InferenceProfileArn`), so a destination that one
model's profile lacks grants nothing. AWS says a geographic profile's destination list never
changes (new regions come as new profiles); `make catalog-check` compares these lists with what
`GetInferenceProfile` answers and fails when a profile reaches a region not listed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from lambdas.gateway.catalog import Geography

SOURCE = "https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html"
CHECKED = "2026-11-30"

DESTINATIONS: Mapping[Geography, tuple[str, ...]] = MappingProxyType(
    {
        Geography.US: (
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
            # Only for calls made from these regions.
            "ca-central-1",
            "ca-west-1",
        ),
        Geography.EU: (
            "eu-central-1",
            "eu-central-2",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "il-central-1",
        ),
        Geography.APAC: (
            "ap-east-2",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-5",
            "ap-southeast-7",
            "me-central-1",
        ),
        Geography.JP: ("ap-northeast-1", "ap-northeast-3"),
        Geography.AU: ("ap-southeast-2", "ap-southeast-4"),
        Geography.CA: ("ca-central-1", "ca-west-1"),
        Geography.US_GOV: ("us-gov-east-1", "us-gov-west-1"),
        # Global profiles route to any commercial region: IAM names the region-less model ARN.
        Geography.GLOBAL: (),
    }
)
"""Every region a profile of the geography may route to (AWS's tables, unioned)."""

# A geographic profile is called from a region of its geography (its source regions are the
# same list); global profiles are called from most commercial regions.
SOURCES: Mapping[Geography, tuple[str, ...]] = DESTINATIONS


def callable_from(geography: Geography, region: str) -> bool:
    """Return whether a profile of `geography` can be called from `region`."""
    if geography is Geography.GLOBAL:
        return not region.startswith(("us-gov-", "cn-"))
    return region in SOURCES[geography]
