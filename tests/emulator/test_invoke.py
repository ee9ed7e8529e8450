"""InvokeModel in the emulator, per model family, through a real boto3 bedrock-runtime client.

Each family: a valid round trip (shape, determinism, usage headers), each rejection Bedrock
would make (named in the test id), the content-filter trigger, profile ids and fault injection.
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lambdas.gateway.catalog import Adapter, Capability, LifecycleStatus, ModelSpec
from local.emulator import Emulator, start_emulator
from local.emulator.image_models import CANVAS_DIALECTS, FILTER_MESSAGE, FILTER_TRIGGER
from local.emulator.native_formats import NOT_EMULATED, NativeFormat, native_formats
from local.emulator.tokens import count_tokens
from model_catalog import all_models
from tests.emulator.dates import FORMATS_DAY

TITAN_EMBED = "amazon.titan-embed-text-v2:0"
COHERE_EN = "cohere.embed-english-v3"
COHERE_MULTI = "cohere.embed-multilingual-v3"
SD35 = "stability.sd3-5-large-v1:0"
TITAN_IMAGE = "amazon.titan-image-generator-v2:0"
CANVAS = "amazon.nova-canvas-v1:0"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
HAIKU_35 = "anthropic.claude-3-5-haiku-20241022-v1:0"  # no vision
SONNET_45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"  # profile only, temperature XOR top_p
LLAMA = "meta.llama3-8b-instruct-v1:0"
LLAMA_VISION = "meta.llama3-2-11b-instruct-v1:0"  # profile only
MISTRAL_7B = "mistral.mistral-7b-instruct-v0:2"
MISTRAL_LARGE = "mistral.mistral-large-2407-v1:0"
COMMAND_R = "cohere.command-r-v1:0"
NOVA_MICRO = "amazon.nova-micro-v1:0"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ONE_PIXEL = base64.b64encode(PNG_SIGNATURE + b"\x00" * 16).decode()
CLAUDE_HELLO = {
    "anthropic_version": "bedrock-2023-05-31",
    "max_tokens": 200,
    "messages": [{"role": "user", "content": "Hello there"}],
}
NOVA_HELLO = {"messages": [{"role": "user", "content": [{"text": "Hello there"}]}]}
CANVAS_FOX = {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a fox"}}
TOKEN_HEADERS = (
    "x-amzn-bedrock-input-token-count",
    "x-amzn-bedrock-output-token-count",
    "x-amzn-bedrock-invocation-latency",
)
FAULTS = [
    ("ThrottlingException", 429),
    ("ServiceUnavailableException", 503),
    ("ModelTimeoutException", 408),
    ("InternalServerException", 500),
    ("ModelNotReadyException", 429),
    ("ModelErrorException", 424),
    ("AccessDeniedException", 403),
    ("ResourceNotFoundException", 404),
    ("ServiceQuotaExceededException", 400),
]
SPECS = sorted(
    (
        spec
        for spec in all_models().values()
        if spec.lifecycle.status_on(FORMATS_DAY) is not LifecycleStatus.END_OF_LIFE
    ),
    key=lambda spec: spec.model_id,
)
NATIVE = [s for s in SPECS if s.adapter is not Adapter.CONVERSE or s.provider not in NOT_EMULATED]


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with start_emulator(today=FORMATS_DAY) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh(emulator: Emulator) -> None:
    emulator.clear()


@pytest.fixture(scope="module")
def client(emulator: Emulator) -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=emulator.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def invoke(client: Any, model_id: str, body: object) -> tuple[Any, dict[str, str]]:
    """Call InvokeModel; return the decoded JSON answer and the response headers."""
    response = client.invoke_model(modelId=model_id, body=json.dumps(body))
    assert response["contentType"] == "application/json"
    return json.loads(response["body"].read()), response["ResponseMetadata"]["HTTPHeaders"]


def error_of(client: Any, model_id: str, body: object) -> tuple[str, int, str]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(ClientError) as caught:
        client.invoke_model(modelId=model_id, body=raw)
    error = caught.value.response
    return (
        error["Error"]["Code"],
        error["ResponseMetadata"]["HTTPStatusCode"],
        error["Error"]["Message"],
    )


def rejected(client: Any, model_id: str, body: object) -> str:
    """Assert Bedrock's ValidationException for the call; return its message."""
    code, status, message = error_of(client, model_id, body)
    assert (code, status) == ("ValidationException", 400), message
    return message


def png_size(encoded: str) -> tuple[int, int]:
    """Decode a base64 PNG, check its structure and CRCs, return (width, height)."""
    data = base64.b64decode(encoded, validate=True)
    assert data.startswith(PNG_SIGNATURE)
    chunks: dict[bytes, bytes] = {}
    position = len(PNG_SIGNATURE)
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        payload = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + payload), kind
        chunks[kind] = payload
        position += 12 + length
    assert list(chunks) == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, colour_type = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour_type) == (8, 2)
    assert len(zlib.decompress(chunks[b"IDAT"])) == (1 + 3 * width) * height
    return width, height


def norm(vector: list[float]) -> float:
    return math.sqrt(math.fsum(value * value for value in vector))


def check_usage_headers(headers: dict[str, str], input_tokens: int, output_tokens: int) -> None:
    assert headers["content-type"] == "application/json"
    assert headers["x-amzn-bedrock-input-token-count"] == str(input_tokens)
    assert headers["x-amzn-bedrock-output-token-count"] == str(output_tokens)
    assert int(headers["x-amzn-bedrock-invocation-latency"]) > 0


def invocable_id(spec: ModelSpec) -> str:
    if spec.requires_profile:
        return spec.profile_id(sorted(spec.profile_geographies)[0])
    return spec.model_id


# --- Titan Text Embeddings V2 -----------------------------------------------------------------


@pytest.mark.parametrize("dimensions", [256, 512, 1024])
def test_titan_embedding_has_the_requested_length_unit_norm_and_metered_tokens(
    client: Any, dimensions: int
) -> None:
    body, headers = invoke(
        client, TITAN_EMBED, {"inputText": "hello world", "dimensions": dimensions}
    )
    assert set(body) == {"embedding", "inputTextTokenCount"}
    assert len(body["embedding"]) == dimensions
    assert all(isinstance(value, float) for value in body["embedding"])
    assert math.isclose(norm(body["embedding"]), 1.0, abs_tol=1e-5)
    assert body["inputTextTokenCount"] == 2
    check_usage_headers(headers, 2, 0)


