"""The emulator serves a model only while Bedrock does: end of life per region and date.

Dates and regions are AWS's. A local run or a test naming a dead model fails as production does:
Bedrock answers `ResourceNotFoundException: This model version has reached the end of its
life.` The region is the one the client signed for, as a regional Bedrock endpoint serves it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from local.emulator import Emulator, start_emulator
from model_catalog import get_model
from tests.emulator.clients import error_of, make_client

HAIKU_3 = "anthropic.claude-3-haiku-20240307-v1:0"
OPUS_41 = "us.anthropic.claude-opus-4-1-20250805-v1:0"
NOVA = "amazon.nova-micro-v1:0"
HI = [{"role": "user", "content": [{"text": "Hi"}]}]
EOL_MESSAGE = "This model version has reached the end of its life."


def client_for(emulator: Emulator, region: str) -> Any:
    return make_client(emulator.url, region, retries={"max_attempts": 1})


@pytest.fixture
def on_day() -> Iterator[Any]:
    """Start emulators pinned to given days; stop them all afterwards."""
    started: list[Emulator] = []

    def start(day: date | None, **kwargs: Any) -> Emulator:
        emulator = start_emulator(today=day, **kwargs)
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


def test_a_model_past_its_end_of_life_answers_resource_not_found(on_day: Any) -> None:
    client = client_for(on_day(date(2026, 11, 30)), "us-east-1")
    for model_id in (HAIKU_3, f"us.{HAIKU_3}"):
        assert error_of(client.converse, modelId=model_id, messages=HI) == (
            "ResourceNotFoundException",
            404,
            EOL_MESSAGE,
        )
    code, status, _ = error_of(client.invoke_model, modelId=HAIKU_3, body=b"{}")
    assert (code, status) == ("ResourceNotFoundException", 404)


def test_the_same_model_answers_the_day_before_its_end_of_life(on_day: Any) -> None:
    client = client_for(on_day(date(2026, 9, 9)), "us-east-1")
    assert client.converse(modelId=HAIKU_3, messages=HI)["stopReason"] == "end_turn"


def test_a_region_where_aws_extends_the_model_still_serves_it(on_day: Any) -> None:
    emulator = on_day(date(2026, 11, 30))
    assert client_for(emulator, "ca-central-1").converse(modelId=HAIKU_3, messages=HI)["output"]
    code, _, _ = error_of(client_for(emulator, "eu-west-1").converse, modelId=HAIKU_3, messages=HI)
    assert code == "ResourceNotFoundException"


def test_a_legacy_model_serves_existing_callers_until_its_end_of_life(on_day: Any) -> None:
    legacy = client_for(on_day(date(2026, 11, 30)), "us-east-1")
    assert legacy.converse(modelId=OPUS_41, messages=HI)["output"]
    dead = client_for(on_day(date(2027, 1, 8)), "us-east-1")
    assert error_of(dead.converse, modelId=OPUS_41, messages=HI)[2] == EOL_MESSAGE


def test_without_a_pinned_day_the_emulator_follows_the_calendar(on_day: Any) -> None:
    client = client_for(on_day(None), "us-east-1")
    # Today is after 2026-09-10 whenever this suite runs.
    assert error_of(client.converse, modelId=HAIKU_3, messages=HI)[0] == "ResourceNotFoundException"
    assert client.converse(modelId=NOVA, messages=HI)["output"]


def test_a_model_declared_in_config_is_served_and_an_unknown_one_is_not(on_day: Any) -> None:
    declared = replace(get_model(NOVA), model_id="acme.brand-new-v1:0", name="Acme New")
    client = client_for(on_day(date(2026, 11, 30), declared=[declared]), "us-east-1")
    answer = client.converse(modelId="acme.brand-new-v1:0", messages=HI)
    assert answer["output"]["message"]["content"][0]["text"].startswith("[emulated Acme New]")
    assert error_of(client.converse, modelId="acme.unknown-v1:0", messages=HI) == (
        "ValidationException",
        400,
        "The provided model identifier is invalid.",
    )


def test_a_model_that_cannot_stream_refuses_converse_stream(on_day: Any) -> None:
    client = client_for(on_day(date(2026, 11, 30)), "us-east-1")
    llama4 = "us.meta.llama4-maverick-17b-instruct-v1:0"
    assert client.converse(modelId=llama4, messages=HI)["output"]
    code, status, message = error_of(client.converse_stream, modelId=llama4, messages=HI)
    assert (code, status) == ("ValidationException", 400)
    assert "streaming" in message


def test_a_model_without_sampling_parameters_refuses_them(on_day: Any) -> None:
    client = client_for(on_day(date(2026, 11, 30)), "us-east-1")
    opus = "us.anthropic.claude-opus-4-7"
    assert client.converse(modelId=opus, messages=HI)["output"]
    code, _, message = error_of(
        client.converse, modelId=opus, messages=HI, inferenceConfig={"temperature": 0.2}
    )
    assert code == "ValidationException" and "temperature" in message
