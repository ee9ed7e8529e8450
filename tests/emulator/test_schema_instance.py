"""The JSON Schema instance generator: values valid against what pydantic, zod and OpenAI send."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel

from local.emulator.schema_instance import instance_of
from tests.emulator.json_schema_check import errors
from tests.emulator.schemas import (
    EDGE_CASES,
    HAND_WRITTEN,
    OPENAI_STRICT,
    PYDANTIC_MODELS,
    Node,
    Order,
)


@pytest.mark.parametrize("model", PYDANTIC_MODELS, ids=lambda model: model.__name__)
def test_instances_of_pydantic_schemas_validate_as_the_model_and_against_the_schema(
    model: type[BaseModel],
) -> None:
    schema = model.model_json_schema()
    value = instance_of(schema)
    assert errors(value, schema) == []
    # Round-tripped through JSON, as a client receives it from the wire.
    model.model_validate_json(json.dumps(value))


@pytest.mark.parametrize("schema", HAND_WRITTEN.values(), ids=list(HAND_WRITTEN))
def test_instances_of_hand_written_schemas_are_valid(schema: dict[str, Any]) -> None:
    value = instance_of(schema)
    assert errors(value, schema) == [], value


@pytest.mark.parametrize("schema", HAND_WRITTEN.values(), ids=list(HAND_WRITTEN))
def test_the_same_schema_always_gets_the_same_instance(schema: dict[str, Any]) -> None:
    assert json.dumps(instance_of(schema)) == json.dumps(
        instance_of(json.loads(json.dumps(schema)))
    )


def test_every_listed_property_is_filled_and_required_arrays_get_an_item() -> None:
    value = instance_of(OPENAI_STRICT)
    assert set(value) == set(OPENAI_STRICT["properties"])
    assert value["year"] == 1 and value["rating"] == 1
    assert value["genres"] == ["drama"] and value["cast"] == [{"name": "emulated", "lead": True}]


def test_formats_get_plausible_fixed_values() -> None:
    order = Order.model_validate(instance_of(Order.model_json_schema()))
    assert str(order.id) == "00000000-0000-4000-8000-000000000000"
    assert order.due == date(2024, 1, 1)
    assert str(order.link) == "https://example.com/emulated"


def test_recursive_schemas_end_with_null_or_an_empty_list() -> None:
    node = Node.model_validate(instance_of(Node.model_json_schema()))
    depth = 0
    while node.parent is not None:
        node, depth = node.parent, depth + 1
    assert 1 <= depth < 10
    chain = instance_of(EDGE_CASES["a ref to the root"])
    assert json.dumps(chain).count('"next"') < 10


def test_a_required_cycle_with_no_way_out_still_terminates() -> None:
    schema = {
        "$defs": {"Loop": {"type": "object", "properties": {"x": {"$ref": "#/$defs/Loop"}}}},
        "$ref": "#/$defs/Loop",
        "required": ["x"],
    }
    assert isinstance(instance_of(schema), dict)


def test_schemas_without_a_type_fall_back_to_a_plain_string() -> None:
    assert instance_of({}) == "emulated"
    assert instance_of({"description": "anything"}) == "emulated"
