"""Converse outputConfig checks: structured output (textFormat json_schema) and effort.

Facts from the Bedrock user guide, "Get validated JSON results from models"
(https://docs.aws.amazon.com/bedrock/latest/userguide/structured-output.html) and the API
reference (OutputConfig, OutputFormat, OutputFormatStructure, JsonSchemaDefinition). The wording
of every error below is the emulator's own: AWS documents none of it (UNVERIFIED).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from lambdas.gateway.catalog import Capability, ModelSpec

from .content import Tally, structure
from .errors import constraint, serialization, validation
from .schema_instance import resolve_pointer
from .tokens import count_tokens

FORMAT_PATH = "outputConfig.textFormat"
SCHEMA_PATH = f"{FORMAT_PATH}.structure.jsonSchema.schema"
MAX_EFFORT_CHARS = 16  # the service model's limit on outputConfig.effort

# Keywords the user guide lists as unsupported (numerical and string constraints). Only what
# it names is refused: formats, pattern, oneOf and the like are not mentioned either way.
UNSUPPORTED_KEYWORDS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
)


def parse_output_config(value: object, spec: ModelSpec, tally: Tally) -> Mapping[str, Any] | None:
    """Check an outputConfig; return the JSON schema the answer must follow, if one was set."""
    if value is None:
        return None
    config = structure(value, "outputConfig")
    effort = config.get("effort")
    if effort is not None:
        if not isinstance(effort, str):
            raise serialization("outputConfig.effort", "a string")
        if len(effort) > MAX_EFFORT_CHARS:
            raise constraint(
                effort,
                "outputConfig.effort",
                f"have length less than or equal to {MAX_EFFORT_CHARS}",
            )
    if config.get("textFormat") is None:
        return None
    text = _schema_text(config["textFormat"])
    # The catalog marks the models the user guide lists (Capability.STRUCTURED_OUTPUT).
    if not spec.supports(Capability.STRUCTURED_OUTPUT):
        raise validation(
            "This model doesn't support structured output. "
            "Try again without outputConfig.textFormat or with a model that supports it."
        )
    try:
        schema = json.loads(text)
    except ValueError:
        schema = None
    if not isinstance(schema, dict):
        raise validation(
            f"The value at {SCHEMA_PATH} isn't a valid JSON schema. "
            "Provide the schema as a string holding a JSON object and try again."
        )
    problem = next(_unsupported(schema, schema, ()), None)
    if problem is not None:
        raise validation(
            f"The JSON schema at {SCHEMA_PATH} uses a feature that structured output doesn't "
            f"support: {problem}."
        )
    # Bedrock turns the schema into instructions and a grammar: it counts as prompt input.
    tally.tokens += count_tokens(text)
    return schema


def _schema_text(value: object) -> str:
    """Check textFormat's members as the service framework would; return the schema string."""
    text_format = structure(value, FORMAT_PATH)
    kind = text_format.get("type")
    if kind is None:
        raise constraint(None, f"{FORMAT_PATH}.type", "not be null")
    if kind != "json_schema":
        raise constraint(kind, f"{FORMAT_PATH}.type", "satisfy enum value set: [json_schema]")
    union = text_format.get("structure")
    if union is None:
        raise constraint(None, f"{FORMAT_PATH}.structure", "not be null")
    members = structure(union, f"{FORMAT_PATH}.structure")
    if list(members) != ["jsonSchema"]:
        raise validation(
            f"The OutputFormatStructure object at {FORMAT_PATH}.structure must set exactly one "
            "of its members (jsonSchema)."
        )
    definition = structure(members["jsonSchema"], f"{FORMAT_PATH}.structure.jsonSchema")
    for member in ("name", "description"):
        if definition.get(member) is not None and not isinstance(definition[member], str):
            raise serialization(f"{FORMAT_PATH}.structure.jsonSchema.{member}", "a string")
    text = definition.get("schema")
    if text is None:
        raise constraint(None, SCHEMA_PATH, "not be null")
    if not isinstance(text, str):
        raise serialization(SCHEMA_PATH, "a string")
    return text


def _unsupported(node: object, root: Mapping[str, Any], refs: tuple[str, ...]) -> Iterator[str]:
    """Yield what the user guide says structured output rejects, found anywhere in `node`."""
    if isinstance(node, list):
        for item in node:
            yield from _unsupported(item, root, refs)
        return
    if not isinstance(node, Mapping):
        return
    ref = node.get("$ref")
    if isinstance(ref, str):
        if not ref.startswith("#"):
            yield f"external $ref {ref}"
        elif ref in refs:
            yield f"recursive schema ($ref {ref})"
            return
        else:
            yield from _unsupported(resolve_pointer(root, ref), root, (*refs, ref))
    for keyword in UNSUPPORTED_KEYWORDS:
        if _is_number(node.get(keyword)):
            yield keyword
    extra = node.get("additionalProperties")
    if isinstance(extra, bool | Mapping) and extra is not False:
        yield "additionalProperties other than false"
    minimum_items = node.get("minItems")
    if _is_number(minimum_items) and minimum_items not in (0, 1):
        yield f"minItems {minimum_items} (only 0 and 1 are supported)"
    enum = node.get("enum")
    if isinstance(enum, list) and any(isinstance(item, dict | list) for item in enum):
        yield "enum values other than strings, numbers, booleans or null"
    for key, child in node.items():
        if key == "properties" and isinstance(child, Mapping):
            # Property names are data, not keywords: a property called "minimum" is fine.
            for sub in child.values():
                yield from _unsupported(sub, root, refs)
        elif key in ("$defs", "definitions"):
            continue  # reached through $ref, so unused definitions are not judged
        elif key not in ("enum", "const", "default", "examples", "required"):
            yield from _unsupported(child, root, refs)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