def test_titan_embedding_defaults_to_1024_dimensions_and_is_deterministic(client: Any) -> None:
    first, _ = invoke(client, TITAN_EMBED, {"inputText": "same text"})
    second, _ = invoke(client, TITAN_EMBED, {"inputText": "same text", "normalize": True})
    other, _ = invoke(client, TITAN_EMBED, {"inputText": "other text"})
    assert len(first["embedding"]) == 1024
    assert first == second
    assert other["embedding"] != first["embedding"]


def test_titan_embedding_without_normalize_keeps_the_direction_but_not_unit_length(
    client: Any,
) -> None:
    unit, _ = invoke(client, TITAN_EMBED, {"inputText": "hi", "dimensions": 256})
    raw, _ = invoke(client, TITAN_EMBED, {"inputText": "hi", "dimensions": 256, "normalize": False})
    assert not math.isclose(norm(raw["embedding"]), 1.0, abs_tol=1e-2)
    scale = norm(raw["embedding"])
    assert all(
        math.isclose(a, b / scale, abs_tol=1e-5)
        for a, b in zip(unit["embedding"], raw["embedding"], strict=True)
    )


def test_titan_embedding_types_add_float_and_binary_vectors_by_type(client: Any) -> None:
    body, _ = invoke(
        client,
        TITAN_EMBED,
        {"inputText": "hi", "dimensions": 256, "embeddingTypes": ["float", "binary"]},
    )
    by_type = body["embeddingsByType"]
    assert by_type["float"] == body["embedding"]
    assert by_type["binary"] == [1 if value > 0 else 0 for value in body["embedding"]]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, "required key [inputText] not found"),
        ({"inputText": ""}, "#/inputText: expected minLength: 1"),
        ({"inputText": 7}, "#/inputText: expected type: String"),
        ({"inputText": "x", "dimensions": 300}, "#/dimensions: 300 is not a valid enum value"),
        ({"inputText": "x", "normalize": "yes"}, "#/normalize: expected type: Boolean"),
        ({"inputText": "x", "embeddingTypes": ["int8"]}, "#/embeddingTypes/0: int8"),
        ({"inputText": "x", "texts": ["x"]}, "extraneous key [texts] is not permitted"),
        ({"inputText": "word " * 8193}, "Too many input tokens. Max input tokens: 8192"),
    ],
    ids=[
        "missing-text",
        "empty-text",
        "text-not-string",
        "dimensions-300",
        "normalize-not-bool",
        "unknown-embedding-type",
        "unknown-key",
        "too-many-tokens",
    ],
)
def test_titan_embedding_rejects(client: Any, body: dict[str, Any], named: str) -> None:
    message = rejected(client, TITAN_EMBED, body)
    assert named in message
    if message.startswith("Malformed input request:"):
        assert message.endswith(", please reformat your input and try again.")


# --- Cohere Embed v3 --------------------------------------------------------------------------


@pytest.mark.parametrize("model_id", [COHERE_EN, COHERE_MULTI])
def test_cohere_embeds_each_text_in_1024_unit_dimensions_metered_in_headers_only(
    client: Any, model_id: str
) -> None:
    texts = ["alpha", "beta gamma", "alpha"]
    body, headers = invoke(client, model_id, {"texts": texts, "input_type": "search_document"})
    assert body["response_type"] == "embeddings_floats"
    assert body["texts"] == texts
    assert isinstance(body["id"], str) and body["id"]
    assert [len(vector) for vector in body["embeddings"]] == [1024] * 3
    assert all(math.isclose(norm(v), 1.0, abs_tol=1e-5) for v in body["embeddings"])
    assert body["embeddings"][0] == body["embeddings"][2] != body["embeddings"][1]
    assert "inputTextTokenCount" not in body and "meta" not in body
    check_usage_headers(headers, 4, 0)
    again, _ = invoke(client, model_id, {"texts": texts, "input_type": "search_query"})
    assert again["embeddings"] == body["embeddings"]


def test_cohere_embedding_types_answer_embeddings_by_type(client: Any) -> None:
    body, _ = invoke(
        client,
        COHERE_EN,
        {
            "texts": ["hi"],
            "input_type": "clustering",
            "embedding_types": ["float", "int8", "uint8", "binary", "ubinary"],
        },
    )
    assert body["response_type"] == "embeddings_by_type"
    by_type = body["embeddings"]
    assert len(by_type["float"][0]) == len(by_type["int8"][0]) == 1024
    assert all(-128 <= value <= 127 for value in by_type["int8"][0])
    assert [value - 128 for value in by_type["uint8"][0]] == by_type["int8"][0]
    assert len(by_type["binary"][0]) == len(by_type["ubinary"][0]) == 128
    assert all(0 <= value <= 255 for value in by_type["ubinary"][0])


def test_cohere_truncate_start_or_end_accepts_a_text_over_512_tokens(client: Any) -> None:
    long_text = "a " * 600  # 600 tokens in 1,200 characters
    for truncate in ("START", "END"):
        body, headers = invoke(
            client,
            COHERE_EN,
            {"texts": [long_text], "input_type": "classification", "truncate": truncate},
        )
        assert len(body["embeddings"]) == 1
        assert headers["x-amzn-bedrock-input-token-count"] == "512"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"input_type": "search_query"}, "required key [texts] not found"),
        ({"texts": [], "input_type": "search_query"}, "#/texts: expected minimum item count: 1"),
        (
            {"texts": ["x"] * 97, "input_type": "search_query"},
            "#/texts: expected maximum item count: 96",
        ),
        ({"texts": [""], "input_type": "search_query"}, "#/texts/0: expected minLength: 1"),
        ({"texts": [3], "input_type": "search_query"}, "#/texts/0: expected type: String"),
        ({"texts": ["x"]}, "required key [input_type] not found"),
        ({"texts": ["x"], "input_type": "query"}, "#/input_type: query is not a valid enum"),
        (
            {"texts": ["x"], "input_type": "search_query", "truncate": "MIDDLE"},
            "#/truncate: MIDDLE is not a valid enum value",
        ),
        (
            {"texts": ["a " * 600], "input_type": "search_query"},
            "set truncate to START or END",
        ),
        (
            {"texts": ["x"], "input_type": "search_query", "embedding_types": ["double"]},
            "#/embedding_types/0: double is not a valid enum value",
        ),
        ({"texts": ["x"], "input_type": "search_query", "dimensions": 256}, "[dimensions]"),
        ({"inputText": "x", "input_type": "search_query"}, "extraneous key [inputText]"),
    ],
    ids=[
        "missing-texts",
        "no-texts",
        "97-texts",
        "empty-text",
        "text-not-string",
        "missing-input-type",
        "unknown-input-type",
        "unknown-truncate",
        "too-long-without-truncation",
        "unknown-embedding-type",
        "dimensions-key",
        "titan-body",
    ],
)
def test_cohere_embedding_rejects(client: Any, body: dict[str, Any], named: str) -> None:
    assert named in rejected(client, COHERE_EN, body)


