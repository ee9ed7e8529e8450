"""Whether a model can be used today: end of life stops synthesis, LEGACY warns.

Pure functions over catalog specs, a day and an optional region, so config validation, the
docs and the tests ask the same question the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from lambdas.gateway.catalog import LifecycleStatus, ModelSpec


@dataclass(frozen=True, slots=True)
class Notice:
    """What to tell the person who enabled a model that is not ACTIVE."""

    fatal: bool
    message: str


def current_successor(
    spec: ModelSpec, catalog: Mapping[str, ModelSpec], day: date, region: str | None
) -> ModelSpec | None:
    """Follow the successor chain to the first model that is ACTIVE on `day` in `region`."""
    seen = {spec.model_id}
    successor_id = spec.lifecycle.successor
    while successor_id is not None and successor_id in catalog and successor_id not in seen:
        successor = catalog[successor_id]
        if successor.lifecycle.status_on(day, region) is LifecycleStatus.ACTIVE:
            return successor
        seen.add(successor_id)
        successor_id = successor.lifecycle.successor
    return None


def _where(region: str | None) -> str:
    return f" in {region}" if region else ""


def _instead(successor: ModelSpec | None) -> str:
    if successor is None:
        return "no ACTIVE successor is known: pick another model (docs/models.md)"
    return f"use '{successor.model_id}' ({successor.name}) instead"


def lifecycle_notice(
    spec: ModelSpec, catalog: Mapping[str, ModelSpec], day: date, region: str | None
) -> Notice | None:
    """Return what to say about `spec` on `day` in `region`, or None when it is ACTIVE."""
    status = spec.lifecycle.status_on(day, region)
    if status is LifecycleStatus.ACTIVE:
        return None
    stage = spec.lifecycle.stage_in(region)
    successor = current_successor(spec, catalog, day, region)
    label = f"'{spec.model_id}' ({spec.name})"
    if status is LifecycleStatus.END_OF_LIFE:
        when = f" on {stage.end_of_life}" if stage.end_of_life else ""
        return Notice(
            fatal=True,
            message=f"{label} reached end of life{when}{_where(region)}: Bedrock refuses it; "
            + _instead(successor),
        )
    end = f"reaches end of life on {stage.end_of_life}" if stage.end_of_life else "has no EOL date"
    since = f" since {stage.legacy}" if stage.legacy else ""
    extended = (
        f", costs more from {stage.public_extended_access}" if stage.public_extended_access else ""
    )
    return Notice(
        fatal=False,
        message=f"{label} is LEGACY{since}{_where(region)} (new accounts cannot use it{extended}) "
        f"and {end}; " + _instead(successor),
    )
