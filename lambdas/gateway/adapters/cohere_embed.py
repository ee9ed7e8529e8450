"""Cohere Embed v3 (English, Multilingual): batches of up to 96 texts, 1024 dimensions.

https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-embed.html
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .base import EmbeddingAdapter, EmbeddingRequest, EmbeddingResult

INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")


def build(request: EmbeddingRequest, texts: Sequence[str]) -> dict[str, Any]:
    """Return the body for one batch of texts."""
    return {"texts": list(texts), "input_type": request.input_type, "truncate": "NONE"}


def parse(body: Mapping[str, Any]) -> EmbeddingResult:
    """Read the vectors; Cohere's body has no token count, so the caller uses the headers."""
    return EmbeddingResult([list(vector) for vector in body["embeddings"]], None)


ADAPTER = EmbeddingAdapter(batch_size=96, allowed_dimensions=(1024,), build=build, parse=parse)
