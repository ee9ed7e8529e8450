"""Amazon Nova Canvas and Titan Image Generator v2: TEXT_IMAGE task, up to 5 images a call.

https://docs.aws.amazon.com/nova/latest/userguide/image-gen-req-resp-structure.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import ImageAdapter, ImageRequest, ImageResult

# Nova Canvas accepts seeds up to 858,993,459; the smaller bound fits both models.
SEED_MAX = 858_993_459


def build(request: ImageRequest, count: int, seed: int | None) -> dict[str, Any]:
    """Return the body for `count` images."""
    text: dict[str, Any] = {"text": request.prompt}
    if request.negative_prompt:
        text["negativeText"] = request.negative_prompt
    config: dict[str, Any] = {
        "numberOfImages": count,
        "width": request.width,
        "height": request.height,
        "quality": request.quality.value,
    }
    if seed is not None:
        config["seed"] = seed
    return {"taskType": "TEXT_IMAGE", "textToImageParams": text, "imageGenerationConfig": config}


def parse(body: Mapping[str, Any]) -> ImageResult:
    """Read the images; an `error` means the content filter (or the model) refused."""
    if body.get("error"):
        return ImageResult([], filtered_reason=str(body["error"]))
    return ImageResult([str(image) for image in body.get("images", [])])


ADAPTER = ImageAdapter(max_images_per_call=5, seed_max=SEED_MAX, build=build, parse=parse)
