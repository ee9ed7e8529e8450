"""Schemas in the shapes clients send: pydantic v2 models, zod-like and OpenAI strict schemas."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AnyUrl, BaseModel, ConfigDict, Field

# --- pydantic v2 models, as agent frameworks turn them into tool and output schemas ----------


class Priority(StrEnum):
    LOW = "low"
    HIGH = "high"


class Address(BaseModel):
    street: str = Field(min_length=12)
    city: str
    postcode: Annotated[str, Field(pattern=r"^\d{5}$")]
    country: Literal["FR", "DE"] = "FR"


class LineItem(BaseModel):
    sku: str = Field(max_length=4)
    quantity: int = Field(ge=10, lt=20, multiple_of=3)
    price: float = Field(gt=0, le=0.5, multiple_of=0.05)


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int = 9


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool


class Order(BaseModel):
    id: UUID
    placed: datetime
    due: date
    window: time
    wait: timedelta
    link: AnyUrl
    priority: Priority
    shipping: Address
    billing: Address | None = None
    items: list[LineItem] = Field(min_length=2, max_length=3)
    codes: set[str] = Field(min_length=3)
    pair: tuple[int, str]
    pet: Cat | Dog = Field(discriminator="kind")
    counts: dict[str, int] = Field(min_length=1)
    note: str | None = None


class Node(BaseModel):
    value: int
    children: list[Node] = []
    parent: Node | None = None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: str
    confidence: float | None
    sources: list[Address]


PYDANTIC_MODELS = [Order, Node, Address, Strict]

# --- hand-written schemas in the shapes other clients send -----------------------------------

# zod-to-json-schema: draft 7, refs into #/definitions and into other properties.
ZOD_LIKE: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "user": {"$ref": "#/definitions/User"},
        "backup": {"$ref": "#/properties/user"},
        "tags": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
        "status": {"anyOf": [{"type": "string", "enum": ["open", "closed"]}, {"type": "null"}]},
        "score": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "legacy": {"type": "integer", "minimum": 5, "exclusiveMinimum": True},
    },
    "required": ["user", "tags", "status", "score", "legacy"],
    "additionalProperties": False,
    "definitions": {
        "User": {
            "type": "object",
            "properties": {
                "email": {"type": "string", "format": "email"},
                "age": {"type": "integer", "minimum": 18, "maximum": 120},
                "nick": {"type": ["string", "null"], "maxLength": 3},
            },
            "required": ["email", "age", "nick"],
            "additionalProperties": False,
        }
    },
}
# OpenAI strict mode: every property required, optional ones as type lists with null.
OPENAI_STRICT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "year": {"type": ["integer", "null"]},
        "genres": {"type": "array", "items": {"type": "string", "enum": ["drama", "comedy"]}},
        "cast": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "lead": {"type": "boolean"}},
                "required": ["name", "lead"],
                "additionalProperties": False,
            },
        },
        "rating": {"anyOf": [{"type": "number"}, {"type": "null"}]},
    },
    "required": ["title", "year", "genres", "cast", "rating"],
    "additionalProperties": False,
}
EDGE_CASES: dict[str, dict[str, Any]] = {
    "const and default": {
        "type": "object",
        "properties": {"v": {"const": 3}, "d": {"type": "string", "default": "chosen"}},
    },
    "allOf merges properties and required": {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
            {"properties": {"b": {"type": "string", "format": "date"}}, "required": ["b"]},
        ]
    },
    "oneOf takes a branch": {"oneOf": [{"type": "string", "maxLength": 2}, {"type": "null"}]},
    "tuple items (draft 4 list form)": {
        "type": "array",
        "items": [{"type": "integer"}, {"type": "boolean"}],
        "additionalItems": False,
    },
    "unique items with a floor": {
        "type": "array",
        "items": {"type": "integer", "maximum": 10},
        "minItems": 4,
        "uniqueItems": True,
    },
    "unique objects": {
        "type": "array",
        "items": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
        "minItems": 3,
        "uniqueItems": True,
    },
    "maxItems zero": {"type": "array", "items": {"type": "string"}, "maxItems": 0},
    "minProperties on a map": {
        "type": "object",
        "additionalProperties": {"type": "number"},
        "minProperties": 2,
    },
    "maxProperties keeps required ones": {
        "type": "object",
        "properties": {"a": {}, "b": {}, "c": {}},
        "required": ["c"],
        "maxProperties": 1,
    },
    "required name with no property schema": {"type": "object", "required": ["free"]},
    "untyped number keywords": {"minimum": 7.5, "maximum": 7.5},
    "negative range": {"type": "integer", "maximum": -3, "exclusiveMaximum": -4},
    "float multiple": {"type": "number", "minimum": 0.31, "multipleOf": 0.1},
    "long string": {"type": "string", "minLength": 20, "maxLength": 21},
    "pattern the string is built for": {"type": "string", "pattern": r"^[A-Z]{2}-\d{3}$"},
    "enum of mixed values": {"enum": [None, 2, "x"]},
    "a ref to the root": {
        "type": "object",
        "properties": {"next": {"anyOf": [{"$ref": "#"}, {"type": "null"}]}},
        "required": ["next"],
    },
    "contains": {"type": "array", "contains": {"type": "integer", "minimum": 4}, "minItems": 1},
}
HAND_WRITTEN = {"zod-like": ZOD_LIKE, "openai strict": OPENAI_STRICT, **EDGE_CASES}


class ReceiptLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    quantity: int
    tags: list[str]


class Receipt(BaseModel):
    """Within the JSON Schema subset Bedrock's structured output accepts (no bounds, no cycles)."""

    model_config = ConfigDict(extra="forbid")

    merchant: str
    total: float
    currency: Literal["EUR", "USD"]
    day: date
    priority: Priority
    lines: list[ReceiptLine]
    note: str | None = None