# --- Stability ---------------------------------------------------------------------------------

STABILITY = [spec.model_id for spec in SPECS if spec.adapter is Adapter.STABILITY_IMAGE]


@pytest.mark.parametrize("model_id", STABILITY)
def test_stability_answers_one_valid_png_with_its_seed(client: Any, model_id: str) -> None:
    request = {"prompt": "a lighthouse", "aspect_ratio": "16:9", "seed": 3}
    body, headers = invoke(client, model_id, request)
    assert set(body) == {"seeds", "finish_reasons", "images"}
    assert body["seeds"] == [3] and body["finish_reasons"] == [None]
    (image,) = body["images"]
    assert png_size(image) == (64, 36)  # the aspect ratio, 4 pixels per unit
    check_usage_headers(headers, count_tokens("a lighthouse"), 0)
    assert invoke(client, model_id, request)[0] == body


def test_stability_images_depend_on_prompt_and_seed(client: Any) -> None:
    def image(**extra: Any) -> str:
        return str(invoke(client, SD35, {"prompt": "a lighthouse", **extra})[0]["images"][0])

    assert image(seed=1) == image(seed=1) != image(seed=2)
    assert image(seed=1, negative_prompt="fog") != image(seed=1)


def test_stability_defaults_to_square_and_reports_the_seed_it_chose(client: Any) -> None:
    body, _ = invoke(client, SD35, {"prompt": "a lighthouse", "output_format": "jpeg"})
    (seed,) = body["seeds"]
    assert 1 <= seed <= 4_294_967_294
    assert png_size(body["images"][0]) == (4, 4)
    assert invoke(client, SD35, {"prompt": "a lighthouse", "seed": 0})[0]["seeds"] == [seed]


def test_stability_image_to_image_with_image_and_strength_is_accepted(client: Any) -> None:
    body, _ = invoke(
        client,
        SD35,
        {"prompt": "x", "mode": "image-to-image", "image": ONE_PIXEL, "strength": 0.5},
    )
    assert len(body["images"]) == 1


def test_stability_content_filter_trigger_answers_200_with_a_filter_reason_and_no_image(
    client: Any,
) -> None:
    body, headers = invoke(client, SD35, {"prompt": f"a {FILTER_TRIGGER} scene", "seed": 9})
    assert body == {"seeds": [9], "finish_reasons": ["Filter reason: prompt"], "images": []}
    assert headers["x-amzn-bedrock-output-token-count"] == "0"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"prompt": "x", "width": 512}, "extraneous key [width] is not permitted"),
        ({"prompt": "x", "height": 512}, "extraneous key [height] is not permitted"),
        ({"prompt": "x", "cfg_scale": 7}, "extraneous key [cfg_scale] is not permitted"),
        ({"prompt": "x", "samples": 2}, "extraneous key [samples] is not permitted"),
        ({}, "required key [prompt] not found"),
        ({"prompt": ""}, "#/prompt: expected minLength: 1"),
        ({"prompt": "x" * 10_001}, "#/prompt: expected maxLength: 10000"),
        ({"prompt": "x", "aspect_ratio": "4:3"}, "#/aspect_ratio: 4:3 is not a valid enum"),
        ({"prompt": "x", "seed": -1}, "#/seed: -1 is not greater or equal to 0"),
        ({"prompt": "x", "seed": 4_294_967_295}, "#/seed: 4294967295 is not less or equal"),
        ({"prompt": "x", "seed": 1.5}, "#/seed: expected type: Integer"),
        ({"prompt": "x", "output_format": "gif"}, "#/output_format: gif is not a valid enum"),
        ({"prompt": "x", "negative_prompt": "x" * 10_001}, "#/negative_prompt: expected max"),
        ({"prompt": "x", "mode": "inpaint"}, "#/mode: inpaint is not a valid enum value"),
        (
            {"prompt": "x", "mode": "image-to-image", "strength": 0.5},
            "required key [image] not found",
        ),
        (
            {"prompt": "x", "mode": "image-to-image", "image": ONE_PIXEL},
            "required key [strength] not found",
        ),
        (
            {"prompt": "x", "mode": "image-to-image", "image": ONE_PIXEL, "strength": 2},
            "#/strength: 2 is not less or equal to 1",
        ),
        (
            {"prompt": "x", "mode": "image-to-image", "image": "not base64!", "strength": 1},
            "#/image: expected a base64-encoded image",
        ),
        ({"prompt": "x", "image": ONE_PIXEL}, "'image' is only accepted when mode is image-to"),
    ],
    ids=[
        "width",
        "height",
        "cfg-scale",
        "samples",
        "missing-prompt",
        "empty-prompt",
        "prompt-too-long",
        "aspect-4-3",
        "seed-negative",
        "seed-too-big",
        "seed-not-integer",
        "output-format-gif",
        "negative-prompt-too-long",
        "unknown-mode",
        "image-to-image-without-image",
        "image-to-image-without-strength",
        "strength-over-one",
        "image-not-base64",
        "image-in-text-to-image-mode",
    ],
)
def test_stability_rejects(client: Any, body: dict[str, Any], named: str) -> None:
    assert named in rejected(client, SD35, body)


# --- Titan Image Generator v2 and Nova Canvas --------------------------------------------------

CANVAS_MODELS = [spec.model_id for spec in SPECS if spec.adapter is Adapter.NOVA_TITAN_IMAGE]


