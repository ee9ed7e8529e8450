"""Bedrock Guardrails as code: one AWS::Bedrock::Guardrail and a published version each.

A version is what the gateway calls: a guardrail's working draft changes with every
deployment, a version never does. The version's description carries a digest of the
guardrail's settings, so changing them publishes a new version (CloudFormation replaces a
GuardrailVersion whose description changes) and the gateway moves to it in the same deploy.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.components.model_access import for_endpoint
from stacks.components.names import fitted_name

# Prompt attacks are judged on prompts only: Bedrock refuses another output strength for them.
PROMPT_ATTACK = "PROMPT_ATTACK"


@dataclass(frozen=True, slots=True)
class GuardrailSettings:
    """One guardrail's policies and messages, in Bedrock's terms (types and actions upper)."""

    name: str
    blocked_input_message: str
    blocked_output_message: str
    description: str | None = None
    # Filter type (HATE, ...) -> (input strength, output strength).
    content_filters: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # Each topic: its name, definition and examples.
    denied_topics: Sequence[tuple[str, str, tuple[str, ...]]] = ()
    blocked_words: Sequence[str] = ()
    profanity: bool = False
    # PII entity type -> BLOCK or ANONYMIZE.
    pii: Mapping[str, str] = field(default_factory=dict)
    # Each pattern: its name, regular expression, action and description.
    regexes: Sequence[tuple[str, str, str, str | None]] = ()
    grounding_threshold: float | None = None
    relevance_threshold: float | None = None

    def digest(self) -> str:
        """A short digest of every setting (a new one publishes a new version)."""
        encoded = json.dumps(asdict(self), sort_keys=True, default=list).encode()
        return hashlib.sha256(encoded).hexdigest()[:12]


class Guardrails(Construct):
    """The environment's guardrails (their working drafts; GuardrailVersions publishes them)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        guardrails: Sequence[GuardrailSettings],
    ) -> None:
        super().__init__(scope, construct_id)
        self.resources: dict[str, bedrock.CfnGuardrail] = {}
        self.settings: dict[str, GuardrailSettings] = {}
        for settings in guardrails:
            guardrail = bedrock.CfnGuardrail(
                self,
                settings.name,
                # AWS::Bedrock::Guardrail names: at most 50 characters.
                name=fitted_name(f"bedrock-kit-{env_name}-{settings.name}", 50),
                description=settings.description,
                blocked_input_messaging=settings.blocked_input_message,
                blocked_outputs_messaging=settings.blocked_output_message,
                **_policies(settings),
            )
            self.resources[settings.name] = guardrail
            self.settings[settings.name] = settings
            # `make run` against real Bedrock reads it (an exact key, no CDK path hash).
            id_key, _version_key = guardrail_output_names(settings.name)
            output = CfnOutput(
                self,
                id_key,
                value=guardrail.attr_guardrail_id,
                description=f"Guardrail {settings.name}",
            )
            output.override_logical_id(id_key)

    def arns(self) -> list[str]:
        """Every guardrail's ARN."""
        return [guardrail.attr_guardrail_arn for guardrail in self.resources.values()]

    def apply_statements(self) -> list[iam.PolicyStatement]:
        """The gateway's permission: apply exactly these guardrails (inline or ApplyGuardrail)."""
        if not self.resources:
            return []
        return [
            iam.PolicyStatement(
                sid="ApplyTheGuardrails", actions=["bedrock:ApplyGuardrail"], resources=self.arns()
            )
        ]

    def endpoint_statements(self) -> list[iam.PolicyStatement]:
        """The same, as the bedrock-runtime endpoint's policy for this account's principals."""
        return [for_endpoint(statement) for statement in self.apply_statements()]


