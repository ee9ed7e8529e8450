"""Amazon Titan Text Embeddings V2: one text per call, 256/512/1024 dimensions, normalized.

https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-embed-text.html
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .base import EmbeddingAdapter, EmbeddingRequest, EmbeddingResult


def build(request: EmbeddingRequest, texts: Sequence[str]) -> dict[str, Any]:
    """Return the body for the single text in `texts`."""
    (text,) = texts
    body: dict[str, Any] = {"inputText": text, "normalize": request.normalize}
    if request.dimensions is not None:
        body["dimensions"] = request.dimensions
    return body


def parse(body: Mapping[str, Any]) -> EmbeddingResult:
    """Read the vector and the model's own token count."""
    return EmbeddingResult([list(body["embedding"])], int(body["inputTextTokenCount"]))


ADAPTER = EmbeddingAdapter(
    batch_size=1, allowed_dimensions=(256, 512, 1024), build=build, parse=parse
)