def canvas_body(text: str = "a fox", **config: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": text}}
    if config:
        body["imageGenerationConfig"] = config
    return body


def test_every_titan_nova_image_model_has_an_image_dialect() -> None:
    assert set(CANVAS_MODELS) == set(CANVAS_DIALECTS)


@pytest.mark.parametrize("model_id", CANVAS_MODELS)
@pytest.mark.parametrize("count", [1, 3, 5])
def test_canvas_answers_n_distinct_valid_pngs_of_the_requested_shape(
    client: Any, model_id: str, count: int
) -> None:
    request = canvas_body(
        numberOfImages=count,
        width=1024,
        height=512,
        quality="premium",
        cfgScale=7.5,
        seed=11,
    )
    body, headers = invoke(client, model_id, request)
    assert body["error"] is None and set(body) == {"images", "error"}
    assert len(body["images"]) == count == len(set(body["images"]))
    assert {png_size(image) for image in body["images"]} == {(64, 32)}
    check_usage_headers(headers, 2, 0)
    assert invoke(client, model_id, request)[0] == body


@pytest.mark.parametrize("model_id", CANVAS_MODELS)
def test_canvas_defaults_to_one_1024_square_image(client: Any, model_id: str) -> None:
    body, _ = invoke(client, model_id, canvas_body())
    (image,) = body["images"]
    assert png_size(image) == (64, 64)


@pytest.mark.parametrize("model_id", CANVAS_MODELS)
def test_canvas_content_filter_trigger_is_a_validation_exception(
    client: Any, model_id: str
) -> None:
    assert rejected(client, model_id, canvas_body(f"a {FILTER_TRIGGER} fox")) == FILTER_MESSAGE
    assert FILTER_MESSAGE == "This request has been blocked by our content filters."


def test_canvas_text_limit_is_512_for_titan_and_1024_for_nova(client: Any) -> None:
    assert len(invoke(client, CANVAS, canvas_body("x" * 1024))[0]["images"]) == 1
    assert "expected maxLength: 1024" in rejected(client, CANVAS, canvas_body("x" * 1025))
    assert len(invoke(client, TITAN_IMAGE, canvas_body("x" * 512))[0]["images"]) == 1
    assert "expected maxLength: 512" in rejected(client, TITAN_IMAGE, canvas_body("x" * 513))


def test_canvas_seed_limit_is_2147483646_for_titan_and_858993459_for_nova(client: Any) -> None:
    invoke(client, TITAN_IMAGE, canvas_body(seed=2_147_483_646))
    invoke(client, CANVAS, canvas_body(seed=858_993_459))
    assert "not less or equal to 2147483646" in rejected(
        client, TITAN_IMAGE, canvas_body(seed=2_147_483_647)
    )
    assert "not less or equal to 858993459" in rejected(
        client, CANVAS, canvas_body(seed=858_993_460)
    )


@pytest.mark.parametrize("model_id", CANVAS_MODELS)
@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"textToImageParams": {"text": "x"}}, "required key [taskType] not found"),
        ({**CANVAS_FOX, "taskType": "SKETCH"}, "#/taskType: SKETCH is not a valid enum value"),
        ({**CANVAS_FOX, "taskType": "INPAINTING"}, "taskType INPAINTING is not emulated"),
        ({"taskType": "TEXT_IMAGE"}, "required key [textToImageParams] not found"),
        ({"taskType": "TEXT_IMAGE", "textToImageParams": {}}, "required key [text] not found"),
        (canvas_body(""), "#/textToImageParams/text: expected minLength: 1"),
        (
            {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "x", "negativeText": "ab"}},
            "#/textToImageParams/negativeText: expected minLength: 3",
        ),
        (
            {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "x", "conditionImage": "a"}},
            "textToImageParams.conditionImage is not emulated",
        ),
        ({**CANVAS_FOX, "prompt": "x"}, "extraneous key [prompt] is not permitted"),
        (canvas_body(numberOfImages=0), "numberOfImages: 0 is not greater or equal to 1"),
        (canvas_body(numberOfImages=6), "numberOfImages: 6 is not less or equal to 5"),
        (canvas_body(width=1000), "#/imageGenerationConfig/width: 1000 is not a multiple of 16"),
        (canvas_body(height=304), "height: 304 is not greater or equal to 320"),
        (canvas_body(width=4112), "width: 4112 is not less or equal to 4096"),
        (canvas_body(quality="ultra"), "#/imageGenerationConfig/quality: ultra is not a valid"),
        (canvas_body(cfgScale=1.0), "cfgScale: 1.0 is not greater or equal to 1.1"),
        (canvas_body(cfgScale=10.5), "cfgScale: 10.5 is not less or equal to 10"),
        (canvas_body(seed=-1), "seed: -1 is not greater or equal to 0"),
        (canvas_body(steps=50), "extraneous key [steps] is not permitted"),
    ],
    ids=[
        "missing-task-type",
        "unknown-task-type",
        "inpainting-not-emulated",
        "missing-params",
        "missing-text",
        "empty-text",
        "negative-text-too-short",
        "condition-image-not-emulated",
        "unknown-key",
        "zero-images",
        "six-images",
        "width-not-multiple-of-16",
        "height-too-small",
        "width-too-big",
        "unknown-quality",
        "cfg-scale-too-low",
        "cfg-scale-too-high",
        "negative-seed",
        "unknown-config-key",
    ],
)
def test_canvas_rejects(client: Any, model_id: str, body: dict[str, Any], named: str) -> None:
    assert named in rejected(client, model_id, body)


# --- Anthropic Claude (Messages) ---------------------------------------------------------------


def claude(**changes: Any) -> dict[str, Any]:
    body = {**CLAUDE_HELLO, **changes}
    return {key: value for key, value in body.items() if value is not None}


def test_claude_answers_in_the_messages_shape_metered_in_body_and_headers(client: Any) -> None:
    body, headers = invoke(client, HAIKU, CLAUDE_HELLO)
    assert body["id"].startswith("msg_bdrk_")
    assert (body["type"], body["role"], body["model"]) == ("message", "assistant", HAIKU)
    (block,) = body["content"]
    assert block["type"] == "text"
    assert block["text"].startswith("[emulated Claude 3 Haiku]") and "Hello there" in block["text"]
    assert (body["stop_reason"], body["stop_sequence"]) == ("end_turn", None)
    usage = body["usage"]
    assert usage["input_tokens"] >= 1 and usage["output_tokens"] >= 1
    check_usage_headers(headers, usage["input_tokens"], usage["output_tokens"])
    assert invoke(client, HAIKU, CLAUDE_HELLO)[0] == body


def test_claude_quotes_the_last_user_turn_and_counts_the_system_prompt(client: Any) -> None:
    messages = [
        {"role": "user", "content": "First question"},
        {"role": "assistant", "content": [{"type": "text", "text": "First answer"}]},
        {"role": "user", "content": [{"type": "text", "text": "Second question"}]},
    ]
    plain, _ = invoke(client, HAIKU, claude(messages=messages))
    with_system, _ = invoke(
        client, HAIKU, claude(messages=messages, system=[{"type": "text", "text": "Be brief."}])
    )
    assert "Second question" in plain["content"][0]["text"]
    assert "First question" not in plain["content"][0]["text"]
    assert with_system["usage"]["input_tokens"] > plain["usage"]["input_tokens"]