class GuardrailVersions(Construct):
    """A published version of each guardrail: what the gateway applies (Service stack).

    In the stack of the functions that apply it: a new version and the functions' variable
    change in one stack update, so no other stack's import of it blocks the replacement (an
    export in use cannot change), and the old version goes only after the functions moved.
    """

    def __init__(self, scope: Construct, construct_id: str, *, guardrails: Guardrails) -> None:
        super().__init__(scope, construct_id)
        self.versions: dict[str, bedrock.CfnGuardrailVersion] = {}
        self.ids: dict[str, str] = {}
        for name, guardrail in guardrails.resources.items():
            # Stateful deploys first: the draft already holds the new settings.
            version = bedrock.CfnGuardrailVersion(
                self,
                name,
                guardrail_identifier=guardrail.attr_guardrail_id,
                description=f"bedrock-kit settings {guardrails.settings[name].digest()}",
            )
            self.versions[name] = version
            self.ids[name] = guardrail.attr_guardrail_id
            _id_key, version_key = guardrail_output_names(name)
            output = CfnOutput(
                self, version_key, value=version.attr_version, description=f"Guardrail {name}"
            )
            output.override_logical_id(version_key)

    def ids_json(self) -> str:
        """GATEWAY_GUARDRAILS: name -> {id, version} (tokens, resolved by CloudFormation)."""
        return Stack.of(self).to_json_string(
            {
                name: {"id": self.ids[name], "version": version.attr_version}
                for name, version in self.versions.items()
            }
        )


def guardrail_output_names(name: str) -> tuple[str, str]:
    """The Stateful stack's output keys of guardrail `name`: its id and published version."""
    base = "Guardrail" + name.replace("-", "Dash")
    return f"{base}Id", f"{base}Version"


def _policies(settings: GuardrailSettings) -> dict[str, Any]:
    """The CfnGuardrail policy properties a guardrail's settings ask for."""
    properties: dict[str, Any] = {}
    if settings.content_filters:
        properties["content_policy_config"] = bedrock.CfnGuardrail.ContentPolicyConfigProperty(
            filters_config=[
                bedrock.CfnGuardrail.ContentFilterConfigProperty(
                    type=kind,
                    input_strength=strengths[0],
                    output_strength="NONE" if kind == PROMPT_ATTACK else strengths[1],
                )
                for kind, strengths in settings.content_filters.items()
            ]
        )
    if settings.denied_topics:
        properties["topic_policy_config"] = bedrock.CfnGuardrail.TopicPolicyConfigProperty(
            topics_config=[
                bedrock.CfnGuardrail.TopicConfigProperty(
                    name=name,
                    definition=definition,
                    examples=list(examples) or None,
                    type="DENY",
                )
                for name, definition, examples in settings.denied_topics
            ]
        )
    if settings.blocked_words or settings.profanity:
        properties["word_policy_config"] = bedrock.CfnGuardrail.WordPolicyConfigProperty(
            words_config=[
                bedrock.CfnGuardrail.WordConfigProperty(text=word)
                for word in settings.blocked_words
            ]
            or None,
            managed_word_lists_config=[
                bedrock.CfnGuardrail.ManagedWordsConfigProperty(type="PROFANITY")
            ]
            if settings.profanity
            else None,
        )
    if settings.pii or settings.regexes:
        properties["sensitive_information_policy_config"] = (
            bedrock.CfnGuardrail.SensitiveInformationPolicyConfigProperty(
                pii_entities_config=[
                    bedrock.CfnGuardrail.PiiEntityConfigProperty(type=kind, action=action)
                    for kind, action in sorted(settings.pii.items())
                ]
                or None,
                regexes_config=[
                    bedrock.CfnGuardrail.RegexConfigProperty(
                        name=name, pattern=pattern, action=action, description=description
                    )
                    for name, pattern, action, description in settings.regexes
                ]
                or None,
            )
        )
    thresholds = [
        ("GROUNDING", settings.grounding_threshold),
        ("RELEVANCE", settings.relevance_threshold),
    ]
    grounding = [
        bedrock.CfnGuardrail.ContextualGroundingFilterConfigProperty(type=kind, threshold=value)
        for kind, value in thresholds
        if value is not None
    ]
    if grounding:
        properties["contextual_grounding_policy_config"] = (
            bedrock.CfnGuardrail.ContextualGroundingPolicyConfigProperty(filters_config=grounding)
        )
    return properties
