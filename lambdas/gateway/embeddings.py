"""POST /v1/embeddings: OpenAI embeddings through each family's native InvokeModel body."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import bedrock
from .adapters import EMBEDDING_ADAPTERS
from .adapters.base import EmbeddingRequest
from .adapters.cohere_embed import INPUT_TYPES
from .catalog import Modality
from .errors import ApiError, invalid_field, invalid_request
from .metering import RequestRecord, Usage, format_cost
from .routing import Routing, require_modality
from .service import Result

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

MAX_INPUTS = 2048


def parse_embedding_request(body: object) -> tuple[str, EmbeddingRequest, str]:
    """Validate the body; return the model name, the request and the encoding format."""
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid_field("model", "a model id or alias (string)", model)
    raw = body.get("input")
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise invalid_field("input", "a string or a non-empty list of strings", raw)
    if len(texts) > MAX_INPUTS or any(not t.strip() for t in texts):
        raise invalid_field("input", f"1 to {MAX_INPUTS} non-empty strings", f"{len(texts)} items")
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


def _encode(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vector
    # The OpenAI SDK asks for base64 by default: little-endian float32, as OpenAI sends it.
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def create_embeddings(
    routing: Routing,
    client_factory: Callable[[], BedrockRuntimeClient],
    body: object,
    record: RequestRecord,
) -> Result:
    """Embed every input with the requested model, batching as the family allows."""
    model, request, encoding = parse_embedding_request(body)
    target = routing.resolve(model)[0]
    spec = target.spec
    require_modality(spec, Modality.EMBEDDING, "embeddings")
    adapter = EMBEDDING_ADAPTERS[spec.adapter]
    if request.dimensions is not None and request.dimensions not in adapter.allowed_dimensions:
        allowed = ", ".join(str(d) for d in adapter.allowed_dimensions)
        raise invalid_field(
            "dimensions", f"one of {allowed} for '{spec.model_id}'", request.dimensions
        )
    record.model, record.invocation_id = spec.model_id, target.invocation_id
    vectors: list[list[float]] = []
    input_tokens = 0
    for start in range(0, len(request.texts), adapter.batch_size):
        batch = request.texts[start : start + adapter.batch_size]
        payload = json.dumps(adapter.build(request, batch)).encode()
        result = bedrock.invoke_model(client_factory(), target.invocation_id, payload)
        parsed = adapter.parse(result.json())
        if len(parsed.vectors) != len(batch):
            raise ApiError(
                502,
                f"The model '{spec.model_id}' returned {len(parsed.vectors)} "
                f"vectors for {len(batch)} inputs.",
                type_="model_error",
            )
        vectors.extend(parsed.vectors)
        # The model's own count; Cohere's body has none, so Bedrock's header counts instead.
        counted = parsed.input_tokens if parsed.input_tokens is not None else result.input_tokens
        input_tokens += counted or 0
    usage = Usage(input_tokens=input_tokens)
    record.usage, record.cost_usd = usage, usage.token_cost(target)
    data: list[dict[str, Any]] = [
        {"object": "embedding", "index": index, "embedding": _encode(vector, encoding)}
        for index, vector in enumerate(vectors)
    ]
    return Result(
        {
            "object": "list",
            "data": data,
            "model": spec.model_id,
            "usage": {"prompt_tokens": input_tokens, "total_tokens": input_tokens},
        },
        {"x-gateway-model": spec.model_id, "x-gateway-cost-usd": format_cost(record.cost_usd)},
    )
