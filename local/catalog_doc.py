"""Writes docs/models.md from the model catalog, so the documented ids never drift from the code.

Run `python -m local.catalog_doc` (or `make docs`); a test fails when the file is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lambdas.gateway.catalog import PRICES_AS_OF, Geography, ModelSpec, all_models

ROOT = Path(__file__).resolve().parent.parent
MODELS_DOC = ROOT / "docs" / "models.md"


def _price(spec: ModelSpec) -> str:
    price = spec.price
    if price.per_image:
        return f"${price.per_image} / image"
    if price.output_per_1k:
        return f"${price.input_per_1k} in / ${price.output_per_1k} out"
    return f"${price.input_per_1k} in"


def _profiles(spec: ModelSpec) -> str:
    geos = [g.value for g in Geography if g in spec.profile_geographies]
    text = ", ".join(geos) if geos else "none"
    return text + (" (required)" if spec.requires_profile else "")


def render() -> str:
    """Return the Markdown table of every catalog entry."""
    lines = [
        "# Model catalog",
        "",
        "Generated from `lambdas/gateway/catalog_entries.py` by `python -m local.catalog_doc`;",
        "do not edit by hand. Use these ids in `models.enabled` and in aliases (config files).",
        "",
        "Prices are on-demand list prices in USD per 1,000 tokens or per image, as of "
        f"{PRICES_AS_OF},",
        "taken from third-party summaries: **all prices are UNVERIFIED placeholders** until",
        "checked against the AWS pricing page. Fields marked with * are UNVERIFIED in the",
        "reference (`shared/reference/bedrock.md`); LEGACY status is the expected lifecycle,",
        "to be confirmed with `GetFoundationModel` in your region.",
        "",
        "| Model id | Name | Provider | Modality | API | Capabilities"
        " | Context / max output"
        " | Cross-region profiles | Price | Lifecycle |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for spec in all_models().values():

        def mark(field: str, text: str, spec: ModelSpec = spec) -> str:
            return text + ("*" if field in spec.unverified else "")

        capabilities = ", ".join(sorted(c.value for c in spec.capabilities)) or "-"
        limits = (
            f"{spec.context_window:,} / {spec.max_output_tokens:,}"
            if spec.max_output_tokens
            else "-"
        )
        lines.append(
            f"| `{spec.model_id}` | {spec.name} | {spec.provider.value} | {spec.modality.value}"
            f" | {spec.api.value} | {mark('capabilities', capabilities)}"
            f" | {mark('context_window', limits)}"
            f" | {mark('profile_geographies', _profiles(spec))}"
            f" | {_price(spec)}* | {mark('lifecycle', spec.lifecycle.value)} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    """Write docs/models.md."""
    MODELS_DOC.parent.mkdir(exist_ok=True)
    MODELS_DOC.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {MODELS_DOC.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
