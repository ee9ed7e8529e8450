"""A deterministic JSON value valid against a JSON Schema: the emulated model's tool input or JSON.

It covers what OpenAI, pydantic and zod clients send: types (lists and "null" too), properties
and required, enum, const, default, anyOf/oneOf/allOf, local $ref (#/$defs, #/definitions),
items and prefixItems, array/string/number bounds, common formats and recursive schemas.
Keywords it cannot satisfy by construction (pattern, not, if/then/else) are only tried, not solved.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

STRING = "emulated"
# Nesting (objects and arrays) past which only what the schema requires is produced, and where
# a recursive schema takes its null or non-recursive branch, so every instance stays small.
LEAN_DEPTH = 6
# A schema that still nests this deep has no finite instance (a required, non-nullable cycle).
MAX_DEPTH = 40
# Plausible fixed values for the formats clients declare (reserved example domains and ranges).
FORMAT_VALUES: Mapping[str, str] = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "time": "00:00:00Z",
    "duration": "P1D",
    "email": "emulated@example.com",
    "idn-email": "emulated@example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uri": "https://example.com/emulated",
    "iri": "https://example.com/emulated",
    "url": "https://example.com/emulated",
    "uri-reference": "https://example.com/emulated",
    "iri-reference": "https://example.com/emulated",
    "uri-template": "https://example.com/{emulated}",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "json-pointer": "/emulated",
    "relative-json-pointer": "0/emulated",
    "regex": "^emulated$",
}
# Strings tried in turn against a `pattern` the default does not match (regexes are not solved).
_PATTERN_CANDIDATES = (STRING, "EMULATED", "Emulated1", "a", "A", "0", "1", "emulated-1", "")
# A character of each regex category, and the category as a regex, for `[...]` sets.
_CATEGORY_CHARS: Mapping[str, str] = {
    "CATEGORY_DIGIT": "0",
    "CATEGORY_NOT_DIGIT": "a",
    "CATEGORY_WORD": "a",
    "CATEGORY_NOT_WORD": "-",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": "a",
}
_CATEGORY_REGEX: Mapping[str, str] = {
    "CATEGORY_DIGIT": r"\d",
    "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_WORD": r"\w",
    "CATEGORY_NOT_WORD": r"\W",
    "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S",
}
_OBJECT_KEYS = ("properties", "required", "additionalProperties", "minProperties")
_ARRAY_KEYS = ("items", "prefixItems", "minItems", "maxItems", "contains")
_STRING_KEYS = ("minLength", "maxLength", "pattern", "format")
_NUMBER_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


def instance_of(schema: object) -> Any:
    """Return a deterministic value that `schema` accepts (its root also resolves its $refs)."""
    return _Generator(schema).value(schema, 0, 0)


class _Generator:
    """Walks one schema document; `root` is what `#/...` references point into."""

    def __init__(self, root: object) -> None:
        self.root = root

    def value(self, schema: object, depth: int, variant: int) -> Any:
        """Return a value for `schema` at nesting `depth`; `variant` tells array items apart."""
        if not isinstance(schema, Mapping) or depth > MAX_DEPTH:
            # `true`, `false` and anything malformed: null is as good an answer as any.
            return None
        node = self._flatten(schema, depth)
        if "const" in node:
            return node["const"]
        enum = node.get("enum")
        if isinstance(enum, list) and enum:
            return enum[variant % len(enum)]
        default = node.get("default")
        if default is not None and variant == 0:
            # A null default usually marks an optional field: a real value shows more.
            return default
        kind = self._type(node, depth)
        if kind == "object":
            return self._object(node, depth, variant)
        if kind == "array":
            return self._array(node, depth)
        if kind == "string":
            return _string(node, variant)
        if kind in ("integer", "number"):
            return _number(node, kind == "integer", variant)
        if kind == "boolean":
            return variant % 2 == 0
        if kind == "null":
            return None
        return STRING if variant == 0 else f"{STRING}-{variant}"

    # --- schema reduction --------------------------------------------------------------------

    def _flatten(self, schema: Mapping[str, Any], depth: int) -> Mapping[str, Any]:
        """Resolve $ref, merge allOf and pick one anyOf/oneOf branch, keeping sibling keywords."""
        node: Mapping[str, Any] = schema
        for _ in range(MAX_DEPTH):
            if isinstance(node.get("$ref"), str):
                target = self._resolve(node["$ref"])
                rest = {key: item for key, item in node.items() if key != "$ref"}
                node = {**target, **rest} if isinstance(target, Mapping) else rest
            elif isinstance(node.get("allOf"), list):
                rest = {key: item for key, item in node.items() if key != "allOf"}
                members = [part for part in node["allOf"] if isinstance(part, Mapping)]
                parts = [self._flatten(part, depth) for part in members]
                node = _merge([*parts, rest])
            elif isinstance(node.get("anyOf"), list) or isinstance(node.get("oneOf"), list):
                key = "anyOf" if isinstance(node.get("anyOf"), list) else "oneOf"
                rest = {name: item for name, item in node.items() if name != key}
                branch = self._branch(node[key], depth)
                node = _merge([rest, branch]) if isinstance(branch, Mapping) else rest
            else:
                return node
        return node

    def _branch(self, branches: list[Any], depth: int) -> object:
        """Pick the first usable branch; when lean, prefer one that ends the recursion."""
        usable = [branch for branch in branches if isinstance(branch, Mapping)]
        if not usable:
            return {}
        if depth >= LEAN_DEPTH:
            for branch in usable:
                if self._allows_null(branch):
                    return branch
            for branch in usable:
                if "$ref" not in branch:
                    return branch
        return usable[0]

    def _allows_null(self, schema: Mapping[str, Any]) -> bool:
        kind = schema.get("type")
        return kind == "null" or (isinstance(kind, list) and "null" in kind)

    def _resolve(self, ref: str) -> object:
        """Follow a local JSON pointer (`#/$defs/X`); other references resolve to nothing."""
        if not ref.startswith("#"):
            return {}
        node = resolve_pointer(self.root, ref)
        return {} if node is None else node

    def _type(self, node: Mapping[str, Any], depth: int) -> str | None:
        kind = node.get("type")
        if isinstance(kind, str):
            return kind
        if isinstance(kind, list) and kind:
            named = [item for item in kind if isinstance(item, str)]
            if "null" in named and (depth >= LEAN_DEPTH or len(named) == 1):
                return "null"
            others = [item for item in named if item != "null"]
            # The keywords present say which of the listed types the schema's author meant.
            inferred = self._infer(node)
            return inferred if inferred in others else others[0]
        return self._infer(node)

    def _infer(self, node: Mapping[str, Any]) -> str | None:
        """The type a schema without `type` implies through its keywords."""
        for kind, keys in (
            ("object", _OBJECT_KEYS),
            ("array", _ARRAY_KEYS),
            ("string", _STRING_KEYS),
            ("number", _NUMBER_KEYS),
        ):
            if any(key in node for key in keys):
                return kind
        return None

    # --- containers ----------------------------------------------------------------------------

    def _object(self, node: Mapping[str, Any], depth: int, variant: int) -> dict[str, Any]:
        properties = node.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        required = [name for name in node.get("required") or [] if isinstance(name, str)]
        lean = depth >= LEAN_DEPTH
        # Every listed property (valid unless the schema forbids one); only required ones when lean.
        names = list(dict.fromkeys(required if lean else [*properties, *required]))
        maximum = node.get("maxProperties")
        if isinstance(maximum, int) and len(names) > maximum:
            optional = [name for name in names if name not in required]
            drop = set(optional[: len(names) - maximum])
            names = [name for name in names if name not in drop]
        extra = node.get("additionalProperties")
        result: dict[str, Any] = {}
        for name in names:
            sub = properties.get(name, extra if isinstance(extra, Mapping) else {})
            # The object's variant reaches its members, so array items of objects differ too.
            result[name] = self.value(sub, depth + 1, variant)
        minimum = node.get("minProperties")
        if isinstance(minimum, int) and extra is not False:
            filler = extra if isinstance(extra, Mapping) else {}
            index = 1
            while len(result) < minimum:
                key = f"{STRING}_{index}"
                if key not in result:
                    result[key] = self.value(filler, depth + 1, 0)
                index += 1
        return result

    def _array(self, node: Mapping[str, Any], depth: int) -> list[Any]:
        prefix = node.get("prefixItems")
        items = node.get("items")
        if isinstance(items, list):  # draft 4-7 tuple form
            prefix, items = items, node.get("additionalItems", {})
        if items is None:
            # Without `items`, what `contains` asks for is a valid item as well.
            items = node.get("contains")
        prefix = [part for part in prefix if isinstance(part, Mapping)] if prefix else []
        minimum = _count(node.get("minItems")) or 0
        maximum = _count(node.get("maxItems"))
        # One item shows the item shape; lean arrays take only as many as they must.
        count = max(minimum, len(prefix), 0 if depth >= LEAN_DEPTH else 1)
        if items is False:
            count = min(count, len(prefix))
        if maximum is not None:
            count = min(count, maximum)
        result: list[Any] = []
        for index in range(count):
            part = prefix[index] if index < len(prefix) else items
            # Distinct variants keep items apart when the array demands uniqueItems.
            result.append(self.value(part if part is not None else {}, depth + 1, index))
        return result


def _merge(parts: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Merge allOf members (or a branch with its siblings): properties and required combine."""
    merged: dict[str, Any] = {}
    for part in parts:
        for key, item in part.items():
            if key == "properties" and isinstance(merged.get(key), Mapping):
                merged[key] = {**merged[key], **item} if isinstance(item, Mapping) else item
            elif key == "required" and isinstance(merged.get(key), list):
                merged[key] = [*merged[key], *item] if isinstance(item, list) else merged[key]
            elif key in ("title", "description") and key in merged:
                continue
            else:
                merged[key] = item
    return merged


