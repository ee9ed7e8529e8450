"""POST /v1/images/generations: OpenAI image generation through each family's native body."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import TYPE_CHECKING

from . import bedrock
from .adapters import IMAGE_ADAPTERS
from .adapters.base import ImageRequest
from .catalog import ImageQuality, Modality, ModelSpec
from .errors import ApiError, invalid_field, object_with_model
from .exchange import Exchange
from .guardrails import guard_inputs
from .metering import Usage, format_cost
from .responses import JsonResponse
from .routing import Target, require_modality

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

MAX_IMAGES = 5
MAX_PROMPT_CHARS = 10_000
# Sizes are validated loosely here (every family accepts these bounds); the model says the rest.
MIN_SIDE, MAX_SIDE, SIDE_STEP = 256, 4096, 16


def parse_image_request(body: object) -> tuple[str, ImageRequest]:
    """Validate the body; return the model name and the request."""
    body, model = object_with_model(body)
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip() or len(prompt) > MAX_PROMPT_CHARS:
        raise invalid_field(
            "prompt", f"non-empty text of at most {MAX_PROMPT_CHARS} characters", prompt
        )
    count = 1 if body.get("n") is None else body["n"]
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_IMAGES:
        raise invalid_field("n", f"an integer from 1 to {MAX_IMAGES}", count)
    response_format = body.get("response_format", "b64_json")
    if response_format != "b64_json":
        raise invalid_field(
            "response_format",
            "'b64_json' (the gateway stores no images to link to)",
            response_format,
        )
    width, height = _parse_size(body.get("size", "1024x1024"))
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise invalid_field("seed", "a non-negative integer", seed)
    negative = body.get("negative_prompt")
    if negative is not None and not isinstance(negative, str):
        raise invalid_field("negative_prompt", "a string", negative)
    quality = body.get("quality", "standard")
    if quality not in ("standard", "hd", "auto", "high", "medium", "low"):
        raise invalid_field("quality", "'standard' or 'hd'", quality)
    return model, ImageRequest(
        prompt=prompt,
        negative_prompt=negative or None,
        count=count,
        width=width,
        height=height,
        seed=seed,
        quality=ImageQuality.PREMIUM if quality in ("hd", "high") else ImageQuality.STANDARD,
    )


def _parse_size(value: object) -> tuple[int, int]:
    if isinstance(value, str):
        width_text, _, height_text = value.partition("x")
        if width_text.isdigit() and height_text.isdigit():
            width, height = int(width_text), int(height_text)
            if all(
                MIN_SIDE <= side <= MAX_SIDE and side % SIDE_STEP == 0 for side in (width, height)
            ):
                return width, height
    raise invalid_field(
        "size", f"WIDTHxHEIGHT, each {MIN_SIDE}-{MAX_SIDE} and a multiple of {SIDE_STEP}", value
    )


def _invoke(
    client: BedrockRuntimeClient, model_id: str, payload: bytes, spec: ModelSpec
) -> bedrock.InvokeResult:
    try:
        return bedrock.invoke_model(client, model_id, payload)
    except ApiError as error:
        # Titan Image and Nova Canvas refuse a filtered prompt with a ValidationException.
        if error.code == "ValidationException" and "content filter" in error.message.lower():
            raise ApiError(
                400,
                f"The model '{spec.model_id}' refused the prompt: {error.message}",
                code="content_policy_violation",
                param="prompt",
            ) from error
        raise


def generate_images(exchange: Exchange) -> JsonResponse:
    """Generate `n` images, calling the model as many times as its family needs."""
    model, request = parse_image_request(exchange.body)
    targets = exchange.resolve(model)
    for target in targets:
        require_modality(target.spec, Modality.IMAGE, "image generations")
        adapter = IMAGE_ADAPTERS[target.spec.adapter]
        if request.seed is not None and request.seed + request.count - 1 > adapter.seed_max:
            raise invalid_field(
                "seed",
                f"at most {adapter.seed_max - request.count + 1} for '{target.spec.model_id}'",
                request.seed,
            )

    guardrail = exchange.guardrail(model, targets)
    if guardrail is not None:
        # Image models take no text guardrail inline: the prompt is checked (and masked) first.
        exchange.access.admit()
        negative = request.negative_prompt
        texts = guard_inputs(
            exchange, guardrail, [request.prompt, *([negative] if negative else [])]
        )
        request = dataclasses.replace(
            request, prompt=texts[0], negative_prompt=texts[1] if negative else None
        )

    def attempt(target: Target, client: BedrockRuntimeClient) -> list[str]:
        return _generate(exchange, target, client, request)

    images = exchange.call(targets, attempt)
    meter = exchange.meter
    assert meter.target is not None
    return JsonResponse(
        {
            "created": int(time.time()),
            "data": [{"b64_json": image, "revised_prompt": None} for image in images],
            "model": meter.target.spec.model_id,
            "usage": {"images": len(images), "cost_usd": format_cost(meter.cost)},
        },
        meter.headers(),
    )


def _generate(
    exchange: Exchange, target: Target, client: BedrockRuntimeClient, request: ImageRequest
) -> list[str]:
    """All `n` images with one model; each call's images are metered as they arrive."""
    spec = target.spec
    adapter = IMAGE_ADAPTERS[spec.adapter]
    per_image = spec.pricing.image_price(request.width, request.height, request.quality)
    images: list[str] = []
    while len(images) < request.count:
        if images:
            exchange.budget.require(spec.model_id)
        count = min(adapter.max_images_per_call, request.count - len(images))
        # Distinct seeds per call, so n images from one-image-per-call models differ.
        seed = None if request.seed is None else request.seed + len(images)
        payload = json.dumps(adapter.build(request, count, seed)).encode()
        result = adapter.parse(_invoke(client, target.invocation_id, payload, spec).json())
        exchange.meter.add(Usage(images=len(result.images)), per_image * len(result.images))
        if result.filtered_reason is not None:
            raise ApiError(
                400,
                f"The model '{spec.model_id}' refused the prompt or filtered its "
                f"image: {result.filtered_reason}",
                code="content_policy_violation",
                param="prompt",
            )
        if not result.images:
            raise ApiError(
                502, f"The model '{spec.model_id}' returned no image.", type_="model_error"
            )
        images.extend(result.images)
    return images
