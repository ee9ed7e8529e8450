"""The catalog compared with what AWS reports: findings by section, and which ones matter."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from lambdas.gateway.catalog import (
    Geography,
    InvocationPath,
    LifecycleStage,
    LifecycleStatus,
    ModelSpec,
)
from model_catalog.geographies import DESTINATIONS, callable_from

from .facts import AwsFacts, AwsModel
from .prices import ListedPrice, matching_prices

# 0 no enabled model is affected (informational findings may remain); 1 a finding affects an
# enabled model; 2 could not check (config, catalog, credentials, region or endpoint).
EXIT_NO_DRIFT, EXIT_AFFECTED, EXIT_CANNOT_CHECK = 0, 1, 2
PRICE_TOLERANCE = Decimal("0.01")


class Section(StrEnum):
    """Report sections, in the order they are printed."""

    LIFECYCLE = "Lifecycle"
    PROFILES = "Inference profiles"
    DESTINATIONS = "Destination regions"
    PRICES = "Prices: in region, on demand, USD per million tokens"
    NEW_MODELS = "New models (informational)"


@dataclass(frozen=True, slots=True)
class Finding:
    """One difference between the catalog and AWS, for one model."""

    section: Section
    model_id: str
    subject: str
    catalog: str
    aws: str
    enabled: bool = False
    # True when the difference breaks or changes the environment's use of an enabled model.
    affects: bool = False


@dataclass(frozen=True, slots=True)
class Report:
    """Every finding of one check, and what was checked."""

    region: str
    today: date
    geography: Geography | None
    enabled: tuple[str, ...]
    findings: tuple[Finding, ...]
    prices_checked: bool = False

    @property
    def affecting(self) -> tuple[Finding, ...]:
        """The findings that affect an enabled model."""
        return tuple(finding for finding in self.findings if finding.affects)

    @property
    def exit_code(self) -> int:
        """1 when a finding affects an enabled model, else 0."""
        return EXIT_AFFECTED if self.affecting else EXIT_NO_DRIFT


def compare(
    catalog: Mapping[str, ModelSpec],
    enabled: Collection[str],
    geography: Geography | None,
    facts: AwsFacts,
    *,
    today: date,
    region: str,
    prices: Sequence[ListedPrice] | None = None,
) -> Report:
    """Compare `catalog` with `facts` for an environment that enables `enabled` under `geography`.

    Args:
        catalog: Every model the kit knows (the catalog and the config's declared models).
        enabled: The environment's enabled model ids.
        geography: The environment's cross-region geography (None: in-region calls).
        facts: What Bedrock reported in `region`.
        today: The day the catalog's lifecycle dates are read on.
        region: The region checked.
        prices: Price List products (None: prices not checked).

    Returns:
        The report; a finding affects only an enabled model.
    """
    findings: list[Finding] = []
    for spec in catalog.values():
        on = spec.model_id in enabled
        findings.extend(_lifecycle(spec, on, facts.models.get(spec.model_id), today, region))
        findings.extend(_profiles(spec, on, geography, facts, region))
        if prices is not None:
            findings.extend(_prices(spec, on, prices))
    # A generator: the catalog is looked up only where destinations are checked.
    findings.extend(_destinations((catalog[m] for m in enabled), geography, facts))
    findings.extend(_new_models(catalog, facts))
    return Report(
        region=region,
        today=today,
        geography=geography,
        enabled=tuple(enabled),
        findings=tuple(findings),
        prices_checked=prices is not None,
    )


def _finding(
    section: Section,
    spec: ModelSpec,
    enabled: bool,
    subject: str,
    catalog: str,
    aws: str,
    *,
    affects: bool = False,
) -> Finding:
    return Finding(section, spec.model_id, subject, catalog, aws, enabled, enabled and affects)


def _dates(stage: LifecycleStage | AwsModel) -> tuple[tuple[str, date | None], ...]:
    """The stage's lifecycle dates with their labels, in lifecycle order."""
    return (
        ("legacy", stage.legacy),
        ("public extended access", stage.public_extended_access),
        ("end of life", stage.end_of_life),
    )


def _stage_text(status: str, stage: LifecycleStage | AwsModel) -> str:
    dates = [f"{label} {day.isoformat()}" for label, day in _dates(stage) if day is not None]
    return f"{status} ({', '.join(dates)})" if dates else status


def _lifecycle(
    spec: ModelSpec, enabled: bool, aws: AwsModel | None, today: date, region: str
) -> list[Finding]:
    stage = spec.lifecycle.stage_in(region)
    expected = spec.lifecycle.status_on(today, region)
    ours = _stage_text(expected.value, stage)
    if aws is None:
        if expected is LifecycleStatus.END_OF_LIFE:
            return []
        subject = f"not offered in {region} (end of life, or not in this region)"
        return [
            _finding(Section.LIFECYCLE, spec, enabled, subject, ours, "not listed", affects=True)
        ]
    # Only the dates AWS reports are compared: the API leaves them out for most ACTIVE models.
    dates = [
        label
        for (label, mine), (_, theirs) in zip(_dates(stage), _dates(aws), strict=True)
        if theirs is not None and theirs != mine
    ]
    status_differs = aws.status != expected.value
    if not status_differs and not dates:
        return []
    subject = ", ".join((["status"] if status_differs else []) + [f"{d} date" for d in dates])
    now_legacy = status_differs and aws.status == LifecycleStatus.LEGACY.value
    return [
        _finding(
            Section.LIFECYCLE,
            spec,
            enabled,
            f"{subject} differ{'s' if len(dates) + status_differs == 1 else ''}",
            ours,
            _stage_text(aws.status, aws),
            affects=now_legacy or bool(dates),
        )
    ]


def _aws_profile_prefixes(model_id: str, facts: AwsFacts) -> set[str]:
    ids = facts.profiles | facts.destinations.keys()
    return {pid.split(".", 1)[0] for pid in ids if pid.split(".", 1)[-1] == model_id}


def _profiles(
    spec: ModelSpec, enabled: bool, geography: Geography | None, facts: AwsFacts, region: str
) -> list[Finding]:
    theirs = _aws_profile_prefixes(spec.model_id, facts)
    if not enabled and not theirs and spec.model_id not in facts.models:
        return []  # Not in this region at all: the lifecycle section says so once.
    ours = {geo.value for geo in spec.profile_geographies}
    claimed = ", ".join(sorted(ours)) or "none"
    listed = ", ".join(sorted(theirs)) or "none"
    findings = [
        _finding(Section.PROFILES, spec, enabled, f"AWS has a {p}. profile", claimed, listed)
        for p in sorted(theirs - ours)
    ]
    for geo in sorted(spec.profile_geographies - {Geography(p) for p in theirs & ours}):
        if callable_from(geo, region):
            subject = f"no {geo.value}. profile callable from {region}"
            used = geo is geography
            findings.append(
                _finding(Section.PROFILES, spec, enabled, subject, claimed, listed, affects=used)
            )
    return findings


def _destinations(
    enabled_specs: Iterable[ModelSpec], geography: Geography | None, facts: AwsFacts
) -> list[Finding]:
    if geography is None or geography is Geography.GLOBAL:
        return []  # IAM allows a global profile's region-less model ARN: any region will do.
    allowed = DESTINATIONS[geography]
    findings: list[Finding] = []
    for spec in enabled_specs:
        if geography not in spec.profile_geographies:
            continue
        profile_id = spec.profile_id(geography)
        routes = facts.destinations.get(profile_id, ())
        ours = f"IAM allows {geography.value} profiles to reach {', '.join(allowed)}"
        theirs = f"{profile_id} routes to {', '.join(r or '(region-less ARN)' for r in routes)}"
        for region in sorted(set(routes) - set(allowed)):
            subject = f"IAM would deny calls routed to {region or 'a region-less model ARN'}"
            findings.append(
                _finding(Section.DESTINATIONS, spec, True, subject, ours, theirs, affects=True)
            )
    return findings


def _usd(value: Decimal) -> str:
    return f"${value.normalize():f}"


def _prices(spec: ModelSpec, enabled: bool, prices: Sequence[ListedPrice]) -> list[Finding]:
    ours = spec.pricing.tokens.get(InvocationPath.IN_REGION)
    matched = matching_prices(spec, prices)
    if ours is None or not matched:
        if not enabled:
            return []
        if ours is None:
            note = "no in-region token price (priced per image, or global only)"
            return [_finding(Section.PRICES, spec, enabled, "not compared", note, "-")]
        missing = "no Price List product matched the name"
        name = f"name {spec.name!r}"
        return [_finding(Section.PRICES, spec, enabled, "price not found", name, missing)]
    findings: list[Finding] = []
    for direction, mine in (
        ("input", ours.input_per_million),
        ("output", ours.output_per_million),
    ):
        listed = sorted({p.per_million for p in matched if p.direction == direction})
        shown = ", ".join(_usd(value) for value in listed)
        if len(listed) > 1:
            subject = f"{direction}: several Price List products match, not compared"
            findings.append(_finding(Section.PRICES, spec, enabled, subject, _usd(mine), shown))
        elif listed and abs(mine - listed[0]) > listed[0] * PRICE_TOLERANCE:
            subject = f"{direction} price differs by more than {PRICE_TOLERANCE:.0%}"
            findings.append(
                _finding(Section.PRICES, spec, enabled, subject, _usd(mine), shown, affects=True)
            )
    return findings


def _new_models(catalog: Mapping[str, ModelSpec], facts: AwsFacts) -> list[Finding]:
    providers = {spec.provider.lower() for spec in catalog.values()}
    findings: list[Finding] = []
    for model in facts.models.values():
        prefix = model.model_id.split(".", 1)[0]
        known = model.provider.lower() in providers or prefix in providers
        if model.model_id in catalog or not known or not model.on_demand:
            continue
        aws = f"{model.name} by {model.provider}, {_stage_text(model.status, model)}"
        findings.append(
            Finding(Section.NEW_MODELS, model.model_id, f"new {prefix} model", "absent", aws)
        )
    return findings
