"""Stability AI SD3 Large, SD3.5 Large, Stable Image Core and Ultra: one image per call.

https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-diffusion-3-5-large.html
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .base import ImageAdapter, ImageRequest, ImageResult

ASPECT_RATIOS = ("16:9", "1:1", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21")


def nearest_aspect_ratio(width: int, height: int) -> str:
    """Return the supported aspect ratio closest to width:height (compared on a log scale)."""
    wanted = math.log(width / height)

    def distance(ratio: str) -> float:
        w, h = (int(x) for x in ratio.split(":"))
        return abs(math.log(w / h) - wanted)

    return min(ASPECT_RATIOS, key=distance)


def build(request: ImageRequest, count: int, seed: int | None) -> dict[str, Any]:
    """Return the body for one image (`count` is always 1 for Stability)."""
    body: dict[str, Any] = {
        "prompt": request.prompt,
        "aspect_ratio": nearest_aspect_ratio(request.width, request.height),
        "output_format": "png",
    }
    if request.negative_prompt:
        body["negative_prompt"] = request.negative_prompt
    if seed is not None:
        body["seed"] = seed
    return body


def parse(body: Mapping[str, Any]) -> ImageResult:
    """Read the images; a non-null finish reason means the image was filtered or failed."""
    reasons = [reason for reason in body.get("finish_reasons", []) if reason]
    if reasons:
        return ImageResult([], filtered_reason="; ".join(str(r) for r in reasons))
    return ImageResult([str(image) for image in body.get("images", [])])


ADAPTER = ImageAdapter(max_images_per_call=1, seed_max=4_294_967_294, build=build, parse=parse)
