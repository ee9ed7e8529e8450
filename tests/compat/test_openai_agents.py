"""The OpenAI Agents SDK (openai-agents: the Responses API by default) against the local gateway."""

from __future__ import annotations

import pytest
from openai import AsyncOpenAI
from pydantic import BaseModel

from tests.compat.conftest import API_KEY
from tests.e2e.conftest import LocalGateway

agents = pytest.importorskip(
    "agents", reason="openai-agents is not installed (requirements-compat.txt)"
)

pytestmark = pytest.mark.e2e


class City(BaseModel):
    name: str
    population: int


@pytest.fixture(autouse=True)
def _no_tracing_upload() -> None:
    # The SDK uploads traces to OpenAI by default: nothing may leave the loopback.
    agents.set_tracing_disabled(True)


def model(gateway: LocalGateway, name: str = "fast") -> object:
    client = AsyncOpenAI(base_url=gateway.base_url, api_key=API_KEY, max_retries=0)
    return agents.OpenAIResponsesModel(model=name, openai_client=client)


def test_an_agent_answers_through_the_responses_api(compat_gateway: LocalGateway) -> None:
    agent = agents.Agent(name="helper", instructions="Be brief.", model=model(compat_gateway))
    result = agents.Runner.run_sync(agent, "Name a colour of the sky.")
    assert isinstance(result.final_output, str) and result.final_output.strip()


def test_an_agent_calls_its_tool_and_answers_with_the_result(
    compat_gateway: LocalGateway,
) -> None:
    calls: list[str] = []

    @agents.function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        calls.append(city)
        return "sunny, 21 C"

    agent = agents.Agent(
        name="forecaster",
        instructions="Use the tool for weather questions.",
        model=model(compat_gateway),
        tools=[get_weather],
    )
    result = agents.Runner.run_sync(agent, "What is the weather in Paris?")
    assert calls, "the emulated model calls the tool for a weather question"
    assert "sunny" in str(result.final_output)


def test_an_agent_with_an_output_type_returns_an_instance(compat_gateway: LocalGateway) -> None:
    agent = agents.Agent(
        name="geographer", model=model(compat_gateway, "balanced"), output_type=City
    )
    result = agents.Runner.run_sync(agent, "The largest city in France?")
    assert isinstance(result.final_output, City)
