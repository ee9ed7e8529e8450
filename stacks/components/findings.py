"""Acknowledge a cdk-nag finding or skip a checkov check on the construct that causes it."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Validations
from constructs import IConstruct

AWS_SOLUTIONS = "AwsSolutions::AwsSolutions-"
NIST = "NIST.800.53.R5::NIST.800.53.R5-"
HIPAA = "HIPAA.Security::HIPAA.Security-"
NIST_AND_HIPAA = (NIST, HIPAA)


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one granular cdk-nag finding on `construct` (and its children)."""
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))


def acknowledge_both_packs(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge the same rule of the NIST 800-53 and HIPAA Security packs."""
    for pack in NIST_AND_HIPAA:
        acknowledge(construct, f"{pack}{rule}", reason)


def checkov_skip(construct: IConstruct, check: str, reason: str) -> None:
    """Record a checkov skip with its reason in the resource's template metadata."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to annotate")
    skips = list((resource.get_metadata("checkov") or {}).get("skip", []))
    skips.append({"id": check, "comment": reason})
    resource.add_metadata("checkov", {"skip": skips})
