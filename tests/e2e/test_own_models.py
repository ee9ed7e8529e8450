"""An own model on a SageMaker endpoint through `make run`, called by its id with the OpenAI SDK."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI

from tests.e2e.conftest import API_KEY, LocalGateway, running_gateway

pytestmark = pytest.mark.e2e

OWN = "acme.support-llama-v1"
TUNED = "acme.tuned-nova-v1"
CONFIG = f"""
[deployment]
region = "us-west-2"

[models]
enabled = ["amazon.nova-micro-v1:0", "{OWN}", "{TUNED}"]

[models.aliases]
support = ["{OWN}", "amazon.nova-micro-v1:0"]

[models.declared."{OWN}"]
name = "Support Llama"
provider = "acme"
modality = "text"
capabilities = ["system_prompt", "streaming"]
context_window = 8192
max_output_tokens = 2048
sagemaker_endpoint = "support-llama"
pricing = {{ in_region = [1.0, 2.0] }}

[models.declared."{TUNED}"]
name = "Tuned Nova"
provider = "acme"
modality = "text"
capabilities = ["system_prompt", "streaming", "guardrails"]
context_window = 300000
max_output_tokens = 5000
invocation_arn = "arn:aws:bedrock:us-west-2:123456789012:provisioned-model/abcdefghij12"
pricing = {{ in_region = [0.0, 0.0] }}

[network]
availability_zones = ["us-west-2a", "us-west-2b"]
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalGateway]:
    path: Path = tmp_path_factory.mktemp("own") / "own.toml"
    path.write_text(CONFIG, encoding="utf-8")
    with running_gateway("--config", str(path), "--env", "own") as running:
        yield running


def test_openai_sdk_calls_an_own_sagemaker_model_by_its_id(gateway: LocalGateway) -> None:
    client = OpenAI(base_url=gateway.base_url, api_key=API_KEY)
    assert OWN in {model.id for model in client.models.list()}
    completion = client.chat.completions.create(
        model=OWN, messages=[{"role": "user", "content": "Where is my order?"}]
    )
    assert completion.model == OWN
    assert "SageMaker" in (completion.choices[0].message.content or "")
    assert completion.usage is not None and completion.usage.prompt_tokens > 0


def test_openai_sdk_streams_from_an_own_model_through_its_alias(gateway: LocalGateway) -> None:
    client = OpenAI(base_url=gateway.base_url, api_key=API_KEY)
    stream = client.chat.completions.create(
        model="support",
        messages=[{"role": "user", "content": "Where is my order?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "Where is my order?" in text
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_openai_sdk_calls_a_provisioned_model_by_its_declared_id(gateway: LocalGateway) -> None:
    client = OpenAI(base_url=gateway.base_url, api_key=API_KEY)
    completion = client.chat.completions.create(
        model=TUNED, messages=[{"role": "user", "content": "Hi"}]
    )
    assert completion.model == TUNED
    assert "Tuned Nova" in (completion.choices[0].message.content or "")
