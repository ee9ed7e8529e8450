"""POST /v1/models/{model}/invoke: a model's native body, passed through to InvokeModel.

For power users who need a family-specific field the OpenAI shape lacks. The allow-list still
applies, and every modality is metered: tokens from Bedrock's token-count headers, images by
counting them in the answer (priced at the model's base image tier).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import bedrock
from .adapters import IMAGE_ADAPTERS
from .catalog import ImageQuality, Modality
from .errors import ApiError
from .exchange import Exchange
from .metering import Usage
from .request_body import decode_json
from .responses import RawResponse
from .routing import Target

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

# The size OpenAI image requests default to: the price tier of a native body we do not read.
_BASE_IMAGE_SIDE = 1024


def invoke_native(exchange: Exchange) -> RawResponse:
    """Forward the raw body to the model and return its answer unchanged, with usage headers."""
    model = exchange.params["model"]
    if model in exchange.routing.aliases:
        raise ApiError(
            400,
            f"'{model}' is an alias; the native passthrough needs a model id, "
            "because every family has its own body format.",
            param="model",
            code="alias_not_allowed",
        )
    targets = exchange.resolve(model)
    guardrail = exchange.guardrail(model, targets)
    if guardrail is not None:
        # The raw body is the family's own format: the gateway cannot see its text to guard.
        raise ApiError(
            403,
            f"Guardrail '{guardrail.name}' applies to your requests, and the native passthrough "
            "cannot be guarded: use /v1/chat/completions, /v1/embeddings or /v1/images.",
            type_="permission_error",
            code="guardrail_required",
            param="model",
        )
    raw = exchange.body if isinstance(exchange.body, bytes) else b""
    if not isinstance(decode_json(raw), dict):
        raise ApiError(
            400,
            f"The body must be the JSON object '{targets[0].spec.model_id}' expects "
            "(see its InvokeModel request format).",
            code="invalid_json",
        )

    def attempt(target: Target, client: BedrockRuntimeClient) -> bedrock.InvokeResult:
        result = bedrock.invoke_model(client, target.invocation_id, raw)
        _meter(exchange, target, result)
        return result

    result = exchange.call(targets, attempt)
    usage = exchange.meter.usage
    headers = {
        **exchange.meter.headers(),
        "x-gateway-input-tokens": str(usage.input_tokens),
        "x-gateway-output-tokens": str(usage.output_tokens),
    }
    if usage.images:
        headers["x-gateway-images"] = str(usage.images)
    return RawResponse(result.body, result.content_type, headers)


def _meter(exchange: Exchange, target: Target, result: bedrock.InvokeResult) -> None:
    spec = target.spec
    if spec.modality is not Modality.IMAGE:
        usage = Usage(result.input_tokens or 0, result.output_tokens or 0)
        exchange.meter.add_tokens(target, usage)
        return
    try:
        count = len(IMAGE_ADAPTERS[spec.adapter].parse(result.json()).images)
    except (ApiError, KeyError, TypeError, AttributeError):
        count = 0  # not an answer the adapter knows: passed through, nothing to count
    price = spec.pricing.image_price(_BASE_IMAGE_SIDE, _BASE_IMAGE_SIDE, ImageQuality.STANDARD)
    exchange.meter.add(Usage(images=count), price * count)
