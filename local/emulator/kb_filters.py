"""Retrieve's metadata filters (the RetrievalFilter union): Bedrock's checks, then matching.

The meaning of each operator is the one bedrock-agent-runtime's service model documents. Where
it is silent, the choices are marked "Emulator's choice" below.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence

from .errors import BedrockError, serialization, validation


def _retrieval_filter_members() -> dict[str, str]:
    """RetrievalFilter's members and their kinds, from AWS's own service model (botocore's)."""
    import botocore.session
    from botocore.model import StructureShape

    model = botocore.session.get_session().get_service_model("bedrock-agent-runtime")
    shape = model.shape_for("RetrievalFilter")
    assert isinstance(shape, StructureShape)
    return {name: member.type_name for name, member in shape.members.items()}


_MEMBERS = _retrieval_filter_members()
# andAll and orAll hold lists of filters; every other member compares one attribute.
GROUPS = frozenset(name for name, kind in _MEMBERS.items() if kind == "list")
COMPARISONS = frozenset(_MEMBERS) - GROUPS
OPERATORS = COMPARISONS | GROUPS
_NUMERIC: Mapping[str, Callable[[float, float], bool]] = {
    "greaterThan": operator.gt,
    "greaterThanOrEquals": operator.ge,
    "lessThan": operator.lt,
    "lessThanOrEquals": operator.le,
}
# Emulator's choice: the model sets no depth limit, but unbounded nesting has no use.
MAX_DEPTH = 10


def check_filter(node: object, path: str, depth: int = 0) -> Mapping[str, object]:
    """Return `node` if it is a well-formed RetrievalFilter; raise Bedrock's error if not."""
    if not isinstance(node, dict):
        raise serialization(path, "a structure")
    unknown = sorted(str(name) for name in node if name not in OPERATORS)
    if unknown:
        raise validation(
            f"The RetrievalFilter object at {path} has the unknown member '{unknown[0][:40]}'; "
            f"its members are {', '.join(sorted(OPERATORS))}."
        )
    if len(node) != 1:
        raise validation(
            f"The RetrievalFilter object at {path} must set exactly one of its members "
            f"({', '.join(sorted(OPERATORS))}); it sets {len(node)}."
        )
    ((name, operand),) = node.items()
    if name in GROUPS:
        _check_group(operand, f"{path}.{name}", depth)
    else:
        _check_attribute(name, operand, f"{path}.{name}")
    return node


def _check_group(operand: object, path: str, depth: int) -> None:
    if not isinstance(operand, list):
        raise serialization(path, "a list")
    if len(operand) < 2:
        # RetrievalFilter is a sensitive shape: the message does not echo the value.
        raise redacted_constraint(path, "have length greater than or equal to 2")
    if depth >= MAX_DEPTH:
        raise validation(f"The filter at {path} nests more than {MAX_DEPTH} levels deep.")
    for position, member in enumerate(operand):
        check_filter(member, f"{path}.{position}", depth + 1)


def _check_attribute(name: str, operand: object, path: str) -> None:
    if not isinstance(operand, dict):
        raise serialization(path, "a structure")
    key = operand.get("key")
    if key is None:
        raise redacted_constraint(f"{path}.key", "not be null")
    if not isinstance(key, str):
        raise serialization(f"{path}.key", "a string")
    if not 1 <= len(key) <= 100:
        raise redacted_constraint(f"{path}.key", "have length between 1 and 100")
    if "value" not in operand or operand["value"] is None:
        raise redacted_constraint(f"{path}.value", "not be null")
    value = operand["value"]
    # Emulator's choice: the model types `value` as any JSON document; each operator here
    # takes the kind of value its documentation shows, and refuses others instead of never
    # matching, so a mistaken filter fails loudly.
    if name in _NUMERIC and not _is_number(value):
        raise validation(f"The {name} filter at {path} compares numbers: its value must be one.")
    if name in ("in", "notIn") and (
        not isinstance(value, list) or not value or not all(_is_scalar(item) for item in value)
    ):
        raise validation(
            f"The {name} filter at {path} needs a non-empty list of strings, numbers or booleans."
        )
    if name in ("startsWith", "stringContains") and not isinstance(value, str):
        raise validation(f"The {name} filter at {path} needs a string value.")
    if name in ("equals", "notEquals", "listContains") and not (
        _is_scalar(value) or (name != "listContains" and isinstance(value, list))
    ):
        raise validation(f"The {name} filter at {path} needs a string, number or boolean value.")


def redacted_constraint(path: str, rule: str) -> BedrockError:
    """Return the framework's constraint error for a sensitive member, without its value."""
    return validation(
        f"1 validation error detected: Value at '{path}' failed to satisfy constraint: "
        f"Member must {rule}"
    )


def matches(node: Mapping[str, object], metadata: Mapping[str, object]) -> bool:
    """Return whether a chunk with `metadata` passes a checked filter."""
    ((name, operand),) = node.items()
    if name == "andAll":
        return all(matches(member, metadata) for member in _members(operand))
    if name == "orAll":
        return any(matches(member, metadata) for member in _members(operand))
    assert isinstance(operand, Mapping)
    key, value = str(operand["key"]), operand["value"]
    if key not in metadata:
        # notEquals takes chunks without the key (documented). notIn is documented as needing
        # the attribute ("contain a metadata attribute ... whose value isn't in the list"), so
        # it does not; neither does any other operator.
        return name == "notEquals"
    return _compare(name, metadata[key], value)


def _members(operand: object) -> Sequence[Mapping[str, object]]:
    assert isinstance(operand, list)
    return operand


def _compare(name: str, attribute: object, value: object) -> bool:
    if name == "equals":
        return _same(attribute, value)
    if name == "notEquals":
        return not _same(attribute, value)
    if name in _NUMERIC:
        left, right = _number(attribute), _number(value)
        return left is not None and right is not None and _NUMERIC[name](left, right)
    if name in ("in", "notIn"):
        assert isinstance(value, list)
        # Emulator's choice: a string-list attribute is "in" the list when any member is.
        candidates = attribute if isinstance(attribute, list) else [attribute]
        found = any(_same(item, allowed) for item in candidates for allowed in value)
        return found if name == "in" else not found
    if name == "startsWith":
        return isinstance(attribute, str) and attribute.startswith(str(value))
    if name == "stringContains":
        # A string containing the value, or a list with a member containing it (documented).
        members = attribute if isinstance(attribute, list) else [attribute]
        return any(isinstance(member, str) and str(value) in member for member in members)
    # listContains: a list attribute with the value as one of its members (documented).
    return isinstance(attribute, list) and any(_same(member, value) for member in attribute)


def _same(left: object, right: object) -> bool:
    """Equality that keeps kinds apart: True is not 1, "2024" is not 2024."""
    if _is_number(left) and _is_number(right):
        return left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_same, left, right))
    return type(left) is type(right) and left == right


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)
