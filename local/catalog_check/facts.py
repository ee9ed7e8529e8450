"""What Amazon Bedrock reports in one region: its models, their lifecycle and the profiles."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any

from botocore.exceptions import ClientError

from lambdas.gateway.catalog import Geography, LifecycleStatus, ModelSpec
from lambdas.model_access_check.checks import error_code


@dataclass(frozen=True, slots=True)
class AwsModel:
    """One ListFoundationModels entry: identity, lifecycle (dates in UTC) and inference types."""

    model_id: str
    name: str
    provider: str
    status: str = LifecycleStatus.ACTIVE.value
    legacy: date | None = None
    public_extended_access: date | None = None
    end_of_life: date | None = None
    inference_types: frozenset[str] = frozenset()

    @property
    def on_demand(self) -> bool:
        """Whether the entry can be called on demand (not a provisioned-throughput-only variant)."""
        return not self.inference_types or bool(self.inference_types - {"PROVISIONED"})


@dataclass(frozen=True, slots=True)
class AwsFacts:
    """What Bedrock reported in one region."""

    region: str
    models: Mapping[str, AwsModel]
    # System-defined inference profile ids ListInferenceProfiles lists in this (source) region.
    profiles: frozenset[str]
    # GetInferenceProfile's destination regions per profile asked for ("" = region-less ARN);
    # a profile asked for and missing here does not exist.
    destinations: Mapping[str, tuple[str, ...]]


def profile_ids_in_use(specs: Iterable[ModelSpec], geography: Geography | None) -> tuple[str, ...]:
    """Return the inference profile ids the enabled `specs` are called through under `geography`.

    Args:
        specs: The environment's enabled models.
        geography: The environment's cross-region geography (None: in-region calls).

    Returns:
        One profile id per spec that has a profile in `geography`; none for in-region calls.
    """
    if geography is None:
        return ()
    return tuple(
        spec.profile_id(geography) for spec in specs if geography in spec.profile_geographies
    )


def collect_aws_facts(bedrock_client: Any, *, profile_ids: Iterable[str]) -> AwsFacts:
    """Ask Bedrock for its models and system-defined profiles, and for each of `profile_ids`.

    Args:
        bedrock_client: A Bedrock control-plane client; its region is the one checked.
        profile_ids: The inference profiles whose destination regions to ask for.

    Returns:
        What Bedrock reported in the client's region.

    Raises:
        ClientError: Bedrock refused a call (except GetInferenceProfile's ResourceNotFound).
        BotoCoreError: no credentials, no region or no endpoint.
    """
    answer = bedrock_client.list_foundation_models()
    models = {
        summary["modelId"]: _aws_model(summary) for summary in answer.get("modelSummaries", [])
    }
    profiles = frozenset(_system_profile_ids(bedrock_client))
    destinations: dict[str, tuple[str, ...]] = {}
    for profile_id in profile_ids:
        regions = _profile_destinations(bedrock_client, profile_id)
        if regions is not None:
            destinations[profile_id] = regions
    return AwsFacts(
        region=str(bedrock_client.meta.region_name),
        models=MappingProxyType(models),
        profiles=profiles,
        destinations=MappingProxyType(destinations),
    )


def _aws_model(summary: Mapping[str, Any]) -> AwsModel:
    life = summary.get("modelLifecycle", {})
    return AwsModel(
        model_id=summary["modelId"],
        name=summary.get("modelName", ""),
        provider=summary.get("providerName", ""),
        status=life.get("status", LifecycleStatus.ACTIVE.value),
        legacy=_day(life.get("legacyTime")),
        public_extended_access=_day(life.get("publicExtendedAccessTime")),
        end_of_life=_day(life.get("endOfLifeTime")),
        inference_types=frozenset(summary.get("inferenceTypesSupported", ())),
    )


def _day(value: datetime | None) -> date | None:
    if value is None:
        return None
    return (value.astimezone(UTC) if value.tzinfo else value).date()


def _system_profile_ids(bedrock_client: Any) -> Iterator[str]:
    params: dict[str, Any] = {"typeEquals": "SYSTEM_DEFINED", "maxResults": 1000}
    while True:
        page = bedrock_client.list_inference_profiles(**params)
        for summary in page.get("inferenceProfileSummaries", []):
            yield summary["inferenceProfileId"]
        if not page.get("nextToken"):
            return
        params["nextToken"] = page["nextToken"]


def _profile_destinations(bedrock_client: Any, profile_id: str) -> tuple[str, ...] | None:
    try:
        answer = bedrock_client.get_inference_profile(inferenceProfileIdentifier=profile_id)
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return None
        raise
    # arn:aws:bedrock:<region>::foundation-model/<id>: the fourth field is the region.
    return tuple(model["modelArn"].split(":")[3] for model in answer.get("models", []))
