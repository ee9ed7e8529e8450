"""InvokeModel as the emulator serves it: each family's native body, strictly validated.

Dispatch uses the catalog (the model's adapter, and for text models its native format), never
the model id's spelling. Usage comes back in the token-count headers, as Bedrock sends it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from types import MappingProxyType

from lambdas.gateway.catalog import Adapter, ModelSpec

from . import embeddings, image_models, native_messages, native_prompts
from .converse_stream import StreamReply
from .errors import BedrockError, validation
from .eventstream import CONTENT_TYPE
from .invoke_schema import Obj
from .models import require_on_demand_access, resolve
from .native_formats import NativeFormat, native_formats
from .wire import Invoked, OperationRequest, Reply, invoked_reply

BodyHandler = Callable[[ModelSpec, Obj], Invoked]
NativeHandler = Callable[[OperationRequest, ModelSpec, Obj], Invoked]

_BY_ADAPTER: Mapping[Adapter, BodyHandler] = MappingProxyType(
    {
        Adapter.TITAN_EMBED: embeddings.titan_embed,
        Adapter.COHERE_EMBED: embeddings.cohere_embed,
        Adapter.STABILITY_IMAGE: image_models.stability_image,
        Adapter.NOVA_TITAN_IMAGE: image_models.canvas_image,
    }
)
_BY_NATIVE_FORMAT: Mapping[NativeFormat, NativeHandler] = MappingProxyType(
    {
        NativeFormat.ANTHROPIC_MESSAGES: native_messages.anthropic,
        NativeFormat.NOVA_MESSAGES: native_messages.nova,
        NativeFormat.LLAMA_PROMPT: native_prompts.llama,
        NativeFormat.MISTRAL_PROMPT: native_prompts.mistral,
        NativeFormat.MISTRAL_PROMPT_OR_CHAT: native_prompts.mistral_prompt_or_chat,
        NativeFormat.COHERE_CHAT: native_prompts.cohere_chat,
    }
)


def invoke(request: OperationRequest) -> Invoked:
    """Validate the body for the model's family and produce its answer."""
    resolved = resolve(request.model_id, request.models)
    require_on_demand_access(resolved, request.model_id)
    spec = resolved.spec
    if request.body_error is not None:
        raise BedrockError("SerializationException", request.body_error)
    body = Obj(request.body)
    handler = _BY_ADAPTER.get(spec.adapter)
    if handler is not None:
        return handler(spec, body)
    native = native_formats().get(spec.model_id)
    if native is None:
        # Not Bedrock's answer: the emulator says plainly what it cannot serve.
        raise BedrockError(
            "UnknownOperationException",
            f"InvokeModel with {spec.name}'s native body is not emulated yet; "
            "Converse serves this model.",
            status=404,
        )
    return _BY_NATIVE_FORMAT[native](request, spec, body)


def handle_invoke(request: OperationRequest) -> Reply:
    """Serve `POST /model/{modelId}/invoke`."""
    return invoked_reply(invoke(request))


def handle_invoke_stream(request: OperationRequest) -> StreamReply:
    """Serve `POST /model/{modelId}/invoke-with-response-stream`.

    The emulator sends the family's whole native answer as one `chunk` event (real models send
    many, in family-specific shapes), with `amazon-bedrock-invocationMetrics` in it as Bedrock
    puts them in the last chunk.
    """
    resolved = resolve(request.model_id, request.models)
    if resolved.spec.adapter is not Adapter.CONVERSE:
        raise validation("The model is unsupported for streaming.")
    invoked = invoke(request)
    payload = dict(invoked.payload) if isinstance(invoked.payload, dict) else {}
    payload["amazon-bedrock-invocationMetrics"] = {
        "inputTokenCount": invoked.input_tokens,
        "outputTokenCount": invoked.output_tokens,
        "invocationLatency": invoked.latency_ms,
        "firstByteLatency": min(invoked.latency_ms, 100),
    }
    chunk = base64.b64encode(json.dumps(payload).encode()).decode()
    return StreamReply(200, b"", content_type=CONTENT_TYPE, events=(("chunk", {"bytes": chunk}),))