def test_claude_max_tokens_cuts_the_answer_with_stop_reason_max_tokens(client: Any) -> None:
    body, headers = invoke(client, HAIKU, claude(max_tokens=3))
    assert body["stop_reason"] == "max_tokens"
    assert body["usage"]["output_tokens"] == 3
    assert headers["x-amzn-bedrock-output-token-count"] == "3"


def test_claude_stop_sequence_ends_the_answer_and_is_reported(client: Any) -> None:
    body, _ = invoke(client, HAIKU, claude(stop_sequences=["never", "You said"]))
    assert (body["stop_reason"], body["stop_sequence"]) == ("stop_sequence", "You said")
    assert "You said" not in body["content"][0]["text"]


def test_claude_image_block_is_accepted_by_a_vision_model_and_counted(client: Any) -> None:
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": ONE_PIXEL},
    }
    content = [image, {"type": "text", "text": "What is it?"}]
    body, _ = invoke(client, HAIKU, claude(messages=[{"role": "user", "content": content}]))
    assert body["usage"]["input_tokens"] > 1000


def test_claude_tools_with_tool_choice_any_answer_a_tool_use_block(client: Any) -> None:
    tool = {
        "name": "get_weather",
        "description": "Weather for a city",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
    body, _ = invoke(client, HAIKU, claude(tools=[tool], tool_choice={"type": "any"}))
    (block,) = body["content"]
    assert block["type"] == "tool_use" and block["id"].startswith("toolu_bdrk_")
    assert (block["name"], block["input"]) == ("get_weather", {"city": "emulated"})
    assert body["stop_reason"] == "tool_use"
    follow_up = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": [block]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": block["id"], "content": "sunny"}],
        },
    ]
    answer, _ = invoke(client, HAIKU, claude(tools=[tool], messages=follow_up))
    assert answer["stop_reason"] == "end_turn" and "sunny" in answer["content"][0]["text"]


USER_TWICE = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
TOOL_USE_TURN = [
    {"role": "user", "content": "x"},
    {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
]


@pytest.mark.parametrize(
    ("model_id", "body", "named"),
    [
        (HAIKU, claude(anthropic_version=None), "required key [anthropic_version] not found"),
        (HAIKU, claude(anthropic_version="2023-06-01"), "#/anthropic_version: 2023-06-01 is not"),
        (HAIKU, claude(max_tokens=None), "required key [max_tokens] not found"),
        (HAIKU, claude(max_tokens=0), "#/max_tokens: 0 is not greater or equal to 1"),
        (HAIKU, claude(max_tokens=4097), "max_tokens: 4097 > 4096, which is the maximum allowed"),
        (HAIKU, claude(max_tokens="10"), "#/max_tokens: expected type: Integer"),
        (HAIKU, claude(messages=None), "required key [messages] not found"),
        (HAIKU, claude(messages=[]), "#/messages: expected minimum item count: 1"),
        (
            HAIKU,
            claude(messages=[{"role": "assistant", "content": "x"}]),
            'first message must use the "user" role',
        ),
        (HAIKU, claude(messages=USER_TWICE), 'found multiple "user" roles in a row'),
        (
            HAIKU,
            claude(messages=[{"role": "system", "content": "x"}]),
            "#/messages/0/role: system is not a valid enum value",
        ),
        (
            HAIKU,
            claude(messages=[{"role": "user", "content": [{"type": "text", "text": ""}]}]),
            "#/messages/0/content/0/text: expected minLength: 1",
        ),
        (
            HAIKU,
            claude(messages=[{"role": "user", "content": [{"type": "video"}]}]),
            "#/messages/0/content/0/type: video is not a valid enum value",
        ),
        (HAIKU, claude(model=HAIKU), "extraneous key [model] is not permitted"),
        (HAIKU, claude(stream=True), "extraneous key [stream] is not permitted"),
        (HAIKU, claude(temperature=1.5), "#/temperature: 1.5 is not less or equal to 1"),
        (HAIKU, claude(messages=TOOL_USE_TURN), "`tool_use` or `tool_result` blocks must define"),
        (HAIKU, claude(tool_choice={"type": "any"}), "tool_choice may only be specified while"),
        (
            HAIKU_35,
            claude(
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/png",
                                    "data": ONE_PIXEL,
                                },
                            }
                        ],
                    }
                ]
            ),
            "doesn't support image content blocks",
        ),
        (
            f"us.{SONNET_45}",
            claude(temperature=0.5, top_p=0.9),
            "temperature and top_p cannot both be specified for this model.",
        ),
        (f"us.{SONNET_45}", claude(thinking={"type": "enabled"}), "'thinking' is not emulated"),
    ],
    ids=[
        "missing-version",
        "wrong-version",
        "missing-max-tokens",
        "zero-max-tokens",
        "max-tokens-over-model-limit",
        "max-tokens-not-integer",
        "missing-messages",
        "no-messages",
        "first-not-user",
        "same-role-twice",
        "system-role",
        "empty-text-block",
        "unknown-block-type",
        "model-key",
        "stream-key",
        "hot-temperature",
        "tool-blocks-without-tools",
        "tool-choice-without-tools",
        "image-on-model-without-vision",
        "temperature-and-top-p-on-claude-4-5",
        "thinking-not-emulated",
    ],
)
def test_claude_rejects(client: Any, model_id: str, body: dict[str, Any], named: str) -> None:
    assert named in rejected(client, model_id, body)


# --- Meta Llama -------------------------------------------------------------------------------

LLAMA_PROMPT = (
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
    "<|start_header_id|>user<|end_header_id|>\n\nName a planet.<|eot_id|>"
    "<|start_header_id|>assistant<|end_header_id|>\n\n"
)


def test_llama_answers_generation_quoting_the_user_turn_of_the_template(client: Any) -> None:
    body, headers = invoke(client, LLAMA, {"prompt": LLAMA_PROMPT, "temperature": 0.5})
    assert set(body) == {
        "generation",
        "prompt_token_count",
        "generation_token_count",
        "stop_reason",
    }
    assert body["generation"].startswith("[emulated Llama 3 8B Instruct]")
    assert '"Name a planet."' in body["generation"] and "Be brief" not in body["generation"]
    assert body["stop_reason"] == "stop"
    check_usage_headers(headers, body["prompt_token_count"], body["generation_token_count"])


