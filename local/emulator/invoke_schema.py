"""InvokeModel body checks, worded like Bedrock's JSON-schema validator ("Malformed input request").

Bedrock validates each family's native body against a JSON schema and reports violations as
`Malformed input request: #/path: problem, please reformat your input and try again.` (e.g.
`#: extraneous key [model] is not permitted`, `#: required key [messages] not found`, seen in
public bug reports). The problem wordings below follow that validator; the exact text for each
family and constraint is UNVERIFIED. The emulator reports the first violation only.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TypeVar

from .errors import BedrockError, validation

_T = TypeVar("_T")

_TYPE_NAMES: Mapping[type, str] = {
    str: "String",
    int: "Integer",
    float: "Number",
    bool: "Boolean",
    list: "JSONArray",
    dict: "JSONObject",
    type(None): "Null",
}


def malformed(path: str, problem: str) -> BedrockError:
    """Return Bedrock's ValidationException for a body that breaks the model's schema."""
    return validation(
        f"Malformed input request: {path}: {problem}, please reformat your input and try again."
    )


def type_error(path: str, expected: str, value: object) -> BedrockError:
    """Return the error for a member of the wrong JSON type."""
    return malformed(path, f"expected type: {expected}, found: {_TYPE_NAMES.get(type(value))}")


def shown(value: object) -> str:
    """Render a JSON value the way the validator quotes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Obj:
    """A JSON object in the body, read member by member with the schema's constraints.

    Each getter returns None when the member is absent; a member present with the wrong type
    (JSON null included) or outside its constraints raises the ValidationException.
    """

    __slots__ = ("data", "path")

    def __init__(self, value: object, path: str = "#") -> None:
        if not isinstance(value, dict):
            raise type_error(path, "JSONObject", value)
        self.data: Mapping[str, object] = value
        self.path = path

    def at(self, key: str) -> str:
        """Return the validator's path of member `key`."""
        return f"{self.path}/{key}"

    def allow(self, keys: Collection[str]) -> None:
        """Reject the first member not in `keys`."""
        for key in self.data:
            if key not in keys:
                raise malformed(self.path, f"extraneous key [{key}] is not permitted")

    def require(self, *keys: str) -> None:
        """Reject the body when one of `keys` is absent."""
        for key in keys:
            if key not in self.data:
                raise malformed(self.path, f"required key [{key}] not found")

    def string(self, key: str, *, min_len: int = 0, max_len: int | None = None) -> str | None:
        """Return string member `key`, checking its length in characters."""
        if key not in self.data:
            return None
        return string_at(self.data[key], self.at(key), min_len=min_len, max_len=max_len)

    def need_string(self, key: str, *, min_len: int = 0, max_len: int | None = None) -> str:
        """Return required string member `key`."""
        self.require(key)
        return _present(self.string(key, min_len=min_len, max_len=max_len))

    def integer(self, key: str, *, low: int | None = None, high: int | None = None) -> int | None:
        """Return integer member `key`, checking `low <= value <= high`."""
        if key not in self.data:
            return None
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise type_error(self.at(key), "Integer", value)
        _check_range(value, self.at(key), low, high)
        return value

    def need_integer(self, key: str, *, low: int | None = None, high: int | None = None) -> int:
        """Return required integer member `key`."""
        self.require(key)
        return _present(self.integer(key, low=low, high=high))

    def number(
        self, key: str, *, low: float | None = None, high: float | None = None
    ) -> float | None:
        """Return number member `key` (integer or decimal), checking `low <= value <= high`."""
        if key not in self.data:
            return None
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise type_error(self.at(key), "Number", value)
        _check_range(value, self.at(key), low, high)
        return float(value)

    def boolean(self, key: str) -> bool | None:
        """Return boolean member `key`."""
        if key not in self.data:
            return None
        value = self.data[key]
        if not isinstance(value, bool):
            raise type_error(self.at(key), "Boolean", value)
        return value

    def choice(self, key: str, options: Collection[str]) -> str | None:
        """Return member `key`, which must be one of `options`."""
        if key not in self.data:
            return None
        value = self.data[key]
        if not isinstance(value, str) or value not in options:
            raise malformed(self.at(key), f"{shown(value)} is not a valid enum value")
        return value

    def need_choice(self, key: str, options: Collection[str]) -> str:
        """Return required member `key`, which must be one of `options`."""
        self.require(key)
        return _present(self.choice(key, options))

    def array(
        self, key: str, *, min_items: int = 0, max_items: int | None = None
    ) -> list[object] | None:
        """Return array member `key`, checking its item count."""
        if key not in self.data:
            return None
        value = self.data[key]
        if not isinstance(value, list):
            raise type_error(self.at(key), "JSONArray", value)
        if len(value) < min_items:
            raise malformed(
                self.at(key), f"expected minimum item count: {min_items}, found: {len(value)}"
            )
        if max_items is not None and len(value) > max_items:
            raise malformed(
                self.at(key), f"expected maximum item count: {max_items}, found: {len(value)}"
            )
        return value

    def need_array(
        self, key: str, *, min_items: int = 0, max_items: int | None = None
    ) -> list[object]:
        """Return required array member `key`."""
        self.require(key)
        return _present(self.array(key, min_items=min_items, max_items=max_items))

    def strings(self, key: str, *, max_items: int | None = None) -> list[str] | None:
        """Return array-of-strings member `key`."""
        items = self.array(key, max_items=max_items)
        if items is None:
            return None
        return [string_at(item, f"{self.at(key)}/{index}") for index, item in enumerate(items)]

    def obj(self, key: str) -> Obj | None:
        """Return object member `key`."""
        return Obj(self.data[key], self.at(key)) if key in self.data else None

    def need_obj(self, key: str) -> Obj:
        """Return required object member `key`."""
        self.require(key)
        return Obj(self.data[key], self.at(key))


def string_at(value: object, path: str, *, min_len: int = 0, max_len: int | None = None) -> str:
    """Return `value` as a string of `min_len` to `max_len` characters, or raise."""
    if not isinstance(value, str):
        raise type_error(path, "String", value)
    if len(value) < min_len:
        raise malformed(path, f"expected minLength: {min_len}, actual: {len(value)}")
    if max_len is not None and len(value) > max_len:
        raise malformed(path, f"expected maxLength: {max_len}, actual: {len(value)}")
    return value


def _check_range(value: float, path: str, low: float | None, high: float | None) -> None:
    if low is not None and value < low:
        raise malformed(path, f"{shown(value)} is not greater or equal to {shown(low)}")
    if high is not None and value > high:
        raise malformed(path, f"{shown(value)} is not less or equal to {shown(high)}")


def _present(value: _T | None) -> _T:
    if value is None:  # pragma: no cover - `require` ran first and getters reject JSON null
        raise AssertionError("a required member was checked but not returned")
    return value
