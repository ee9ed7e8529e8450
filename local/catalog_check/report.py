"""The drift report as plain text: a heading, each section's findings and a summary line."""

from __future__ import annotations

from .compare import Finding, Report, Section


def render(report: Report) -> str:
    """Return the report as plain text: a heading, each section's findings, a summary line.

    Args:
        report: The check's findings, as `compare` returns them.

    Returns:
        The text to print, without a final newline.
    """
    geography = report.geography.value if report.geography else "none"
    lines = [
        f"Catalog drift check in {report.region} on {report.today.isoformat()}: "
        f"{len(report.enabled)} enabled models, cross_region {geography}, "
        f"prices {'checked' if report.prices_checked else 'not checked (--prices)'}",
        "Markers: ! affects an enabled model, * enabled model (informational), - other model",
    ]
    for section in Section:
        found = sorted((f for f in report.findings if f.section is section), key=_order)
        if not found:
            continue
        lines.extend(["", f"{section.value} ({len(found)})"])
        for finding in found:
            enabled = " [enabled]" if finding.enabled else ""
            lines.append(f"  {_marker(finding)} {finding.model_id}{enabled}: {finding.subject}")
            lines.append(f"      catalog: {finding.catalog}")
            lines.append(f"      AWS:     {finding.aws}")
    lines.extend(["", _summary(report)])
    return "\n".join(lines)


def _marker(finding: Finding) -> str:
    return "!" if finding.affects else "*" if finding.enabled else "-"


def _order(finding: Finding) -> tuple[bool, bool, str]:
    return (not finding.affects, not finding.enabled, finding.model_id)


def _summary(report: Report) -> str:
    count, affecting = len(report.findings), len(report.affecting)
    if not count:
        return f"Summary: no drift in {report.region} -> exit 0 (the catalog matches Bedrock)"
    findings = f"{count} finding{'s' if count != 1 else ''}"
    if affecting:
        return (
            f"Summary: {findings}, {affecting} affecting "
            f"{'an enabled model' if affecting == 1 else 'enabled models'} -> exit 1 "
            "(update the catalog or the config before the next deploy)"
        )
    return f"Summary: {findings}, none affecting an enabled model -> exit 0 (informational)"
