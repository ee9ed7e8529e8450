"""Renders pre-flight reports as plain text: the CLI, the handler's log and the failure reason."""

from __future__ import annotations

import json
from collections.abc import Sequence

from .checks import ModelReport

# CloudFormation rejects a custom-resource response body over 4096 bytes, and the CDK provider
# framework adds the log group name, the stack id and a trace line around the reason: leave room.
MAX_REASON_BYTES = 3300
SUMMARY_NAMES = 5
PROBLEM_PREFIX = "  - "


def _report_lines(report: ModelReport) -> list[str]:
    lines = [f"{'ok' if report.ok else 'NOT READY'}: {report.model_id}"]
    lines.extend(f"{PROBLEM_PREFIX}{problem.code}: {problem.fix}" for problem in report.problems)
    lines.extend(f"  note: {note}" for note in report.notes)
    return lines


def render(reports: Sequence[ModelReport], *, region: str) -> str:
    """Return the full report: a heading, then each model with each problem and its fix."""
    lines = [f"Bedrock model access in {region}: {summary(reports)}"]
    for report in reports:
        lines.extend(_report_lines(report))
    return "\n".join(lines)


def summary(reports: Sequence[ModelReport]) -> str:
    """Return one line: how many models are ready, naming the first few that are not."""
    failing = [report.model_id for report in reports if not report.ok]
    line = f"{len(reports) - len(failing)} of {len(reports)} models ready"
    if not failing:
        return line
    names = ", ".join(failing[:SUMMARY_NAMES])
    more = f" and {len(failing) - SUMMARY_NAMES} more" if len(failing) > SUMMARY_NAMES else ""
    return f"{line}; not ready: {names}{more}"


def _encoded_size(text: str) -> int:
    # What the text costs inside the JSON response body (newlines and quotes are escaped).
    return len(json.dumps(text).encode())


def failure_reason(
    reports: Sequence[ModelReport], *, region: str, limit: int = MAX_REASON_BYTES
) -> str:
    """Return the strict-mode failure message naming every failing model and fix, within limit."""
    failing = [report for report in reports if not report.ok]
    # Every failing model is named up front, so truncating the details never hides one.
    head = (
        f"Bedrock model access check failed in {region}: {len(failing)} of {len(reports)} "
        f"models not ready: {', '.join(r.model_id for r in failing)}. Fix each problem below, "
        'or set access_check.mode = "warn" to deploy anyway.'
    )
    lines = [line for report in failing for line in _report_lines(report)]
    for shown in range(len(lines), -1, -1):
        hidden = sum(1 for line in lines[shown:] if line.startswith(PROBLEM_PREFIX))
        tail = [f"... and {hidden} more (full report in the handler's log)"] if hidden else []
        text = "\n".join([head, *lines[:shown], *tail])
        if _encoded_size(text) <= limit:
            return text
    return head[:limit]