def test_llama_max_gen_len_cuts_with_stop_reason_length(client: Any) -> None:
    body, _ = invoke(client, LLAMA, {"prompt": "Hi", "max_gen_len": 2})
    assert (body["stop_reason"], body["generation_token_count"]) == ("length", 2)


def test_llama_vision_model_accepts_base64_images_through_its_profile(client: Any) -> None:
    plain, _ = invoke(client, f"us.{LLAMA_VISION}", {"prompt": "Hi"})
    seen, _ = invoke(client, f"us.{LLAMA_VISION}", {"prompt": "Hi", "images": [ONE_PIXEL]})
    assert seen["prompt_token_count"] > plain["prompt_token_count"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"max_gen_len": 10}, "required key [prompt] not found"),
        ({"prompt": ""}, "#/prompt: expected minLength: 1"),
        ({"prompt": "x", "max_gen_len": 2049}, "#/max_gen_len: 2049 is not less or equal to 2048"),
        ({"prompt": "x", "temperature": 2}, "#/temperature: 2 is not less or equal to 1"),
        ({"prompt": "x", "max_tokens": 5}, "extraneous key [max_tokens] is not permitted"),
        ({"prompt": "x", "images": [ONE_PIXEL]}, "extraneous key [images] is not permitted"),
    ],
    ids=[
        "missing-prompt",
        "empty-prompt",
        "max-gen-len-over-limit",
        "hot-temperature",
        "max-tokens-key",
        "images-on-text-only-model",
    ],
)
def test_llama_rejects(client: Any, body: dict[str, Any], named: str) -> None:
    assert named in rejected(client, LLAMA, body)


# --- Mistral ------------------------------------------------------------------------------------


def test_mistral_answers_outputs_quoting_the_last_instruction(client: Any) -> None:
    prompt = "<s>[INST] First [/INST] Answer</s>[INST] Second question [/INST]"
    body, headers = invoke(client, MISTRAL_7B, {"prompt": prompt, "top_k": 50})
    (output,) = body["outputs"]
    assert output["text"].startswith("[emulated Mistral 7B Instruct]")
    assert '"Second question"' in output["text"] and output["stop_reason"] == "stop"
    assert int(headers["x-amzn-bedrock-output-token-count"]) > 0


def test_mistral_max_tokens_and_stop_end_the_text(client: Any) -> None:
    cut, _ = invoke(client, MISTRAL_7B, {"prompt": "Hi", "max_tokens": 2})
    stopped, _ = invoke(client, MISTRAL_7B, {"prompt": "Hi", "stop": ["You said"]})
    assert cut["outputs"][0]["stop_reason"] == "length"
    assert stopped["outputs"][0]["stop_reason"] == "stop"
    assert "You said" not in stopped["outputs"][0]["text"]


def test_mistral_large_answers_a_chat_body_with_choices_and_a_prompt_body_with_outputs(
    client: Any,
) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Name a planet."},
    ]
    chat, headers = invoke(client, MISTRAL_LARGE, {"messages": messages, "max_tokens": 100})
    (choice,) = chat["choices"]
    assert (choice["index"], choice["stop_reason"]) == (0, "stop")
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"].startswith("[emulated Mistral Large 2 (24.07)]")
    assert "Name a planet." in choice["message"]["content"]
    assert int(headers["x-amzn-bedrock-input-token-count"]) > 0
    prompt, _ = invoke(client, MISTRAL_LARGE, {"prompt": "<s>[INST] Hi [/INST]"})
    assert prompt["outputs"][0]["text"].startswith("[emulated Mistral Large 2 (24.07)]")


@pytest.mark.parametrize(
    ("model_id", "body", "named"),
    [
        (MISTRAL_7B, {}, "required key [prompt] not found"),
        (MISTRAL_7B, {"prompt": "x", "max_tokens": 8193}, "#/max_tokens: 8193 is not less or"),
        (MISTRAL_7B, {"prompt": "x", "top_k": 0}, "#/top_k: 0 is not greater or equal to 1"),
        (MISTRAL_7B, {"prompt": "x", "stop": ["a"] * 11}, "#/stop: expected maximum item count"),
        (
            MISTRAL_7B,
            {"messages": [{"role": "user", "content": "x"}]},
            "extraneous key [messages] is not permitted",
        ),
        (
            MISTRAL_LARGE,
            {"messages": [{"role": "robot", "content": "x"}]},
            "#/messages/0/role: robot is not a valid enum value",
        ),
        (MISTRAL_LARGE, {"messages": []}, "#/messages: expected minimum item count: 1"),
        (
            MISTRAL_LARGE,
            {"messages": [{"role": "user", "content": "x"}], "top_k": 5},
            "extraneous key [top_k] is not permitted",
        ),
    ],
    ids=[
        "missing-prompt",
        "max-tokens-over-limit",
        "top-k-zero",
        "eleven-stops",
        "chat-body-on-a-text-only-model",
        "unknown-chat-role",
        "no-chat-messages",
        "top-k-in-chat",
    ],
)
def test_mistral_rejects(client: Any, model_id: str, body: dict[str, Any], named: str) -> None:
    assert named in rejected(client, model_id, body)


# --- Cohere Command R ---------------------------------------------------------------------------


def test_command_r_answers_text_and_the_extended_chat_history(client: Any) -> None:
    history = [
        {"role": "USER", "message": "Earlier"},
        {"role": "CHATBOT", "message": "Reply"},
    ]
    request = {"message": "Name a planet.", "chat_history": history, "preamble": "Be brief."}
    body, headers = invoke(client, COMMAND_R, request)
    assert body["text"].startswith("[emulated Command R]") and "Name a planet." in body["text"]
    assert body["finish_reason"] == "COMPLETE"
    assert body["response_id"] and body["generation_id"]
    assert body["chat_history"] == [
        *history,
        {"role": "USER", "message": "Name a planet."},
        {"role": "CHATBOT", "message": body["text"]},
    ]
    billed = body["meta"]["billed_units"]
    check_usage_headers(headers, billed["input_tokens"], billed["output_tokens"])
    assert invoke(client, COMMAND_R, request)[0] == body


