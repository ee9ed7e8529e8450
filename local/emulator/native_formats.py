"""Which native InvokeModel body each Converse-served (text) catalog model speaks.

Built from the catalog by provider where a provider has one text format, and by explicit model
id where it has several (Amazon's Nova models, Mistral's Large models). Model ids are never
parsed: a new model of a multi-format provider needs an entry here. Providers whose native
bodies are not emulated yet are named in NOT_EMULATED (a test checks every other text model has
a format); their models are served through Converse.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from lambdas.gateway.catalog import Adapter
from model_catalog import all_models


class NativeFormat(StrEnum):
    """A family's native text body for InvokeModel."""

    ANTHROPIC_MESSAGES = "anthropic-messages"
    LLAMA_PROMPT = "llama-prompt"
    MISTRAL_PROMPT = "mistral-prompt"
    # Mistral Large: the text-completion prompt or the chat-completion messages body.
    MISTRAL_PROMPT_OR_CHAT = "mistral-prompt-or-chat"
    COHERE_CHAT = "cohere-chat"
    NOVA_MESSAGES = "nova-messages"


# Providers whose text models all share one format (Mistral: unless listed below).
_BY_PROVIDER: Mapping[str, NativeFormat] = {
    "anthropic": NativeFormat.ANTHROPIC_MESSAGES,
    "meta": NativeFormat.LLAMA_PROMPT,
    "mistral": NativeFormat.MISTRAL_PROMPT,
    "cohere": NativeFormat.COHERE_CHAT,
}
# Providers whose native InvokeModel bodies the emulator does not speak yet (Converse works).
NOT_EMULATED = frozenset({"openai", "deepseek", "qwen"})
# Models whose format their provider does not determine.
_BY_MODEL_ID: Mapping[str, NativeFormat] = {
    "mistral.mistral-large-2402-v1:0": NativeFormat.MISTRAL_PROMPT_OR_CHAT,
    "mistral.mistral-large-2407-v1:0": NativeFormat.MISTRAL_PROMPT_OR_CHAT,
    "mistral.pixtral-large-2502-v1:0": NativeFormat.MISTRAL_PROMPT_OR_CHAT,
    "mistral.mistral-large-3-675b-instruct": NativeFormat.MISTRAL_PROMPT_OR_CHAT,
    "amazon.nova-micro-v1:0": NativeFormat.NOVA_MESSAGES,
    "amazon.nova-lite-v1:0": NativeFormat.NOVA_MESSAGES,
    "amazon.nova-pro-v1:0": NativeFormat.NOVA_MESSAGES,
    "amazon.nova-premier-v1:0": NativeFormat.NOVA_MESSAGES,
    "amazon.nova-2-lite-v1:0": NativeFormat.NOVA_MESSAGES,
}


def build_native_formats() -> Mapping[str, NativeFormat]:
    """Map each Converse-adapter catalog model id to its native format (unknown ones left out)."""
    table: dict[str, NativeFormat] = {}
    for spec in all_models().values():
        if spec.adapter is not Adapter.CONVERSE:
            continue
        native = _BY_MODEL_ID.get(spec.model_id) or _BY_PROVIDER.get(spec.provider)
        if native is not None:
            table[spec.model_id] = native
    return MappingProxyType(table)


@functools.cache
def native_formats() -> Mapping[str, NativeFormat]:
    """Return the native format table, built once per process."""
    return build_native_formats()
