"""Shapes shared by the InvokeModel adapters."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..catalog import ImageQuality


@dataclass(frozen=True, slots=True)
class EmbeddingRequest:
    """A validated embeddings request."""

    texts: tuple[str, ...]
    dimensions: int | None
    normalize: bool
    input_type: str


@dataclass(frozen=True, slots=True)
class EmbeddingResult:
    """Vectors in input order and the input tokens the model counted (None: use the headers)."""

    vectors: list[list[float]]
    input_tokens: int | None


@dataclass(frozen=True, slots=True)
class ImageRequest:
    """A validated image-generation request."""

    prompt: str
    negative_prompt: str | None
    count: int
    width: int
    height: int
    seed: int | None
    quality: ImageQuality


@dataclass(frozen=True, slots=True)
class ImageResult:
    """Base64 images, or why the model filtered them."""

    images: list[str]
    filtered_reason: str | None = None


@dataclass(frozen=True, slots=True)
class EmbeddingAdapter:
    """Builds one or more InvokeModel bodies (batches) and parses each response."""

    batch_size: int
    allowed_dimensions: Sequence[int]
    build: Callable[[EmbeddingRequest, Sequence[str]], dict[str, Any]]
    parse: Callable[[Mapping[str, Any]], EmbeddingResult]


@dataclass(frozen=True, slots=True)
class ImageAdapter:
    """Builds the InvokeModel body for `images_per_call` images and parses the response."""

    max_images_per_call: int
    seed_max: int
    build: Callable[[ImageRequest, int, int | None], dict[str, Any]]
    parse: Callable[[Mapping[str, Any]], ImageResult]