def test_command_r_max_tokens_and_stop_sequences_set_the_finish_reason(client: Any) -> None:
    cut, _ = invoke(client, COMMAND_R, {"message": "Hi", "max_tokens": 2})
    stopped, _ = invoke(client, COMMAND_R, {"message": "Hi", "stop_sequences": ["You said"]})
    assert cut["finish_reason"] == "MAX_TOKENS"
    assert stopped["finish_reason"] == "STOP_SEQUENCE"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"chat_history": []}, "required key [message] not found"),
        ({"message": ""}, "#/message: expected minLength: 1"),
        (
            {"message": "x", "chat_history": [{"role": "HUMAN", "message": "y"}]},
            "#/chat_history/0/role: HUMAN is not a valid enum value",
        ),
        ({"message": "x", "max_tokens": 4001}, "#/max_tokens: 4001 is not less or equal to 4000"),
        ({"message": "x", "p": 1}, "#/p: 1 is not less or equal to 0.99"),
        ({"message": "x", "prompt": "y"}, "extraneous key [prompt] is not permitted"),
    ],
    ids=[
        "missing-message",
        "empty-message",
        "unknown-history-role",
        "max-tokens-over-limit",
        "p-of-one",
        "prompt-key",
    ],
)
def test_command_r_rejects(client: Any, body: dict[str, Any], named: str) -> None:
    assert named in rejected(client, COMMAND_R, body)


# --- Amazon Nova --------------------------------------------------------------------------------


@pytest.mark.parametrize("model_id", [NOVA_MICRO, f"us.{NOVA_MICRO}", f"eu.{NOVA_MICRO}"])
def test_nova_answers_the_converse_like_shape_under_base_and_profile_ids(
    client: Any, model_id: str
) -> None:
    request = {
        "schemaVersion": "messages-v1",
        "system": [{"text": "Be brief."}],
        **NOVA_HELLO,
        "inferenceConfig": {"maxTokens": 300, "temperature": 0.2, "topP": 0.9, "topK": 20},
    }
    body, headers = invoke(client, model_id, request)
    assert set(body) == {"output", "stopReason", "usage"}
    message = body["output"]["message"]
    assert message["role"] == "assistant"
    assert message["content"][0]["text"].startswith("[emulated Nova Micro]")
    assert body["stopReason"] == "end_turn"
    usage = body["usage"]
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    check_usage_headers(headers, usage["inputTokens"], usage["outputTokens"])


def test_nova_max_tokens_cuts_the_answer(client: Any) -> None:
    body, _ = invoke(client, NOVA_MICRO, {**NOVA_HELLO, "inferenceConfig": {"maxTokens": 2}})
    assert (body["stopReason"], body["usage"]["outputTokens"]) == ("max_tokens", 2)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"schemaVersion": "messages-v1"}, "Value null at 'messages'"),
        ({**NOVA_HELLO, "schemaVersion": "v2"}, "#/schemaVersion: v2 is not a valid enum value"),
        (
            {**NOVA_HELLO, "inferenceConfig": {"maxTokens": 5001}},
            "exceeds the model limit of 5000",
        ),
        ({**NOVA_HELLO, "max_tokens": 10}, "extraneous key [max_tokens] is not permitted"),
        (
            {"messages": [{"role": "assistant", "content": [{"text": "x"}]}]},
            "A conversation must start with a user message.",
        ),
    ],
    ids=[
        "missing-messages",
        "unknown-schema-version",
        "max-tokens-over-limit",
        "anthropic-key",
        "first-not-user",
    ],
)
def test_nova_rejects(client: Any, body: dict[str, Any], named: str) -> None:
    assert named in rejected(client, NOVA_MICRO, body)


# --- every catalog entry has an InvokeModel path ------------------------------------------------

_MINIMAL_BY_ADAPTER: dict[Adapter, dict[str, Any]] = {
    Adapter.TITAN_EMBED: {"inputText": "Hello there"},
    Adapter.COHERE_EMBED: {"texts": ["Hello there"], "input_type": "search_document"},
    Adapter.STABILITY_IMAGE: {"prompt": "Hello there"},
    Adapter.NOVA_TITAN_IMAGE: canvas_body("Hello there"),
}
_MINIMAL_BY_FORMAT: dict[NativeFormat, dict[str, Any]] = {
    NativeFormat.ANTHROPIC_MESSAGES: CLAUDE_HELLO,
    NativeFormat.LLAMA_PROMPT: {"prompt": "Hello there"},
    NativeFormat.MISTRAL_PROMPT: {"prompt": "<s>[INST] Hello there [/INST]"},
    NativeFormat.MISTRAL_PROMPT_OR_CHAT: {"messages": [{"role": "user", "content": "Hello there"}]},
    NativeFormat.COHERE_CHAT: {"message": "Hello there"},
    NativeFormat.NOVA_MESSAGES: NOVA_HELLO,
}


def answer_text(native: NativeFormat, body: dict[str, Any]) -> str:
    """The generated text of a native text answer."""
    texts = {
        NativeFormat.ANTHROPIC_MESSAGES: lambda: body["content"][0]["text"],
        NativeFormat.LLAMA_PROMPT: lambda: body["generation"],
        NativeFormat.MISTRAL_PROMPT: lambda: body["outputs"][0]["text"],
        NativeFormat.MISTRAL_PROMPT_OR_CHAT: lambda: body["choices"][0]["message"]["content"],
        NativeFormat.COHERE_CHAT: lambda: body["text"],
        NativeFormat.NOVA_MESSAGES: lambda: body["output"]["message"]["content"][0]["text"],
    }
    return str(texts[native]())


@pytest.mark.parametrize(
    "spec", [s for s in NATIVE if s.adapter is Adapter.CONVERSE], ids=lambda s: s.model_id
)
def test_every_text_catalog_entry_has_a_native_format(spec: ModelSpec) -> None:
    assert spec.model_id in native_formats()


def test_the_native_format_table_follows_the_catalog_not_the_id_spelling() -> None:
    formats = native_formats()
    assert formats["amazon.nova-2-lite-v1:0"] is NativeFormat.NOVA_MESSAGES
    assert formats["mistral.mixtral-8x7b-instruct-v0:1"] is NativeFormat.MISTRAL_PROMPT
    assert formats["mistral.mistral-large-2402-v1:0"] is NativeFormat.MISTRAL_PROMPT_OR_CHAT
    assert set(formats) >= {s.model_id for s in NATIVE if s.adapter is Adapter.CONVERSE}


@pytest.mark.parametrize("spec", [s for s in SPECS if s not in NATIVE], ids=lambda s: s.model_id)
def test_native_bodies_not_emulated_yet_are_refused_plainly(client: Any, spec: ModelSpec) -> None:
    code, status, message = error_of(client, invocable_id(spec), {"prompt": "Hi"})
    assert (code, status) == ("UnknownOperationException", 404)
    assert "not emulated yet" in message and "Converse" in message


