"""A small JSON Schema validator for the tests (jsonschema is not installed in the venv).

Written apart from the generator it checks, from the JSON Schema 2020-12 validation spec (with
draft 4-7 forms: boolean exclusive bounds, `items` as a list, `definitions`).
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any, NoReturn
from urllib.parse import urlparse

_TYPES: Mapping[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _format_ok(fmt: str, value: str) -> bool:
    checks: Mapping[str, Any] = {
        "date": date.fromisoformat,
        "date-time": lambda v: datetime.fromisoformat(v.replace("Z", "+00:00")),
        "time": lambda v: time.fromisoformat(v.replace("Z", "+00:00")),
        "uuid": uuid.UUID,
        "email": lambda v: re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", v) or _fail(),
        "uri": lambda v: urlparse(v).scheme or _fail(),
    }
    check = checks.get(fmt)
    if check is None:
        return True
    try:
        check(value)
    except ValueError:
        return False
    return True


def _fail() -> NoReturn:
    raise ValueError


def errors(instance: Any, schema: Any, root: Any = None, path: str = "$") -> list[str]:
    """Return why `instance` is invalid against `schema` (empty when it is valid)."""
    root = schema if root is None else root
    if schema is True or schema == {}:
        return []
    if schema is False:
        return [f"{path}: false schema"]
    found: list[str] = []
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"][1:].split("/")[1:]:
            target = target[part]
        found += errors(instance, target, root, path)
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_TYPES[k](instance) for k in kinds):
            return [*found, f"{path}: {instance!r} is not of type {kind}"]
    if "const" in schema and instance != schema["const"]:
        found.append(f"{path}: not the const")
    if "enum" in schema and instance not in schema["enum"]:
        found.append(f"{path}: {instance!r} not in enum")
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            passing = [not errors(instance, s, root, path) for s in schema[key]]
            if key == "allOf" and not all(passing):
                found.append(f"{path}: allOf fails")
            if key == "anyOf" and not any(passing):
                found.append(f"{path}: anyOf fails")
            if key == "oneOf" and sum(passing) != 1:
                found.append(f"{path}: oneOf matched {sum(passing)}")
    if "not" in schema and not errors(instance, schema["not"], root, path):
        found.append(f"{path}: matches not")
    if isinstance(instance, dict):
        found += _object(instance, schema, root, path)
    if isinstance(instance, list):
        found += _array(instance, schema, root, path)
    if isinstance(instance, str):
        found += _string(instance, schema, path)
    if _TYPES["number"](instance):
        found += _number(instance, schema, path)
    return found


def _object(instance: dict[str, Any], schema: Any, root: Any, path: str) -> list[str]:
    found = [
        f"{path}: missing {name}" for name in schema.get("required", []) if name not in instance
    ]
    properties = schema.get("properties", {})
    for name, value in instance.items():
        if name in properties:
            found += errors(value, properties[name], root, f"{path}.{name}")
        elif "additionalProperties" in schema:
            found += errors(value, schema["additionalProperties"], root, f"{path}.{name}")
    if len(instance) < schema.get("minProperties", 0):
        found.append(f"{path}: too few properties")
    if len(instance) > schema.get("maxProperties", math.inf):
        found.append(f"{path}: too many properties")
    return found


def _array(instance: list[Any], schema: Any, root: Any, path: str) -> list[str]:
    found: list[str] = []
    prefix = schema.get("prefixItems", [])
    items = schema.get("items")
    if isinstance(items, list):
        prefix, items = items, schema.get("additionalItems")
    for index, value in enumerate(instance):
        sub = prefix[index] if index < len(prefix) else items
        if sub is not None:
            found += errors(value, sub, root, f"{path}[{index}]")
    if len(instance) < schema.get("minItems", 0):
        found.append(f"{path}: fewer than minItems")
    if len(instance) > schema.get("maxItems", math.inf):
        found.append(f"{path}: more than maxItems")
    if schema.get("uniqueItems") and len({repr(v) for v in instance}) != len(instance):
        found.append(f"{path}: items not unique")
    if "contains" in schema and all(errors(v, schema["contains"], root) for v in instance):
        found.append(f"{path}: nothing matches contains")
    return found


def _string(instance: str, schema: Any, path: str) -> list[str]:
    found: list[str] = []
    if len(instance) < schema.get("minLength", 0):
        found.append(f"{path}: shorter than minLength")
    if len(instance) > schema.get("maxLength", math.inf):
        found.append(f"{path}: longer than maxLength")
    if "pattern" in schema and not re.search(schema["pattern"], instance):
        found.append(f"{path}: {instance!r} does not match {schema['pattern']}")
    if "format" in schema and not _format_ok(schema["format"], instance):
        found.append(f"{path}: {instance!r} is not a {schema['format']}")
    return found


def _number(instance: float, schema: Any, path: str) -> list[str]:
    found: list[str] = []
    low, high = schema.get("minimum"), schema.get("maximum")
    low_x, high_x = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if low is not None and (instance < low or (low_x is True and instance == low)):
        found.append(f"{path}: below minimum")
    if high is not None and (instance > high or (high_x is True and instance == high)):
        found.append(f"{path}: above maximum")
    if not isinstance(low_x, bool) and low_x is not None and instance <= low_x:
        found.append(f"{path}: not above exclusiveMinimum")
    if not isinstance(high_x, bool) and high_x is not None and instance >= high_x:
        found.append(f"{path}: not below exclusiveMaximum")
    step = schema.get("multipleOf")
    if step is not None:
        quotient = instance / step
        if abs(quotient - round(quotient)) > 1e-9:
            found.append(f"{path}: {instance} is not a multiple of {step}")
    return found
