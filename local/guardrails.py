"""`make run`'s guardrails: each config entry applied by the emulator (words, topics, PII)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from local.emulator.guardrails import LocalGuardrail, local_guardrail_id
from stacks.config import KitConfig

LOCAL_VERSION = "1"


def local_guardrails(config: KitConfig) -> list[LocalGuardrail]:
    """Every guardrail of `config` as the emulator applies it (content filters are not)."""
    return [
        LocalGuardrail(
            guardrail_id=local_guardrail_id(guardrail.name),
            version=LOCAL_VERSION,
            blocked_input_message=guardrail.blocked_input_message,
            blocked_output_message=guardrail.blocked_output_message,
            words=tuple(guardrail.blocked_words),
            profanity=guardrail.profanity,
            topics=tuple(
                (topic.name, topic.definition, tuple(topic.examples))
                for topic in guardrail.denied_topics
            ),
            pii={kind: action.value.upper() for kind, action in guardrail.pii.items()},
            regexes=tuple(
                (regex.name, regex.pattern, regex.action.value.upper())
                for regex in guardrail.regexes
            ),
            content_filters=tuple(kind.value.upper() for kind in guardrail.content_filters),
        )
        for guardrail in config.guardrails
    ]


def ids_json(config: KitConfig, guardrails: Sequence[LocalGuardrail]) -> str:
    """GATEWAY_GUARDRAILS for the emulator's guardrails (same order as config's)."""
    return json.dumps(
        {
            configured.name: {"id": local.guardrail_id, "version": local.version}
            for configured, local in zip(config.guardrails, guardrails, strict=True)
        }
    )


def deployed_ids_json(config: KitConfig, region: str) -> str:
    """The ids and versions of `config`'s deployed guardrails (the stacks' outputs)."""
    import boto3

    from local.stack_outputs import output_value
    from stacks.components.guardrails import guardrail_output_names

    cloudformation = boto3.client("cloudformation", region_name=region)
    instead = "set GATEWAY_GUARDRAILS (JSON: name -> {id, version})"
    found = {}
    for guardrail in config.guardrails:
        id_key, version_key = guardrail_output_names(guardrail.name)
        found[guardrail.name] = {
            "id": output_value(
                cloudformation, config.env_name, id_key, instead=instead, exact=True
            ),
            # Versions are published in the Service stack, beside the functions.
            "version": output_value(
                cloudformation,
                config.env_name,
                version_key,
                instead=instead,
                exact=True,
                stack=f"BedrockKit-{config.env_name}-Service",
            ),
        }
    return json.dumps(found)
