"""Emulated embedding models: Titan Text Embeddings V2 and Cohere Embed v3 native bodies.

Vectors are deterministic per (model, text): derived from SHAKE-256 of both, so the same text
always embeds the same way and different texts get unrelated vectors (no semantics).
"""

from __future__ import annotations

import functools
import hashlib
import math
import operator
import struct
import uuid
from collections.abc import Sequence

from lambdas.gateway.catalog import ModelSpec

from .errors import validation
from .invoke_schema import Obj, malformed, shown, string_at
from .tokens import count_tokens
from .wire import Invoked

TITAN_DIMENSIONS = (256, 512, 1024)
TITAN_DEFAULT_DIMENSIONS = 1024
TITAN_MAX_CHARS = 50_000
TITAN_TYPES = ("float", "binary")
COHERE_DIMENSIONS = 1024
COHERE_MAX_TEXTS = 96
COHERE_MAX_CHARS = 2_048
COHERE_INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")
COHERE_TRUNCATE = ("NONE", "START", "END")
COHERE_TYPES = ("float", "int8", "uint8", "binary", "ubinary")
# Members Cohere Embed v3 accepts that the emulator does not model (image embeddings).
_COHERE_NOT_EMULATED = frozenset({"images"})
EMBED_LATENCY_MS = 40


@functools.lru_cache(maxsize=256)  # ~6 MB at most; benchmarks and tests repeat their texts
def unit_vector(model_id: str, text: str, dimensions: int) -> tuple[float, ...]:
    """Return a deterministic vector of unit length for `text` under `model_id`."""
    raw = hashlib.shake_256(f"{model_id}\0{text}".encode()).digest(2 * dimensions)
    values = struct.unpack(f"<{dimensions}h", raw)
    scale = 1.0 / (math.sqrt(sum(map(operator.mul, values, values))) or 1.0)
    return tuple(round(value * scale, 8) for value in values)


def titan_embed(spec: ModelSpec, body: Obj) -> Invoked:
    """Serve a Titan Text Embeddings V2 body."""
    body.allow(("inputText", "dimensions", "normalize", "embeddingTypes"))
    text = body.need_string("inputText", min_len=1, max_len=TITAN_MAX_CHARS)
    dimensions = body.integer("dimensions")
    if dimensions is not None and dimensions not in TITAN_DIMENSIONS:
        raise malformed(body.at("dimensions"), f"{dimensions} is not a valid enum value")
    normalize = body.boolean("normalize")
    types = _types(body, "embeddingTypes", TITAN_TYPES)
    tokens = max(1, count_tokens(text))
    if tokens > spec.context_window:
        # Titan's wording for an over-long input (UNVERIFIED).
        raise validation(
            f"400 Bad Request: Too many input tokens. Max input tokens: {spec.context_window}, "
            f"request input token count: {tokens}"
        )
    vector = unit_vector(spec.model_id, text, dimensions or TITAN_DEFAULT_DIMENSIONS)
    if normalize is False:
        # Unnormalised output: same direction, the magnitude a raw model output might have.
        vector = tuple(round(value * 7.5, 8) for value in vector)
    payload: dict[str, object] = {"inputTextTokenCount": tokens}
    if types is None or "float" in types:
        payload["embedding"] = vector
    if types is not None:
        # With embeddingTypes, Titan adds embeddingsByType (whether `embedding` stays when only
        # "binary" is asked for is UNVERIFIED; the emulator then leaves it out).
        payload["embeddingsByType"] = {
            kind: vector if kind == "float" else [1 if value > 0 else 0 for value in vector]
            for kind in types
        }
    return Invoked(payload, tokens, 0, EMBED_LATENCY_MS)


def cohere_embed(spec: ModelSpec, body: Obj) -> Invoked:
    """Serve a Cohere Embed v3 body: up to 96 texts, 1024 dimensions each."""
    for key in body.data:
        if key in _COHERE_NOT_EMULATED:
            raise validation(
                f"The local Bedrock emulator does not emulate '{key}' for Cohere Embed."
            )
    body.allow(("texts", "input_type", "truncate", "embedding_types"))
    items = body.need_array("texts", min_items=1, max_items=COHERE_MAX_TEXTS)
    body.need_choice("input_type", COHERE_INPUT_TYPES)
    truncate = body.choice("truncate", COHERE_TRUNCATE) or "NONE"
    types = _types(body, "embedding_types", COHERE_TYPES)
    texts: list[str] = []
    tokens = 0
    for index, item in enumerate(items):
        text = string_at(item, f"{body.at('texts')}/{index}", min_len=1, max_len=COHERE_MAX_CHARS)
        count = count_tokens(text)
        if count > spec.context_window:
            if truncate == "NONE":
                # Cohere's answer when truncate is NONE and a text is too long (UNVERIFIED).
                raise validation(
                    f"Text at index {index} has {count} tokens, more than the model's maximum "
                    f"of {spec.context_window}; shorten it or set truncate to START or END."
                )
            count = spec.context_window  # START/END drop tokens; `texts` echoes the input
        texts.append(text)
        tokens += max(1, count)
    vectors = [unit_vector(spec.model_id, text, COHERE_DIMENSIONS) for text in texts]
    digest = hashlib.sha256("\0".join([spec.model_id, *texts]).encode()).digest()
    payload: dict[str, object] = {
        "id": str(uuid.UUID(bytes=digest[:16], version=4)),
        "texts": texts,
    }
    if types is None:
        payload.update(response_type="embeddings_floats", embeddings=vectors)
    else:
        payload.update(
            response_type="embeddings_by_type",
            embeddings={kind: [_quantise(vector, kind) for vector in vectors] for kind in types},
        )
    return Invoked(payload, tokens, 0, EMBED_LATENCY_MS + len(texts))


def _types(body: Obj, key: str, allowed: Sequence[str]) -> list[str] | None:
    types = body.strings(key)
    if types is None:
        return None
    if not types:
        raise malformed(body.at(key), "expected minimum item count: 1, found: 0")
    for index, kind in enumerate(types):
        if kind not in allowed:
            raise malformed(f"{body.at(key)}/{index}", f"{shown(kind)} is not a valid enum value")
    return list(dict.fromkeys(types))


def _quantise(vector: Sequence[float], kind: str) -> Sequence[float]:
    """Return `vector` in Cohere's `kind` encoding (int8/uint8 scaled, binaries bit-packed)."""
    if kind == "float":
        return vector
    if kind in ("int8", "uint8"):
        scale = 127 / (max(abs(value) for value in vector) or 1.0)
        offset = 128 if kind == "uint8" else 0
        return [max(-128, min(127, round(value * scale))) + offset for value in vector]
    packed = [
        int("".join("1" if value > 0 else "0" for value in vector[start : start + 8]), 2)
        for start in range(0, len(vector), 8)
    ]
    return packed if kind == "ubinary" else [byte - 256 if byte > 127 else byte for byte in packed]
