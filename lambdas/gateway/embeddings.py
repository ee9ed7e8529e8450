"""POST /v1/embeddings: OpenAI embeddings through each family's native InvokeModel body."""

from __future__ import annotations

import base64
import dataclasses
import json
import struct
from typing import TYPE_CHECKING, Any

from . import bedrock
from .adapters import EMBEDDING_ADAPTERS
from .adapters.base import EmbeddingRequest
from .adapters.cohere_embed import INPUT_TYPES
from .catalog import Modality
from .errors import ApiError, invalid_field, invalid_request, object_with_model
from .exchange import Exchange
from .guardrails import guard_inputs
from .metering import Usage
from .responses import JsonResponse
from .routing import Target, require_modality

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

MAX_INPUTS = 2048


def parse_embedding_request(body: object) -> tuple[str, EmbeddingRequest, str]:
    """Validate the body; return the model name, the request and the encoding format."""
    body, model = object_with_model(body)
    texts = _texts(body.get("input"))
    dimensions = body.get("dimensions")
    if dimensions is not None and (isinstance(dimensions, bool) or not isinstance(dimensions, int)):
        raise invalid_field("dimensions", "an integer", dimensions)
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise invalid_field("encoding_format", "'float' or 'base64'", encoding)
    normalize = body.get("normalize", True)
    if not isinstance(normalize, bool):
        raise invalid_field("normalize", "a boolean", normalize)
    input_type = body.get("input_type", "search_document")
    if input_type not in INPUT_TYPES:
        raise invalid_field("input_type", "one of " + ", ".join(INPUT_TYPES), input_type)
    return model, EmbeddingRequest(tuple(texts), dimensions, normalize, input_type), encoding


# Token ids are a tokenizer's: Bedrock's embedding models take text, and decoding the ids
# would need the client's tokenizer (tiktoken's), which the gateway does not carry.
IDS_NOT_TEXT = (
    "'input' holds token ids (integers); Bedrock's embedding models take text: send strings. "
    "LangChain's OpenAIEmbeddings sends token ids by default: set "
    "check_embedding_ctx_length=False."
)


def _texts(raw: object) -> list[str]:
    """The texts of `input`: a string or a list of strings, each non-blank, at most MAX_INPUTS."""
    texts = [raw] if isinstance(raw, str) else raw
    if isinstance(texts, list) and texts and all(_token_ids(item) for item in texts):
        raise invalid_request(IDS_NOT_TEXT, param="input", code="token_ids_not_supported")
    if not isinstance(texts, list) or not texts:
        raise invalid_field("input", "a string or a non-empty list of strings", raw)
    if len(texts) > MAX_INPUTS:
        raise invalid_field("input", f"at most {MAX_INPUTS} strings", f"{len(texts)} items")
    for index, text in enumerate(texts):
        if _token_ids(text):
            raise invalid_request(
                IDS_NOT_TEXT, param=f"input[{index}]", code="token_ids_not_supported"
            )
        if not isinstance(text, str):
            raise invalid_field(f"input[{index}]", "a string", text)
        if not text.strip():
            raise invalid_field(f"input[{index}]", "non-empty text", text)
    return texts


def _token_ids(value: object) -> bool:
    """A token id, or a list of them (what clients send when they tokenize themselves)."""
    if isinstance(value, list):
        return bool(value) and all(_token_ids(item) for item in value if not isinstance(item, list))
    return isinstance(value, int) and not isinstance(value, bool)


def _encode(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vector
    # The OpenAI SDK asks for base64 by default: little-endian float32, as OpenAI sends it.
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def create_embeddings(exchange: Exchange) -> JsonResponse:
    """Embed every input with the requested model, batching as the family allows."""
    model, request, encoding = parse_embedding_request(exchange.body)
    targets = exchange.resolve(model)
    for target in targets:
        require_modality(target.spec, Modality.EMBEDDING, "embeddings")
        adapter = EMBEDDING_ADAPTERS[target.spec.adapter]
        if request.dimensions is not None and request.dimensions not in adapter.allowed_dimensions:
            allowed = ", ".join(str(d) for d in adapter.allowed_dimensions)
            raise invalid_field(
                "dimensions",
                f"one of {allowed} for '{target.spec.model_id}'",
                request.dimensions,
            )

    guardrail = exchange.guardrail(model, targets)
    if guardrail is not None:
        # Embedding models take no guardrail inline: the texts are checked (and masked) first.
        exchange.access.admit()
        texts = tuple(guard_inputs(exchange, guardrail, request.texts))
        request = dataclasses.replace(request, texts=texts)

    def attempt(target: Target, client: BedrockRuntimeClient) -> tuple[list[list[float]], int]:
        return _embed(exchange, target, client, request)

    vectors, input_tokens = exchange.call(targets, attempt)
    data: list[dict[str, Any]] = [
        {"object": "embedding", "index": index, "embedding": _encode(vector, encoding)}
        for index, vector in enumerate(vectors)
    ]
    assert exchange.meter.target is not None
    return JsonResponse(
        {
            "object": "list",
            "data": data,
            "model": exchange.meter.target.spec.model_id,
            "usage": {"prompt_tokens": input_tokens, "total_tokens": input_tokens},
        },
        exchange.meter.headers(),
    )


def _embed(
    exchange: Exchange, target: Target, client: BedrockRuntimeClient, request: EmbeddingRequest
) -> tuple[list[list[float]], int]:
    """All inputs with one model; each batch Bedrock answers is metered at once."""
    spec = target.spec
    adapter = EMBEDDING_ADAPTERS[spec.adapter]
    vectors: list[list[float]] = []
    input_tokens = 0
    for start in range(0, len(request.texts), adapter.batch_size):
        if start:
            exchange.budget.require(spec.model_id)
        batch = request.texts[start : start + adapter.batch_size]
        payload = json.dumps(adapter.build(request, batch)).encode()
        result = bedrock.invoke_model(client, target.invocation_id, payload)
        parsed = adapter.parse(result.json())
        # The model's own count; Cohere's body has none, so Bedrock's header counts instead.
        counted = parsed.input_tokens if parsed.input_tokens is not None else result.input_tokens
        exchange.meter.add_tokens(target, Usage(input_tokens=counted or 0))
        if len(parsed.vectors) != len(batch):
            raise ApiError(
                502,
                f"The model '{spec.model_id}' returned {len(parsed.vectors)} "
                f"vectors for {len(batch)} inputs.",
                type_="model_error",
            )
        vectors.extend(parsed.vectors)
        input_tokens += counted or 0
    return vectors, input_tokens
