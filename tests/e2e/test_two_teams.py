"""Two teams through `make run`'s gateway with the OpenAI SDK: their keys, models and budgets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from openai import OpenAI

from tests.e2e.conftest import LocalGateway, running_gateway

NOVA = "amazon.nova-micro-v1:0"
NOVA_LITE = "amazon.nova-lite-v1:0"
TITAN_EMBED = "amazon.titan-embed-text-v2:0"
# The first team gets the documented local key; every other team local-<team>-key.
SEARCH_KEY, CHATBOT_KEY = "local-dev-key", "local-chatbot-key"
CONFIG = f"""
[deployment]
region = "us-west-2"

[models]
enabled = ["{NOVA}", "{NOVA_LITE}", "{TITAN_EMBED}"]

[models.aliases]
fast = ["{NOVA}", "{NOVA_LITE}"]
embed = "{TITAN_EMBED}"

[network]
availability_zones = ["us-west-2a", "us-west-2b"]

[api]
throttle_rate_limit = 20
throttle_burst_limit = 40

[api.teams.search]
throttle_rate_limit = 10
throttle_burst_limit = 20
models = ["embed"]

[api.teams.chatbot]
throttle_rate_limit = 10
throttle_burst_limit = 20
models = ["fast"]
monthly_token_limit = 300
"""


@pytest.fixture(scope="module")
def two_teams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalGateway]:
    config = Path(tmp_path_factory.mktemp("teams")) / "teams.toml"
    config.write_text(CONFIG, encoding="utf-8")
    with running_gateway("--env", "teams", "--config", str(config)) as gateway:
        yield gateway


def test_each_team_sees_and_calls_only_its_models(two_teams: LocalGateway) -> None:
    search = OpenAI(base_url=two_teams.base_url, api_key=SEARCH_KEY, max_retries=0)
    chatbot = OpenAI(base_url=two_teams.base_url, api_key=CHATBOT_KEY, max_retries=0)
    assert {m.id for m in search.models.list()} == {TITAN_EMBED, "embed"}
    assert {m.id for m in chatbot.models.list()} == {NOVA, NOVA_LITE, "fast"}
    vectors = search.embeddings.create(model="embed", input=["a document"])
    assert len(vectors.data[0].embedding) > 0
    with pytest.raises(openai.PermissionDeniedError, match="may not use the model 'fast'"):
        search.chat.completions.create(model="fast", messages=[{"role": "user", "content": "Hi"}])
    with pytest.raises(openai.PermissionDeniedError) as refused:
        chatbot.embeddings.create(model=TITAN_EMBED, input=["x"])
    assert refused.value.code == "model_not_allowed"


def test_a_team_over_its_monthly_budget_is_stopped_and_the_other_is_not(
    two_teams: LocalGateway,
) -> None:
    # The SDK's default retries: the budget's 429 says not to retry, so this returns at once.
    chatbot = OpenAI(base_url=two_teams.base_url, api_key=CHATBOT_KEY)
    with pytest.raises(openai.RateLimitError) as stopped:
        for _ in range(40):
            chatbot.chat.completions.create(
                model="fast", messages=[{"role": "user", "content": "Tell me a story"}]
            )
    assert stopped.value.code == "budget_exceeded"
    assert "Team 'chatbot' has used its monthly budget" in stopped.value.message
    usage = chatbot.get("/usage", cast_to=object)
    assert isinstance(usage, dict)
    assert usage["team"] == "chatbot" and usage["exhausted"] is True
    assert usage["total_tokens"] >= 300
    search = OpenAI(base_url=two_teams.base_url, api_key=SEARCH_KEY, max_retries=0)
    assert search.embeddings.create(model="embed", input=["still served"]).usage.total_tokens > 0
    assert search.get("/usage", cast_to=object)["team"] == "search"  # type: ignore[index]


def test_a_key_of_no_team_is_refused(two_teams: LocalGateway) -> None:
    stranger = OpenAI(base_url=two_teams.base_url, api_key="local-stranger-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        stranger.models.list()
