"""Emulated image models: Stability SD3/SD3.5/Core/Ultra, Titan Image v2 and Nova Canvas.

Images are tiny solid-colour PNGs whose colour derives from the request (prompt, seed...) and
whose pixel size mirrors the request: Stability's aspect ratio W:H gives (4W x 4H) pixels,
Titan/Nova width x height gives (width/16 x height/16) pixels.

Content filter: a prompt containing FILTER_TRIGGER is "blocked". Stability then answers 200 with
a filter finish reason and no image; Titan Image and Nova Canvas answer 400 ValidationException.
"""

from __future__ import annotations

import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from lambdas.gateway.catalog import ModelSpec

from .errors import validation
from .invoke_schema import Obj, malformed
from .png import colour_for, solid_png_base64
from .tokens import count_tokens
from .wire import Invoked

# The emulator's content-filter trigger: put this word in a prompt to get the filtered answer.
FILTER_TRIGGER = "blocked-by-filter"
# Titan Image's message for a blocked prompt; Nova Canvas is assumed to say the same (UNVERIFIED).
FILTER_MESSAGE = "This request has been blocked by our content filters."
IMAGE_LATENCY_MS = 1_500  # per image

STABILITY_ASPECT_RATIOS = ("16:9", "1:1", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21")
STABILITY_PROMPT_MAX = 10_000
STABILITY_SEED_MAX = 4_294_967_294
_STABILITY_KEYS = (
    "prompt",
    "mode",
    "aspect_ratio",
    "seed",
    "negative_prompt",
    "output_format",
    "image",
    "strength",
)
_STABILITY_PIXELS_PER_RATIO_UNIT = 4

CANVAS_TASK_TYPES = (
    "TEXT_IMAGE",
    "INPAINTING",
    "OUTPAINTING",
    "IMAGE_VARIATION",
    "COLOR_GUIDED_GENERATION",
    "BACKGROUND_REMOVAL",
    "VIRTUAL_TRY_ON",
)
# Titan v2 really accepts a fixed list of sizes; the emulator applies Nova Canvas's rule (each
# side 320..4096 and a multiple of 16) to both models.
CANVAS_SIDE_MIN, CANVAS_SIDE_MAX, CANVAS_SIDE_STEP = 320, 4096, 16
CANVAS_DEFAULT_SIDE = 1024
CANVAS_MAX_IMAGES = 5


@dataclass(frozen=True, slots=True)
class CanvasDialect:
    """Where Titan Image Generator v2 and Nova Canvas differ in a TEXT_IMAGE request."""

    text_max: int
    seed_max: int
    # textToImageParams members the model accepts but the emulator does not model.
    not_emulated: frozenset[str]


_TITAN = CanvasDialect(
    text_max=512,
    seed_max=2_147_483_646,
    not_emulated=frozenset({"conditionImage", "controlMode", "controlStrength"}),
)
_NOVA = CanvasDialect(
    text_max=1024,
    seed_max=858_993_459,
    not_emulated=frozenset({"conditionImage", "controlMode", "controlStrength", "style"}),
)
# Keyed by catalog model id (a test checks every NOVA_TITAN_IMAGE entry has one).
CANVAS_DIALECTS: Mapping[str, CanvasDialect] = MappingProxyType(
    {"amazon.titan-image-generator-v2:0": _TITAN, "amazon.nova-canvas-v1:0": _NOVA}
)


def stability_image(spec: ModelSpec, body: Obj) -> Invoked:
    """Serve a Stability body: one image per call, or a filter finish reason."""
    body.allow(_STABILITY_KEYS)
    prompt = body.need_string("prompt", min_len=1, max_len=STABILITY_PROMPT_MAX)
    mode = body.choice("mode", ("text-to-image", "image-to-image")) or "text-to-image"
    aspect_ratio = body.choice("aspect_ratio", STABILITY_ASPECT_RATIOS) or "1:1"
    seed = body.integer("seed", low=0, high=STABILITY_SEED_MAX) or _seed_from(prompt)
    negative = body.string("negative_prompt", max_len=STABILITY_PROMPT_MAX)
    body.choice("output_format", ("png", "jpeg"))  # the emulator always answers PNG bytes
    _image_to_image(body, mode)
    tokens = count_tokens(prompt)
    if FILTER_TRIGGER in prompt:
        payload = {"seeds": [seed], "finish_reasons": ["Filter reason: prompt"], "images": []}
        return Invoked(payload, tokens, 0, IMAGE_LATENCY_MS)
    width, height = (
        int(side) * _STABILITY_PIXELS_PER_RATIO_UNIT for side in aspect_ratio.split(":")
    )
    image = solid_png_base64(colour_for(spec.model_id, prompt, negative, seed), width, height)
    payload = {"seeds": [seed], "finish_reasons": [None], "images": [image]}
    return Invoked(payload, tokens, 0, IMAGE_LATENCY_MS)


def _image_to_image(body: Obj, mode: str) -> None:
    """Check the members image-to-image needs, and refuse them in text-to-image mode."""
    if mode == "text-to-image":
        for key in ("image", "strength"):
            if key in body.data:
                raise validation(
                    f"'{key}' is only accepted when mode is image-to-image (mode is text-to-image)."
                )
        return
    body.require("image", "strength")
    body.number("strength", low=0, high=1)
    image = body.string("image", min_len=1) or ""
    try:
        binascii.a2b_base64(image, strict_mode=True)
    except binascii.Error:
        raise malformed(body.at("image"), "expected a base64-encoded image") from None


def canvas_image(spec: ModelSpec, body: Obj) -> Invoked:
    """Serve a Titan Image Generator v2 / Nova Canvas body (TEXT_IMAGE only)."""
    dialect = CANVAS_DIALECTS.get(spec.model_id)
    if dialect is None:
        raise validation(f"The local Bedrock emulator has no image dialect for {spec.model_id}.")
    task = body.need_choice("taskType", CANVAS_TASK_TYPES)
    if task != "TEXT_IMAGE":
        raise validation(
            f"taskType {task} is not emulated: the local Bedrock emulator serves TEXT_IMAGE only."
        )
    body.allow(("taskType", "textToImageParams", "imageGenerationConfig"))
    params = body.need_obj("textToImageParams")
    for key in params.data:
        if key in dialect.not_emulated:
            raise validation(
                f"textToImageParams.{key} is not emulated by the local Bedrock emulator."
            )
    params.allow(("text", "negativeText"))
    text = params.need_string("text", min_len=1, max_len=dialect.text_max)
    negative = params.string("negativeText", min_len=3, max_len=dialect.text_max)
    count, width, height, seed, extras = _generation_config(
        body.obj("imageGenerationConfig"), dialect
    )
    if FILTER_TRIGGER in text:
        raise validation(FILTER_MESSAGE)
    images = [
        solid_png_base64(
            colour_for(spec.model_id, text, negative, seed + index, *extras),
            width // CANVAS_SIDE_STEP,
            height // CANVAS_SIDE_STEP,
        )
        for index in range(count)
    ]
    return Invoked(
        {"images": images, "error": None}, count_tokens(text), 0, IMAGE_LATENCY_MS * count
    )


def _generation_config(
    config: Obj | None, dialect: CanvasDialect
) -> tuple[int, int, int, int, tuple[object, ...]]:
    """Return image count, width, height, seed and the other settings that shape the images."""
    if config is None:
        return 1, CANVAS_DEFAULT_SIDE, CANVAS_DEFAULT_SIDE, 0, ()
    config.allow(("numberOfImages", "width", "height", "quality", "cfgScale", "seed"))
    count = config.integer("numberOfImages", low=1, high=CANVAS_MAX_IMAGES) or 1
    sides = []
    for key in ("width", "height"):
        side = config.integer(key, low=CANVAS_SIDE_MIN, high=CANVAS_SIDE_MAX)
        if side is not None and side % CANVAS_SIDE_STEP:
            raise malformed(config.at(key), f"{side} is not a multiple of {CANVAS_SIDE_STEP}")
        sides.append(side or CANVAS_DEFAULT_SIDE)
    quality = config.choice("quality", ("standard", "premium"))
    cfg_scale = config.number("cfgScale", low=1.1, high=10)
    seed = config.integer("seed", low=0, high=dialect.seed_max) or 0
    return count, sides[0], sides[1], seed, (quality, cfg_scale)


def _seed_from(prompt: str) -> int:
    """Return the seed Stability reports when none (or 0, "random") was given: from the prompt."""
    digest = hashlib.sha256(prompt.encode()).digest()
    return int.from_bytes(digest[:4], "big") % STABILITY_SEED_MAX + 1