def _string(node: Mapping[str, Any], variant: int) -> str:
    fmt = node.get("format")
    if isinstance(fmt, str) and fmt in FORMAT_VALUES:
        text = FORMAT_VALUES[fmt]
        if variant and fmt == "uuid":
            text = text[:-12] + f"{variant:012d}"
        elif variant and fmt in ("email", "idn-email"):
            text = f"{STRING}{variant}@example.com"
        return text
    base = STRING if variant == 0 else f"{STRING}-{variant}"
    pattern = node.get("pattern")
    if isinstance(pattern, str):
        base = _matching(pattern, base)
    low = node.get("minLength")
    high = node.get("maxLength")
    if isinstance(low, int) and len(base) < low:
        base = (base * (low // max(len(base), 1) + 1))[:low] if base else "x" * low
    if isinstance(high, int) and len(base) > high:
        # A variant keeps its suffix, which is what keeps array items distinct.
        base = base[len(base) - high :] if variant else base[:high]
    return base


def _matching(pattern: str, preferred: str) -> str:
    """Return `preferred` if the pattern matches it, else a string built to match, if any."""
    try:
        compiled = re.compile(pattern)
    except re.error:
        return preferred
    built = _built_for(pattern)
    for candidate in (preferred, *([built] if built is not None else []), *_PATTERN_CANDIDATES):
        if compiled.search(candidate):
            return candidate
    return preferred


def _built_for(pattern: str) -> str | None:
    """Walk the regex's parse tree, taking the first choice and the fewest repeats everywhere."""
    try:
        # CPython's own regex parser (private, so reached dynamically): Python and ECMAScript
        # agree on the simple patterns schemas carry; anything odd falls back to the candidates.
        parser = importlib.import_module("re._parser")
        out: list[str] = []
        _walk(parser.parse(pattern), out)
    except Exception:  # noqa: BLE001 - an unparsable or exotic pattern only loses the shortcut
        return None
    return "".join(out)


def _walk(items: Any, out: list[str]) -> None:
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name in ("NOT_LITERAL", "ANY"):
            out.append("b" if name == "NOT_LITERAL" and arg == ord("a") else "a")
        elif name == "IN":
            out.append(_member(arg))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _, body = arg
            for _ in range(low):
                _walk(body, out)
        elif name == "SUBPATTERN":
            _walk(arg[-1], out)
        elif name == "ATOMIC_GROUP":
            _walk(arg, out)
        elif name == "BRANCH":
            _walk(arg[1][0], out)
        elif name not in ("AT", "ASSERT", "ASSERT_NOT"):
            raise ValueError(name)


def _member(items: list[tuple[Any, Any]]) -> str:
    r"""A character inside a `[...]` set (or a `\d`-style category)."""
    if items and str(items[0][0]) == "NEGATE":
        excluded = items[1:]
        return next(char for char in "a0-_ Z" if not _in_set(char, excluded))
    op, arg = items[0]
    if str(op) == "LITERAL":
        return chr(arg)
    if str(op) == "RANGE":
        return chr(arg[0])
    return _CATEGORY_CHARS[str(arg)]


def _in_set(char: str, items: list[tuple[Any, Any]]) -> bool:
    code = ord(char)
    for op, arg in items:
        name = str(op)
        if (name == "LITERAL" and arg == code) or (name == "RANGE" and arg[0] <= code <= arg[1]):
            return True
        if name == "CATEGORY" and re.fullmatch(_CATEGORY_REGEX.get(str(arg), "(?!)"), char):
            return True
    return False


def _number(node: Mapping[str, Any], integer: bool, variant: int) -> int | float:
    low, low_open = _bound(node, "minimum", "exclusiveMinimum")
    high, high_open = _bound(node, "maximum", "exclusiveMaximum")
    if integer:
        # Integer bounds, closed: the smallest and largest integers the schema allows.
        low = None if low is None else (math.floor(low) + 1 if low_open else math.ceil(low))
        high = None if high is None else (math.ceil(high) - 1 if high_open else math.floor(high))
        low_open = high_open = False

    def fits(value: float) -> bool:
        above = low is None or (value > low if low_open else value >= low)
        return above and (high is None or (value < high if high_open else value <= high))

    candidates: list[float] = [1 + variant, 1]
    if low is not None:
        candidates.append(low + variant)
        candidates.append(low if not low_open else low + 1 if high is None else (low + high) / 2)
    if high is not None:
        candidates.append(high if not high_open else high - 1 if low is None else (low + high) / 2)
    value = next((candidate for candidate in candidates if fits(candidate)), candidates[-1])
    step = node.get("multipleOf")
    if isinstance(step, int | float) and not isinstance(step, bool) and step > 0:
        value = _multiple(value, step, fits)
    if integer or float(value).is_integer():
        return int(value)
    return float(value)


def _multiple(value: float, step: float, fits: Callable[[float], bool]) -> float:
    """The multiple of `step` nearest above `value` that the bounds allow (else nearest below)."""
    count = math.ceil(value / step)
    for candidate in (count, count + 1, math.floor(value / step), count - 1):
        result = _round(candidate * step, step)
        if fits(result):
            return result
    return _round(count * step, step)


def _round(value: float, step: float) -> float:
    # Float products like 3 * 0.1 are rounded to the step's own decimals, as a model would write.
    text = repr(float(step))
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 12
    return round(value, decimals)


def _bound(node: Mapping[str, Any], inclusive: str, exclusive: str) -> tuple[float | None, bool]:
    """Return a bound and whether it is exclusive (draft 4's boolean form included)."""
    strict = node.get(exclusive)
    plain = node.get(inclusive)
    if isinstance(strict, int | float) and not isinstance(strict, bool):
        if isinstance(plain, int | float) and not isinstance(plain, bool):
            tighter = plain > strict if inclusive == "minimum" else plain < strict
            return (plain, False) if tighter else (strict, True)
        return strict, True
    if isinstance(plain, int | float) and not isinstance(plain, bool):
        return plain, strict is True
    return None, False


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def resolve_pointer(root: object, ref: str) -> object:
    """The node a local JSON pointer (`#/$defs/X`) names in `root`, or None."""
    node: object = root
    for raw in ref[1:].split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node
