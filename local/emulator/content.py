"""Content block checks for Converse messages, and the input tokens each block adds."""

from __future__ import annotations

import binascii
import json
import math
from collections.abc import Iterator, Mapping

from lambdas.gateway.catalog import Capability, ModelSpec

from .errors import constraint, serialization, validation
from .tokens import count_tokens

# Roughly what Claude charges for a full-size image (width * height / 750): images are not decoded.
IMAGE_TOKENS = 1_600
MEDIA_TOKENS = IMAGE_TOKENS  # video and audio: the same flat guess
_IMAGE_FORMATS = frozenset({"png", "jpeg", "gif", "webp"})
_DOCUMENT_FORMATS = frozenset({"pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md"})
# Content members Converse accepts but the emulator only counts (no capability in the catalog).
_PASSIVE_KINDS = frozenset(
    {
        "guardContent",
        "cachePoint",
        "reasoningContent",
        "citationsContent",
        "searchResult",
        "video",
        "audio",
    }
)
_BLOCK_KINDS = frozenset({"text", "image", "document", "toolUse", "toolResult"}) | _PASSIVE_KINDS


class Tally:
    """Running input-token count and whether any tool block was seen."""

    __slots__ = ("tokens", "tool_blocks")

    def __init__(self) -> None:
        self.tokens = 0
        self.tool_blocks = False


def check_block(block: object, path: str, spec: ModelSpec, tally: Tally) -> tuple[str, str]:
    """Check one content block; return its kind and the text it carries for the answer."""
    if not isinstance(block, dict):
        raise serialization(path, "a structure")
    kinds = [key for key in block if key in _BLOCK_KINDS]
    if len(kinds) != 1:
        raise validation(
            f"The ContentBlock object at {path} must set exactly one of its members "
            f"({', '.join(sorted(_BLOCK_KINDS))})."
        )
    kind = kinds[0]
    value = block[kind]
    if kind == "text":
        return kind, _text_block(value, path, tally)
    if kind == "image":
        _image_block(value, f"{path}.image", spec, tally)
    elif kind == "document":
        _document_block(value, f"{path}.document", spec, tally)
    elif kind == "toolUse":
        _tool_use_block(value, f"{path}.toolUse", spec, tally)
    elif kind == "toolResult":
        return kind, _tool_result_block(value, f"{path}.toolResult", spec, tally)
    elif kind in ("video", "audio"):
        tally.tokens += MEDIA_TOKENS
    else:
        tally.tokens += sum(count_tokens(text) for text in strings(value))
    return kind, ""


def _text_block(value: object, path: str, tally: Tally) -> str:
    if not isinstance(value, str):
        raise serialization(f"{path}.text", "a string")
    if not value.strip():
        raise validation(
            f"The text field in the ContentBlock object at {path} is blank. "
            "Add text to the text field, and try again."
        )
    tally.tokens += count_tokens(value)
    return value


def _image_block(value: object, path: str, spec: ModelSpec, tally: Tally) -> None:
    if not spec.supports(Capability.VISION):
        raise validation(
            "This model doesn't support the image content block that you provided. "
            "Try again with a model that supports images."
        )
    image = structure(value, path)
    fmt = image.get("format")
    if fmt not in _IMAGE_FORMATS:
        raise constraint(
            fmt, f"{path}.format", f"satisfy enum value set: [{', '.join(sorted(_IMAGE_FORMATS))}]"
        )
    _source(image.get("source"), f"{path}.source", ("bytes", "s3Location"))
    tally.tokens += IMAGE_TOKENS


def _document_block(value: object, path: str, spec: ModelSpec, tally: Tally) -> None:
    if not spec.supports(Capability.DOCUMENT_CHAT):
        raise validation(
            "This model doesn't support the document content block that you provided. "
            "Try again with a model that supports documents."
        )
    document = structure(value, path)
    name = document.get("name")
    if not isinstance(name, str) or not name:
        raise constraint(name, f"{path}.name", "have length greater than or equal to 1")
    fmt = document.get("format")
    if fmt is not None and fmt not in _DOCUMENT_FORMATS:
        raise constraint(
            fmt,
            f"{path}.format",
            f"satisfy enum value set: [{', '.join(sorted(_DOCUMENT_FORMATS))}]",
        )
    size = _source(
        document.get("source"), f"{path}.source", ("bytes", "text", "content", "s3Location")
    )
    tally.tokens += math.ceil(size / 4)


def _tool_use_block(value: object, path: str, spec: ModelSpec, tally: Tally) -> None:
    require_tools(spec)
    tool_use = structure(value, path)
    for member in ("toolUseId", "name"):
        if not isinstance(tool_use.get(member), str) or not tool_use[member]:
            raise constraint(tool_use.get(member), f"{path}.{member}", "not be null")
    if "input" not in tool_use:
        raise constraint(None, f"{path}.input", "not be null")
    tally.tool_blocks = True
    tally.tokens += count_tokens(str(tool_use["name"])) + count_tokens(
        json.dumps(tool_use["input"])
    )


def _tool_result_block(value: object, path: str, spec: ModelSpec, tally: Tally) -> str:
    require_tools(spec)
    result = structure(value, path)
    if not isinstance(result.get("toolUseId"), str) or not result["toolUseId"]:
        raise constraint(result.get("toolUseId"), f"{path}.toolUseId", "not be null")
    status = result.get("status")
    if status is not None and status not in ("success", "error"):
        raise constraint(status, f"{path}.status", "satisfy enum value set: [success, error]")
    content = result.get("content")
    if not isinstance(content, list):
        raise serialization(f"{path}.content", "a list")
    texts: list[str] = []
    for position, item in enumerate(content):
        part = structure(item, f"{path}.content.{position}")
        if isinstance(part.get("text"), str):
            texts.append(str(part["text"]))
        elif "json" in part:
            texts.append(json.dumps(part["json"], sort_keys=True))
        else:
            texts.extend(strings(part))
    text = "\n".join(texts)
    tally.tool_blocks = True
    tally.tokens += count_tokens(text)
    return text


def require_tools(spec: ModelSpec) -> None:
    """Raise Bedrock's error when `spec` cannot use tools."""
    if not spec.supports(Capability.TOOL_USE):
        raise validation("This model doesn't support tool use.")


def _source(value: object, path: str, members: tuple[str, ...]) -> int:
    """Check a media source union; return the size in characters or bytes it carries."""
    source = structure(value, path)
    chosen = [member for member in members if member in source]
    if len(chosen) != 1:
        raise validation(f"The source at {path} must set exactly one of: {', '.join(members)}.")
    member = chosen[0]
    if member == "bytes":
        encoded = source["bytes"]
        if not isinstance(encoded, str):
            raise serialization(f"{path}.bytes", "a base64 string")
        try:
            size = len(binascii.a2b_base64(encoded, strict_mode=True))
        except binascii.Error:
            raise serialization(f"{path}.bytes", "valid base64") from None
        if size == 0:
            raise constraint("", f"{path}.bytes", "have length greater than or equal to 1")
        return size
    return sum(len(text) for text in strings(source[member]))


def structure(value: object, path: str) -> Mapping[str, object]:
    """Return `value` as a JSON object, or raise the SerializationException for `path`."""
    if not isinstance(value, dict):
        raise serialization(path, "a structure")
    return value


def strings(value: object) -> Iterator[str]:
    """Yield every string inside a JSON value, skipping base64 `bytes` members."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "bytes":
                yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
