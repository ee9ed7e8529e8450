"""Native InvokeModel adapters where the wire format truly differs from Converse.

Each adapter is pure: it builds the request body from validated input and parses the
response body. The registry maps the catalog's `Adapter` value to the adapter.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..catalog import Adapter
from . import cohere_embed, nova_titan_image, stability_image, titan_embed
from .base import EmbeddingAdapter, ImageAdapter

EMBEDDING_ADAPTERS: Mapping[Adapter, EmbeddingAdapter] = {
    Adapter.TITAN_EMBED: titan_embed.ADAPTER,
    Adapter.COHERE_EMBED: cohere_embed.ADAPTER,
}
IMAGE_ADAPTERS: Mapping[Adapter, ImageAdapter] = {
    Adapter.STABILITY_IMAGE: stability_image.ADAPTER,
    Adapter.NOVA_TITAN_IMAGE: nova_titan_image.ADAPTER,
}
