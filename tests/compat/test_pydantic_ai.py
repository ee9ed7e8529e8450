"""pydantic-ai's OpenAI models (Chat Completions and Responses) against the local gateway."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from tests.compat.conftest import API_KEY
from tests.e2e.conftest import LocalGateway

pydantic_ai = pytest.importorskip(
    "pydantic_ai", reason="pydantic-ai-slim[openai] is not installed (requirements-compat.txt)"
)
openai_models = pytest.importorskip("pydantic_ai.models.openai")
openai_provider = pytest.importorskip("pydantic_ai.providers.openai")

pytestmark = pytest.mark.e2e

SETTINGS = {"timeout": 30}


class City(BaseModel):
    name: str
    population: int


def provider(gateway: LocalGateway) -> object:
    return openai_provider.OpenAIProvider(base_url=gateway.base_url, api_key=API_KEY)


def chat_model(gateway: LocalGateway, name: str = "fast") -> object:
    return openai_models.OpenAIChatModel(name, provider=provider(gateway))


def test_chat_model_run_sync_returns_text(compat_gateway: LocalGateway) -> None:
    agent = pydantic_ai.Agent(chat_model(compat_gateway), model_settings=SETTINGS)
    result = agent.run_sync("Name a colour of the sky.")
    assert isinstance(result.output, str) and result.output.strip()
    assert result.usage.input_tokens > 0


def test_tool_output_default_returns_an_instance(compat_gateway: LocalGateway) -> None:
    agent = pydantic_ai.Agent(chat_model(compat_gateway), output_type=City, model_settings=SETTINGS)
    result = agent.run_sync("Give me a city and its population.")
    assert isinstance(result.output, City)
    assert result.output.name


def test_native_output_on_balanced_returns_an_instance(compat_gateway: LocalGateway) -> None:
    agent = pydantic_ai.Agent(
        chat_model(compat_gateway, "balanced"),
        output_type=pydantic_ai.NativeOutput(City),
        model_settings=SETTINGS,
    )
    result = agent.run_sync("Give me a city and its population.")
    assert isinstance(result.output, City)
    assert result.output.name


def test_responses_model_run_sync_returns_text(compat_gateway: LocalGateway) -> None:
    # What "openai:<model>" resolves to in pydantic-ai.
    model = openai_models.OpenAIResponsesModel("fast", provider=provider(compat_gateway))
    agent = pydantic_ai.Agent(model, model_settings=SETTINGS)
    result = agent.run_sync("Name a colour of the sky.")
    assert isinstance(result.output, str) and result.output.strip()


def test_openai_prefix_resolves_to_responses_and_runs(
    compat_gateway: LocalGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", compat_gateway.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    agent = pydantic_ai.Agent("openai:fast", model_settings=SETTINGS)
    assert isinstance(agent.model, openai_models.OpenAIResponsesModel)
    result = agent.run_sync("Name a colour of the sky.")
    assert isinstance(result.output, str) and result.output.strip()
