"""Writes docs/models.md from the model catalog, so the documented facts never drift from the data.

Run `python -m local.catalog_doc` (or `make docs`); a test fails when the file is stale.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from lambdas.gateway.catalog import (
    Geography,
    InvocationPath,
    LifecycleStatus,
    Modality,
    ModelSpec,
)
from model_catalog import all_models
from model_catalog.currency import current_successor

ROOT = Path(__file__).resolve().parent.parent
MODELS_DOC = ROOT / "docs" / "models.md"
CHECKED = date(2026, 11, 30)
"""The day the catalog's facts were last checked against AWS (the statuses below are as of it)."""

_PATH_LABELS = {
    InvocationPath.IN_REGION: "in region",
    InvocationPath.GEOGRAPHIC: "geo profile",
    InvocationPath.GLOBAL: "global profile",
}


def _money(value: object) -> str:
    return f"${value}"


def _price(spec: ModelSpec) -> str:
    pricing = spec.pricing
    if spec.modality is Modality.IMAGE:
        tiers = []
        for tier in pricing.images:
            size = f" up to {tier.max_pixels:,} px" if tier.max_pixels else ""
            tiers.append(f"{_money(tier.per_image)} {tier.quality.value}{size}")
        text = "; ".join(tiers) + " per image"
    else:
        parts = []
        for path, price in pricing.tokens.items():
            out = f" / {_money(price.output_per_million)}" if spec.modality is Modality.TEXT else ""
            parts.append(f"{_PATH_LABELS[path]} {_money(price.input_per_million)}{out}")
        text = "; ".join(parts)
    stamp = pricing.as_of.isoformat() if pricing.as_of else "undated"
    return f"{text} ({stamp}{'' if pricing.verified else ', unverified'})"


def _profiles(spec: ModelSpec) -> str:
    geos = [g.value for g in Geography if g in spec.profile_geographies]
    text = ", ".join(geos) if geos else "none"
    return text + (" (required)" if spec.requires_profile else "")


def _lifecycle(spec: ModelSpec, catalog: Mapping[str, ModelSpec]) -> str:
    status = spec.lifecycle.status_on(CHECKED)
    stage = spec.lifecycle.stage
    parts = [f"**{status.value}**"]
    if stage.legacy:
        parts.append(f"legacy {stage.legacy}")
    if stage.public_extended_access:
        parts.append(f"extended access {stage.public_extended_access}")
    if stage.end_of_life:
        parts.append(f"end of life {stage.end_of_life}")
    exceptions = [
        f"{region}: {regional.status_on(CHECKED).value}"
        for region, regional in sorted(spec.lifecycle.regional.items())
    ]
    if exceptions:
        parts.append("except " + ", ".join(exceptions))
    if status is not LifecycleStatus.ACTIVE:
        successor = current_successor(spec, catalog, CHECKED, None)
        if successor is not None:
            parts.append(f"use `{successor.model_id}`")
    return "; ".join(parts)


def _mark(spec: ModelSpec, field: str, text: str) -> str:
    return text + ("*" if field in spec.unverified else "")


def _sources(spec: ModelSpec) -> str:
    return " ".join(f"[{n}]({url})" for n, url in enumerate(spec.sources, start=1))


def _row(spec: ModelSpec, catalog: Mapping[str, ModelSpec]) -> str:
    capabilities = ", ".join(sorted(c.value for c in spec.capabilities)) or "-"
    if spec.modality is Modality.TEXT:
        limits = f"{spec.context_window:,} / {spec.max_output_tokens:,}"
    else:
        limits = f"{spec.context_window:,} in"
    limit_field = (
        "max_output_tokens" if "max_output_tokens" in spec.unverified else "context_window"
    )
    cells = [
        _mark(spec, "id", f"`{spec.model_id}`"),
        spec.name,
        spec.modality.value,
        _mark(spec, "lifecycle", _lifecycle(spec, catalog)),
        _mark(spec, "capabilities", capabilities),
        _mark(spec, limit_field, limits),
        _mark(spec, "geographies", _profiles(spec)),
        _price(spec),
        _sources(spec),
    ]
    return "| " + " | ".join(cells) + " |"


def render() -> str:
    """Return the Markdown page of every catalog entry, grouped by provider."""
    catalog = all_models()
    lines = [
        "# Model catalog",
        "",
        "Generated from `model_catalog/data/*.toml` by `python -m local.catalog_doc`; do not edit",
        "by hand. Use these ids in `models.enabled` and in aliases. A model Bedrock offers that is",
        "not listed here can be declared in a config (`[models.declared]`, see",
        "docs/configuration.md).",
        "",
        f"Statuses are as of {CHECKED}. An END_OF_LIFE model stops synthesis (Bedrock answers",
        "`ResourceNotFoundException`); a LEGACY one synthesizes with a warning (new accounts",
        "cannot use it). The successor is AWS's recommended replacement where AWS names one,",
        "otherwise the kit's nearest ACTIVE model of the same kind. Facts marked * are not",
        "confirmed by an AWS page; `make catalog-check ENV=...` compares the catalog with what",
        "Bedrock reports for your account and region.",
        "",
        "Prices are USD per million tokens (input / output) or per image, per invocation path: a",
        "global profile costs about 10% less than a geographic one for Claude 4.5 and later.",
        "Dated; `unverified` when read from AWS Labs' copy of the pricing page rather than the",
        "page itself. Metering and the cost alarm use the price of the path actually called.",
    ]
    by_provider: dict[str, list[ModelSpec]] = {}
    for spec in catalog.values():
        by_provider.setdefault(spec.provider, []).append(spec)
    for provider in sorted(by_provider):
        lines += [
            "",
            f"## {provider}",
            "",
            "| Model id | Name | Modality | Lifecycle | Capabilities | Context / max output"
            " | Cross-region profiles | Price | Sources |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        lines += [_row(spec, catalog) for spec in by_provider[provider]]
    return "\n".join(lines) + "\n"


def main() -> int:
    """Write docs/models.md."""
    MODELS_DOC.parent.mkdir(exist_ok=True)
    MODELS_DOC.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {MODELS_DOC.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
