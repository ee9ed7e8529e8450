"""Renders pre-flight reports for people: CloudFormation failure reasons, logs and the CLI."""

from __future__ import annotations

from collections.abc import Sequence

from .checks import ModelReport

MAX_REASON_CHARS = 3800  # CloudFormation shows a few kilobytes of a failure reason


def render(reports: Sequence[ModelReport], *, region: str) -> str:
    """One line per model, then one line per problem with its fix."""
    lines = [f"Bedrock model access in {region}: {summary(reports)}"]
    for report in reports:
        lines.append(f"- {report.model_id}: {'ok' if report.ok else 'NOT READY'}")
        lines.extend(f"    {problem.code}: {problem.fix}" for problem in report.problems)
        lines.extend(f"    note: {note}" for note in report.notes)
    return "\n".join(lines)


def summary(reports: Sequence[ModelReport]) -> str:
    """One line: how many models are ready."""
    ready = sum(1 for report in reports if report.ok)
    return f"{ready} of {len(reports)} models ready"


def failure_reason(reports: Sequence[ModelReport], *, region: str) -> str:
    """The strict-mode failure message, truncated to what CloudFormation shows."""
    text = render([r for r in reports if not r.ok], region=region)
    if len(text) <= MAX_REASON_CHARS:
        return text
    cut = text[:MAX_REASON_CHARS].rsplit("\n", 1)[0]
    hidden = text[len(cut) :].count("\n- ")
    return f"{cut}\n... and {hidden} more models (see the handler's log)"
