"""POST /v1/models/{model}/invoke: a model's native body, passed through to InvokeModel.

For power users who need a family-specific field the OpenAI shape lacks. The allow-list still
applies, and usage is metered from Bedrock's token-count headers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import bedrock
from .errors import ApiError
from .metering import RequestRecord, Usage, format_cost
from .routing import Routing
from .service import Result

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient


def invoke_native(
    routing: Routing,
    client_factory: Callable[[], BedrockRuntimeClient],
    model: str,
    raw_body: bytes,
    record: RequestRecord,
) -> Result:
    """Forward `raw_body` to the model and return its answer unchanged, with usage headers."""
    if model in routing.aliases:
        raise ApiError(
            400,
            f"'{model}' is an alias; the native passthrough needs a model id, "
            "because every family has its own body format.",
            param="model",
            code="alias_not_allowed",
        )
    (target,) = routing.resolve(model)
    try:
        parsed = json.loads(raw_body) if raw_body else None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ApiError(
            400, f"The request body is not valid JSON: {error}.", code="invalid_json"
        ) from None
    if not isinstance(parsed, dict):
        raise ApiError(
            400,
            f"The body must be the JSON object '{target.spec.model_id}' expects "
            "(see its InvokeModel request format).",
            code="invalid_json",
        )
    record.model, record.invocation_id = target.spec.model_id, target.invocation_id
    result = bedrock.invoke_model(client_factory(), target.invocation_id, raw_body)
    usage = Usage(input_tokens=result.input_tokens or 0, output_tokens=result.output_tokens or 0)
    record.usage, record.cost_usd = usage, usage.token_cost(target)
    headers = {
        "x-gateway-model": target.spec.model_id,
        "x-gateway-invocation-id": target.invocation_id,
        "x-gateway-cost-usd": format_cost(record.cost_usd),
        "x-gateway-input-tokens": str(usage.input_tokens),
        "x-gateway-output-tokens": str(usage.output_tokens),
    }
    return Result({}, headers, raw=result.body, content_type=result.content_type)