@pytest.mark.parametrize("spec", NATIVE, ids=lambda s: s.model_id)
def test_every_catalog_entry_answers_a_minimal_native_body(client: Any, spec: ModelSpec) -> None:
    native = native_formats().get(spec.model_id)
    request = _MINIMAL_BY_FORMAT[native] if native else _MINIMAL_BY_ADAPTER[spec.adapter]
    body, headers = invoke(client, invocable_id(spec), request)
    for name in TOKEN_HEADERS:
        assert int(headers[name]) >= 0
    assert int(headers["x-amzn-bedrock-input-token-count"]) >= 1
    if native is not None:
        text = answer_text(native, body)
        assert text.startswith(f"[emulated {spec.name}]") and "Hello there" in text
        assert int(headers["x-amzn-bedrock-output-token-count"]) >= 1
    else:
        assert headers["x-amzn-bedrock-output-token-count"] == "0"


# --- model ids, body encoding -----------------------------------------------------------------


def test_unknown_model_identifier_is_rejected_as_invalid(client: Any) -> None:
    assert error_of(client, "openai.gpt-4o", {"prompt": "x"}) == (
        "ValidationException",
        400,
        "The provided model identifier is invalid.",
    )


@pytest.mark.parametrize(
    ("model_id", "body"),
    [
        ("anthropic.claude-3-7-sonnet-20250219-v1:0", CLAUDE_HELLO),
        (LLAMA_VISION, {"prompt": "Hi"}),
    ],
    ids=["claude-3-7", "llama-3-2"],
)
def test_base_id_of_a_profile_only_model_is_rejected_as_on_demand(
    client: Any, model_id: str, body: dict[str, Any]
) -> None:
    assert rejected(client, model_id, body).startswith(
        f"Invocation of model ID {model_id} with on-demand throughput isn't supported."
    )
    assert invoke(client, f"us.{model_id}", body)[0]


def test_a_body_that_is_not_json_is_a_serialization_exception(client: Any) -> None:
    code, status, _ = error_of(client, TITAN_EMBED, b"{not json")
    assert (code, status) == ("SerializationException", 400)


def test_a_json_body_that_is_not_an_object_is_rejected(client: Any) -> None:
    assert "#: expected type: JSONObject, found: JSONArray" in rejected(client, TITAN_EMBED, [1])


def test_the_raw_wire_answer_carries_json_and_the_metering_headers(emulator: Emulator) -> None:
    host, port = emulator.url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        body = json.dumps({"inputText": "hi"}).encode()
        connection.request(
            "POST", f"/model/{TITAN_EMBED}/invoke", body, {"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        assert response.status == 200
        assert json.loads(response.read())["inputTextTokenCount"] == 1
    finally:
        connection.close()
    assert headers["content-type"] == "application/json"
    assert all(name in headers for name in TOKEN_HEADERS)


# --- fault injection and the request log --------------------------------------------------------


@pytest.mark.parametrize(("code", "status"), FAULTS)
def test_injected_fault_on_invoke_model_reaches_botocore_as_the_modelled_error(
    client: Any, emulator: Emulator, code: str, status: int
) -> None:
    emulator.inject_fault(code, operation="InvokeModel")
    with pytest.raises(getattr(client.exceptions, code)) as caught:
        client.invoke_model(modelId=TITAN_EMBED, body=json.dumps({"inputText": "x"}))
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (code, status)
    assert invoke(client, TITAN_EMBED, {"inputText": "x"})[0]["embedding"]


def test_a_fault_for_converse_spares_invoke_model_and_vice_versa(
    client: Any, emulator: Emulator
) -> None:
    emulator.inject_fault("ThrottlingException", operation="Converse")
    assert invoke(client, NOVA_MICRO, NOVA_HELLO)[0]["stopReason"] == "end_turn"
    emulator.clear()
    emulator.inject_fault("ThrottlingException", operation="InvokeModel")
    assert client.converse(modelId=NOVA_MICRO, messages=NOVA_HELLO["messages"])["usage"]
    assert error_of(client, NOVA_MICRO, NOVA_HELLO)[0] == "ThrottlingException"


def test_a_fault_for_a_catalog_id_hits_invoke_model_through_its_profile_id(
    client: Any, emulator: Emulator
) -> None:
    emulator.inject_fault("ModelTimeoutException", model_id=HAIKU, operation="InvokeModel")
    assert invoke(client, NOVA_MICRO, NOVA_HELLO)[0]
    assert error_of(client, f"eu.{HAIKU}", CLAUDE_HELLO)[:2] == ("ModelTimeoutException", 408)
    assert invoke(client, f"eu.{HAIKU}", CLAUDE_HELLO)[0]["type"] == "message"


def test_request_log_records_invoke_model_with_the_parsed_body(
    client: Any, emulator: Emulator
) -> None:
    request = {"texts": ["a"], "input_type": "search_query"}
    invoke(client, COHERE_EN, request)
    rejected(client, COHERE_EN, {"texts": ["a"]})
    first, second = emulator.requests
    assert (first.operation, first.model_id, first.body) == ("InvokeModel", COHERE_EN, request)
    assert second.body == {"texts": ["a"]}
    assert first.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")


def test_invoke_answers_do_not_depend_on_earlier_calls(client: Any) -> None:
    first = invoke(client, f"us.{SONNET_45}", CLAUDE_HELLO)[0]
    for spec in SPECS[:5]:
        native = native_formats().get(spec.model_id)
        request = _MINIMAL_BY_FORMAT[native] if native else _MINIMAL_BY_ADAPTER[spec.adapter]
        invoke(client, invocable_id(spec), request)
    assert invoke(client, f"us.{SONNET_45}", CLAUDE_HELLO)[0] == first


def test_capabilities_the_tests_rely_on_hold_in_the_catalog() -> None:
    models = all_models()
    assert not models[HAIKU_35].supports(Capability.VISION)
    assert models[SONNET_45].supports(Capability.EXCLUSIVE_TEMPERATURE_TOP_P)
    assert models[SONNET_45].requires_profile and models[LLAMA_VISION].requires_profile
    assert models[LLAMA_VISION].supports(Capability.VISION)
    assert models[HAIKU].max_output_tokens == 4096
    assert models[LLAMA].max_output_tokens == 2048
    assert models[COMMAND_R].max_output_tokens == 4000
